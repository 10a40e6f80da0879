// The in-memory form of a queued message and its conversion to and from the store's rows.
// Properties go to disk msgpack-encoded: the bytes they were published as when the session kept
// them, else encoded here minus `persistent` (every stored message is persistent).
import { decode, Encoder } from '@msgpack/msgpack';
import type { MessageProperties } from '../../shared/frames.js';
import { propsBytes } from '../../shared/props-bytes.js';
import type { StoredMessage } from '../store/store.js';

/** One message in one queue (a fanout to three queues makes three, sharing the body bytes). */
export interface QueuedMessage {
  id: number;
  exchange: string;
  routingKey: string;
  body: Uint8Array;
  props: MessageProperties | undefined;
  priority: number;
  /** Epoch ms when the message dies (TTL); 0 = never. */
  expiresAt: number;
  /** Epoch ms before which the message is held (delayed delivery); 0 = ready. */
  readyAt: number;
  /** Times handed to a consumer so far. */
  deliveryCount: number;
  /** May have been delivered before (requeued, or recovered after a restart). */
  redelivered: boolean;
  /** Written to the store: persistent message in a durable queue. */
  persisted: boolean;
}

const PERSISTENT_ONLY: MessageProperties = Object.freeze({ persistent: true });

// One encoder for the properties built in memory (AMQP publishes, dead-lettered copies).
const encoder = new Encoder();

/**
 * Encodes properties for the store: their publisher's bytes when kept (written as they are: the
 * store holds the bytes, nobody changes them), else null when nothing but `persistent` would be
 * written, else the rest encoded.
 */
export function propsToBlob(props: MessageProperties | undefined): Uint8Array | null {
  if (props === undefined) return null;
  const bytes = propsBytes(props);
  if (bytes !== undefined) return bytes;
  let rest: Record<string, unknown> | undefined;
  for (const key in props) {
    if (key === 'persistent') continue;
    const v = (props as Record<string, unknown>)[key];
    if (v === undefined) continue;
    (rest ??= {})[key] = v;
  }
  return rest === undefined ? null : encoder.encode(rest);
}

export function propsFromBlob(blob: Uint8Array | null): MessageProperties {
  if (blob === null) return PERSISTENT_ONLY;
  return { ...(decode(blob) as MessageProperties), persistent: true };
}

/** The row of a message in queue `queueId`, filed under `lane` (see StoredMessage.lane). */
export function toStoredRow(msg: QueuedMessage, queueId: number, lane: number): StoredMessage {
  return {
    id: msg.id,
    queueId,
    exchange: msg.exchange,
    routingKey: msg.routingKey,
    body: msg.body,
    props: propsToBlob(msg.props),
    priority: msg.priority,
    readyAt: msg.readyAt,
    expiresAt: msg.expiresAt,
    deliveryCount: msg.deliveryCount,
    lane,
  };
}

/**
 * A row read back at start-up or paged in. `redelivered` is what the caller knows: after a crash
 * the broker cannot tell which messages reached a consumer, so recovered ones are flagged.
 */
export function fromStoredRow(row: StoredMessage, redelivered: boolean): QueuedMessage {
  return {
    id: row.id,
    exchange: row.exchange,
    routingKey: row.routingKey,
    body: row.body,
    props: propsFromBlob(row.props),
    priority: row.priority,
    expiresAt: row.expiresAt,
    readyAt: row.readyAt,
    deliveryCount: row.deliveryCount,
    redelivered: redelivered || row.deliveryCount > 0,
    persisted: true,
  };
}
