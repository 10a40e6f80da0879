// Handing a delivery back to the broker until a time: a copy of the message, delayed by the
// broker, published with the ack of the delivery in one finish. How a worker waits for a far
// rate-limit slot or for a task's eta without holding the delivery (or the task) in memory.
import type { FinishPublish } from '../../shared/frames.js';
import { PRIOR_DELIVERIES_HEADER } from '../../shared/messages/task-message.js';
import type { TaskLink } from '../result-backend/result-backend.js';
import type { Delivery } from '../transport/transport.js';

/** A number header of a delivered task message, or undefined. */
export function numberHeader(msg: Delivery, name: string): number | undefined {
  const v = msg.properties.headers?.[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Deliveries the earlier copies of this message had (a copy handed back is a new broker message). */
export function priorDeliveries(msg: Delivery): number {
  const n = numberHeader(msg, PRIOR_DELIVERIES_HEADER);
  return n !== undefined && n > 0 ? Math.floor(n) : 0;
}

/**
 * The message again, straight to `queue` (the default exchange: a binding would fan it out anew),
 * held by the broker until `at` (epoch ms), with `headers` added and the deliveries so far (the
 * delivery limit counts them). Its own `expiration` is left out: it was a time to live in the queue
 * it has left, and a broker's delayed delivery cannot carry one (the AMQP transport refuses both).
 */
export function delayedCopy(msg: Delivery, queue: string, at: number, headers: Readonly<Record<string, unknown>> = {}): FinishPublish {
  const { delay: _delay, expiration: _expiration, ...props } = msg.properties;
  const all = { ...props.headers, ...headers, [PRIOR_DELIVERIES_HEADER]: priorDeliveries(msg) + msg.fields.deliveryCount - 1 };
  return { exchange: '', routingKey: queue, body: msg.body, props: { ...props, headers: all, delay: Math.max(0, Math.ceil(at - Date.now())) } };
}

/**
 * Hands `msg` back to the broker until `at`: its delayed copy and its ack in one finish, so the
 * task is neither lost nor doubled. Resolves false when nothing was sent because the delivery
 * already died with its socket (the broker requeued it); rejects when the finish failed.
 */
export function handBack(link: TaskLink, msg: Delivery, queue: string, at: number, headers: Readonly<Record<string, unknown>> = {}): Promise<boolean> {
  return link.finish({ ack: msg, publishes: [delayedCopy(msg, queue, at, headers)], ackRequired: true });
}
