// Delayed delivery held by RabbitMQ, not by any client: per-message TTL on delay-level queues that
// dead-letter, when a message's TTL runs out, to a headers exchange routing it back to its target.
//
// A message of delay d is published, with its own routing key and `expiration` d, to the fanout
// exchange `celeriac.delay.<level>` (the level whose bound is the smallest >= d), which feeds the
// queue of the same name (a fanout keeps the routing key, which dead-lettering then reuses). RabbitMQ expires messages only at a queue's head, so one
// waits at most until the messages ahead of it (same level: TTL <= the bound) expire: it is never
// early and at most (bound - d) late, under 9.1% of d (levels grow by 2^(1/8)) or 100 ms at level 0.
// Dead-lettered, it goes to `celeriac.delay.route` (headers) with its routing key; that exchange is
// bound to the target exchange (exchange-to-exchange) on the header naming it, so the target routes
// it as if it were published there now. The default exchange cannot be bound: for it, the target
// queue itself is bound on the headers naming '' and the queue.
import type { QueueOptions } from '../../../shared/frames.js';

/** The exchange the delay queues dead-letter to. */
export const DELAY_ROUTE_EXCHANGE = 'celeriac.delay.route';
/** Header naming the target exchange of a delayed message (stays on the delivered message). */
export const DELAY_EXCHANGE_HEADER = 'x-celeriac-delay-exchange';
/** Header naming the target queue of a delayed message sent to the default exchange. */
export const DELAY_QUEUE_HEADER = 'x-celeriac-delay-queue';

/** Bound of level 0, ms. */
const BASE_MS = 100;
/** Levels per doubling of the bound: each level's bound is 2^(1/8) (~1.09) times the one before. */
const STEPS_PER_DOUBLING = 8;

/** The level for a delay of `ms` (> 0): the first whose bound is >= ms. */
export function delayLevel(ms: number): number {
  if (ms <= BASE_MS) return 0;
  let level = Math.max(0, Math.floor(STEPS_PER_DOUBLING * Math.log2(ms / BASE_MS)) - 1);
  while (levelBound(level) < ms) level++;
  return level;
}

/** The largest delay (ms) level `level` holds. */
export function levelBound(level: number): number {
  return Math.ceil(BASE_MS * 2 ** (level / STEPS_PER_DOUBLING));
}

/** Name of the fanout exchange and of the queue of `level`. */
export function delayQueueName(level: number): string {
  return `celeriac.delay.${level}`;
}

/** How a delay-level queue is declared: durable, classic (quorum queues of RabbitMQ 3.x ignore per-message TTL), dead-lettering to the route exchange. */
export function delayQueueOptions(): QueueOptions {
  return { durable: true, deadLetterExchange: DELAY_ROUTE_EXCHANGE, arguments: { 'x-queue-type': 'classic' } };
}

/** The binding (on the route exchange) that brings delayed messages back to `exchange` / `routingKey`. */
export function delayRouteArgs(exchange: string, routingKey: string): Record<string, unknown> {
  return exchange === ''
    ? { 'x-match': 'all', [DELAY_EXCHANGE_HEADER]: '', [DELAY_QUEUE_HEADER]: routingKey }
    : { 'x-match': 'all', [DELAY_EXCHANGE_HEADER]: exchange };
}

/** The headers a delayed message carries so the route exchange finds its target. */
export function delayHeaders(exchange: string, routingKey: string): Record<string, string> {
  return exchange === '' ? { [DELAY_EXCHANGE_HEADER]: '', [DELAY_QUEUE_HEADER]: routingKey } : { [DELAY_EXCHANGE_HEADER]: exchange };
}
