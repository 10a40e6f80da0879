// The typed subscription to events (Celery's EventReceiver): an exclusive, auto-delete queue bound
// to the events exchange, whose messages are parsed and handed to the handler of their type.
import { randomUUID } from 'node:crypto';
import { fail } from '../../shared/errors.js';
import type { Connection } from '../connection.js';
import type { Message } from '../message.js';
import { declareEvents } from './publisher.js';
import { EVENTS_EXCHANGE, EVENT_TYPES, type AnyEvent, type EventHandlers, type EventType } from './types.js';

/** Options of `app.events.subscribe()`. */
export interface SubscribeOptions {
  /** Topic pattern of routing keys to receive ('task.#', 'worker.heartbeat', ...); default '#' (all). */
  pattern?: string;
  /** Events left unread this long are dropped, ms (Celery's event_queue_ttl: 5 s); 0 = kept. */
  messageTtl?: number;
  /** Called when a handler throws or an event cannot be read (default: a process warning). */
  onError?: (err: unknown) => void;
}

/** A live subscription. */
export interface EventSubscription {
  /** The queue the events arrive on. */
  readonly queue: string;
  /** Stops receiving and deletes the queue. Idempotent. */
  close(): Promise<void>;
}

const KNOWN: ReadonlySet<string> = new Set(EVENT_TYPES);
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Subscribes `handlers` to the events on `conn`; resolves once the queue is bound and consumed. */
export async function subscribeEvents(conn: Connection, handlers: EventHandlers, options: SubscribeOptions = {}): Promise<EventSubscription> {
  if (!isRecord(handlers)) throw fail('ERR_INVALID_ARGUMENT', 'subscribe(handlers): handlers must be an object of functions by event type');
  for (const [key, h] of Object.entries(handlers)) {
    if (key !== '*' && !KNOWN.has(key)) throw fail('ERR_INVALID_ARGUMENT', `subscribe: no event type '${key}' (known: ${EVENT_TYPES.join(', ')}, *)`);
    if (h !== undefined && typeof h !== 'function') throw fail('ERR_INVALID_ARGUMENT', `subscribe: the handler of '${key}' must be a function`);
  }
  const ttl = options.messageTtl ?? 5_000;
  const onError = options.onError ?? ((err: unknown) => process.emitWarning(`event handler failed: ${String(err)}`, { code: 'CELERIAC_EVENTS' }));
  await declareEvents(conn);
  const queue = `${EVENTS_EXCHANGE}.receiver.${randomUUID()}`;
  await conn.assertQueue(queue, { exclusive: true, autoDelete: true, ...(ttl > 0 ? { messageTtl: ttl } : {}) });
  await conn.bindQueue(queue, EVENTS_EXCHANGE, options.pattern ?? '#');
  const { consumerTag } = await conn.consume(queue, (msg) => dispatch(handlers, msg, onError), { noAck: true });
  let closing: Promise<void> | undefined;
  return {
    queue,
    close() {
      closing ??= (async () => {
        await conn.cancel(consumerTag).catch(() => undefined);
        await conn.deleteQueue(queue).catch(() => undefined);
      })();
      return closing;
    },
  };
}

function dispatch(handlers: EventHandlers, msg: Message, onError: (err: unknown) => void): void {
  let event: unknown;
  try {
    event = JSON.parse(Buffer.from(msg.body.buffer, msg.body.byteOffset, msg.body.byteLength).toString('utf8'));
  } catch (err) {
    onError(fail('ERR_INVALID_ARGUMENT', `an event on ${msg.fields.routingKey} is not JSON: ${String(err)}`));
    return;
  }
  if (!isRecord(event) || typeof event.type !== 'string' || !KNOWN.has(event.type)) return; // not ours to read
  const e = event as unknown as AnyEvent;
  const specific = handlers[e.type as EventType] as ((ev: AnyEvent) => void) | undefined;
  for (const h of [specific, handlers['*']]) {
    if (h === undefined) continue;
    try {
      h(e);
    } catch (err) {
      onError(err);
    }
  }
}
