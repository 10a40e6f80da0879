// Whether a redeclare agrees with the queue or exchange that exists, checked in RabbitMQ's order and
// refused in its words (rabbit_amqqueue:assert_equivalence, rabbit_exchange:assert_equivalence), so a
// client that reads the reply text sees what it would see from RabbitMQ.
import { fail } from '../../shared/errors.js';
import type { ExchangeOptions, ExchangeType, QueueOptions } from '../../shared/frames.js';
import { QUEUE_X_ARGUMENTS } from '../../shared/queue-arguments.js';

/**
 * The named queue options that are x-arguments, in the order RabbitMQ compares them (its
 * declare_args: x-expires, x-message-ttl, x-dead-letter-exchange, x-dead-letter-routing-key,
 * x-max-length, x-max-priority, x-overflow), then the two RabbitMQ's classic queues do not compare.
 */
const ARGUMENT_ORDER = ['expires', 'messageTtl', 'deadLetterExchange', 'deadLetterRoutingKey', 'maxLength', 'maxPriority', 'overflow', 'deliveryLimit', 'consumerTimeout'] as const satisfies readonly (keyof typeof QUEUE_X_ARGUMENTS)[];

/** RabbitMQ's name of a resource in messages (rabbit_misc:rs): `queue 'q' in vhost '/'`. */
export function resourceName(kind: 'queue' | 'exchange', name: string, vhost: string): string {
  return `${kind} '${name}' in vhost '${vhost}'`;
}

/** RabbitMQ's refusal of an exclusive queue to a connection that does not own it (405). */
export function lockedQueue(name: string, vhost: string): Error {
  return fail('ERR_RESOURCE_LOCKED', `cannot obtain exclusive access to locked ${resourceName('queue', name, vhost)}. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`, { queue: name });
}

/**
 * A value as RabbitMQ's inequivalent-arg text shows it (rabbit_misc:val): `none` when absent,
 * `'v'` when both sides have one, `the value 'v'` when only this side has. RabbitMQ adds the
 * wire type (`of type 'short'`) in the last case; the engine does not keep the type a value was
 * declared with, so that part is left out (docs/amqp.md).
 */
function shown(v: unknown, otherPresent: boolean): string {
  if (v === undefined) return 'none';
  return otherPresent ? `'${String(v)}'` : `the value '${String(v)}'`;
}

function inequivalent(kind: 'queue' | 'exchange', name: string, vhost: string, key: string, received: unknown, current: unknown): Error {
  const details = kind === 'queue' ? { queue: name, argument: key } : { exchange: name, argument: key };
  return fail('ERR_PRECONDITION_FAILED', `inequivalent arg '${key}' for ${resourceName(kind, name, vhost)}: received ${shown(received, current !== undefined)} but current is ${shown(current, received !== undefined)}`, details);
}

/** What a queue that exists was declared with, as the engine holds it. */
export interface ExistingQueue {
  readonly options: QueueOptions;
  /** Whether it is exclusive to a connection (any connection). */
  readonly exclusive: boolean;
  /** Whether it is exclusive to the connection now declaring it. */
  readonly ownedByCaller: boolean;
}

/**
 * Throws unless a declare with `declared` agrees with the queue that exists, in RabbitMQ's order:
 * exclusive ownership (405 when the flag differs or another connection owns it; a passive declare
 * only needs access), then durable, auto_delete and the x-arguments (406). [AMQP 0-9-1 §1.7.2.1]
 */
export function assertQueueEquivalent(existing: ExistingQueue, declared: QueueOptions, passive: boolean, name: string, vhost: string): void {
  if (existing.exclusive && !existing.ownedByCaller) throw lockedQueue(name, vhost);
  if (passive) return;
  if (existing.exclusive !== (declared.exclusive === true)) throw lockedQueue(name, vhost);
  const have = existing.options as Record<string, unknown>;
  const want = declared as Record<string, unknown>;
  for (const [key, option] of [['durable', 'durable'], ['auto_delete', 'autoDelete']] as const) {
    const a = have[option] === true;
    const b = want[option] === true;
    if (a !== b) throw inequivalent('queue', name, vhost, key, b, a);
  }
  for (const option of ARGUMENT_ORDER) {
    const a = have[option] ?? undefined;
    const b = want[option] ?? undefined;
    if (a !== b) throw inequivalent('queue', name, vhost, QUEUE_X_ARGUMENTS[option], b, a);
  }
}

/** What an exchange that exists was declared with. */
export interface ExistingExchange {
  readonly type: ExchangeType;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly args: Readonly<Record<string, unknown>>;
}

/**
 * Throws unless a declare agrees with the exchange that exists, in RabbitMQ's order: type,
 * durable, auto_delete, internal, then the one argument RabbitMQ compares, alternate-exchange (406).
 */
export function assertExchangeEquivalent(existing: ExistingExchange, type: ExchangeType, declared: ExchangeOptions, name: string, vhost: string): void {
  const fields: [string, unknown, unknown][] = [
    ['type', existing.type, type],
    ['durable', existing.durable, declared.durable === true],
    ['auto_delete', existing.autoDelete, declared.autoDelete === true],
    ['internal', existing.internal, declared.internal === true],
    ['alternate-exchange', existing.args['alternate-exchange'] ?? undefined, declared.arguments?.['alternate-exchange'] ?? undefined],
  ];
  for (const [key, current, received] of fields) {
    if (current !== received) throw inequivalent('exchange', name, vhost, key, received, current);
  }
}
