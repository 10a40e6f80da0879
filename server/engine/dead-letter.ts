// What a dead-lettered message carries: RabbitMQ's x-death history and x-first-death-* headers,
// so a user can see why (rejected, expired, maxlen, delivery-limit), from where, and how often.
import type { MessageProperties } from '../../shared/frames.js';
import type { QueuedMessage } from './message.js';

/** Why a message left its queue for the dead-letter exchange. */
export type DeadLetterReason = 'rejected' | 'expired' | 'maxlen' | 'delivery-limit';

interface DeathEntry {
  queue: string;
  reason: DeadLetterReason;
  count: number;
  exchange: string;
  'routing-keys': string[];
  /** Seconds since the epoch, as RabbitMQ's AMQP timestamp. */
  time: number;
  'original-expiration'?: number;
}

/**
 * The properties of the dead-lettered copy: x-death gains (or bumps) the entry for this queue and
 * reason, newest first; the per-message expiration is removed so the copy does not die again at
 * once (RabbitMQ keeps it as original-expiration).
 */
export function deadLetterProps(msg: QueuedMessage, queue: string, reason: DeadLetterReason, now: number): MessageProperties {
  const props: MessageProperties = { ...msg.props };
  const headers: Record<string, unknown> = { ...(props.headers ?? {}) };
  const previous = Array.isArray(headers['x-death']) ? (headers['x-death'] as DeathEntry[]) : [];
  const deaths = previous.map((d) => ({ ...d }));
  const i = deaths.findIndex((d) => d.queue === queue && d.reason === reason);
  let entry: DeathEntry;
  if (i >= 0) {
    entry = { ...deaths[i]!, count: deaths[i]!.count + 1, time: Math.floor(now / 1000) };
    deaths.splice(i, 1);
  } else {
    entry = { queue, reason, count: 1, exchange: msg.exchange, 'routing-keys': [msg.routingKey], time: Math.floor(now / 1000) };
    if (props.expiration !== undefined) entry['original-expiration'] = props.expiration;
  }
  deaths.unshift(entry);
  headers['x-death'] = deaths;
  if (headers['x-first-death-reason'] === undefined) {
    headers['x-first-death-reason'] = reason;
    headers['x-first-death-queue'] = queue;
    headers['x-first-death-exchange'] = msg.exchange;
  }
  headers['x-last-death-reason'] = reason;
  headers['x-last-death-queue'] = queue;
  props.headers = headers;
  delete props.expiration;
  delete props.delay;
  return props;
}
