// What a dead-lettered message carries: RabbitMQ's x-death history and x-first-death-* headers (as
// RabbitMQ 3.10 writes them; the x-last-death-* of 3.13 are not added),
// so a user can see why (rejected, expired, maxlen, delivery-limit), from where, and how often;
// and the cycle rule that history feeds, so an automatic dead-letter loop ends.
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
  /** The message's own expiration (ms) as RabbitMQ keeps it: the property's text. */
  'original-expiration'?: string;
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
    if (props.expiration !== undefined) entry['original-expiration'] = String(props.expiration);
  }
  deaths.unshift(entry);
  headers['x-death'] = deaths;
  if (headers['x-first-death-reason'] === undefined) {
    headers['x-first-death-exchange'] = msg.exchange;
    headers['x-first-death-queue'] = queue;
    headers['x-first-death-reason'] = reason;
  }
  props.headers = headers;
  delete props.expiration;
  delete props.delay;
  return props;
}

/**
 * Whether a dead-lettered copy bound for `target` would go round an automatic cycle, and so is
 * dropped. RabbitMQ's rule [rabbitmq.com/docs/dlx, "Dead-letter cycle"]: a copy that reaches a
 * queue it already died in is dropped unless a client rejected it somewhere in between. `deaths`
 * is the copy's x-death as deadLetterProps left it: newest change first, this death at its head.
 * A rejection now never cycles (the client keeps the loop going on purpose); entries a client
 * forged (not a {queue, reason} table) make the history not wholly automatic, as in RabbitMQ.
 */
export function isDeadLetterCycle(deaths: unknown, target: string, reason: DeadLetterReason): boolean {
  if (reason === 'rejected' || !Array.isArray(deaths)) return false;
  for (const d of deaths as unknown[]) {
    if (d === null || typeof d !== 'object') return false;
    const { queue, reason: r } = d as { queue?: unknown; reason?: unknown };
    if (typeof queue !== 'string' || typeof r !== 'string' || r === 'rejected') return false;
    if (queue === target) return true;
  }
  return false;
}
