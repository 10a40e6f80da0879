// Validation of what clients ask for: queue options, exchange types, consume options.
// Everything here throws ERR_INVALID_ARGUMENT naming the option, before any state changes.
import { fail } from '../../shared/errors.js';
import { EXCHANGE_TYPES, type ConsumeOptions, type ExchangeType, type QueueOptions } from '../../shared/frames.js';
import { namedQueueArgument, QUEUE_X_ARGUMENTS } from '../../shared/queue-arguments.js';

/** RabbitMQ's default consumer_timeout: 30 minutes. */
export const DEFAULT_CONSUMER_TIMEOUT = 30 * 60 * 1000;
/** Highest priority a queue may declare (RabbitMQ allows 255; 10 is recommended). */
export const MAX_PRIORITY = 255;

const QUEUE_KEYS = new Set(['durable', 'exclusive', 'autoDelete', 'messageTtl', 'expires', 'maxLength', 'overflow', 'deadLetterExchange', 'deadLetterRoutingKey', 'maxPriority', 'deliveryLimit', 'consumerTimeout', 'passive']);

function bool(opts: Record<string, unknown>, key: string): void {
  const v = opts[key];
  if (v !== undefined && v !== null && typeof v !== 'boolean') throw fail('ERR_INVALID_ARGUMENT', `queue option '${key}' must be a boolean`, { option: key });
}

function count(opts: Record<string, unknown>, key: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  const v = opts[key];
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw fail('ERR_INVALID_ARGUMENT', `queue option '${key}' must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`, { option: key });
  }
}

function str(opts: Record<string, unknown>, key: string): void {
  const v = opts[key];
  if (v !== undefined && v !== null && typeof v !== 'string') throw fail('ERR_INVALID_ARGUMENT', `queue option '${key}' must be a string`, { option: key });
}

/**
 * RabbitMQ's x-arguments (`arguments`) as the named options they are. broker-server has no other
 * kind of queue: an x-argument without a named option here (x-queue-type, x-single-active-consumer,
 * ...) is refused rather than dropped, so a queue never silently lacks what its declare asked for.
 */
function withNamedArguments(raw: Record<string, unknown>): Record<string, unknown> {
  const args = raw['arguments'];
  const rest = { ...raw };
  delete rest['arguments'];
  if (args === undefined || args === null) return rest;
  if (typeof args !== 'object' || Array.isArray(args)) throw fail('ERR_INVALID_ARGUMENT', "queue option 'arguments' must be a map of x-arguments", { option: 'arguments' });
  for (const [key, value] of Object.entries(args as Record<string, unknown>)) {
    const named = namedQueueArgument(key);
    if (named === undefined) {
      throw fail('ERR_INVALID_ARGUMENT', `queue argument '${key}' is not supported by broker-server, which takes ${Object.values(QUEUE_X_ARGUMENTS).join(', ')}; RabbitMQ's other arguments (x-queue-type, ...) need an amqp:// broker`, { option: 'arguments', argument: key });
    }
    const given = rest[named];
    if (given !== undefined && given !== null && given !== value) {
      throw fail('ERR_INVALID_ARGUMENT', `queue argument '${key}' (${JSON.stringify(value)}) disagrees with option '${named}' (${JSON.stringify(given)})`, { option: named, argument: key });
    }
    rest[named] = value;
  }
  return rest;
}

/** Checks queue options and returns them without null/undefined entries, without `passive`, and with `arguments` as named options. */
export function validateQueueOptions(given: Record<string, unknown>): QueueOptions {
  const raw = withNamedArguments(given);
  for (const key of Object.keys(raw)) {
    if (!QUEUE_KEYS.has(key)) throw fail('ERR_INVALID_ARGUMENT', `unknown queue option '${key}'`, { option: key });
  }
  ['durable', 'exclusive', 'autoDelete', 'passive'].forEach((k) => bool(raw, k));
  count(raw, 'messageTtl', 0);
  count(raw, 'expires', 1);
  count(raw, 'maxLength', 0);
  count(raw, 'maxPriority', 1, MAX_PRIORITY);
  count(raw, 'deliveryLimit', 0);
  count(raw, 'consumerTimeout', 1);
  str(raw, 'deadLetterExchange');
  str(raw, 'deadLetterRoutingKey');
  const overflow = raw['overflow'];
  if (overflow !== undefined && overflow !== null && overflow !== 'drop-head' && overflow !== 'reject-publish') {
    throw fail('ERR_INVALID_ARGUMENT', `queue option 'overflow' must be 'drop-head' or 'reject-publish', got ${JSON.stringify(overflow)}`, { option: 'overflow' });
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined && v !== null && k !== 'passive') out[k] = v;
  return out as QueueOptions;
}

export function validateExchangeType(type: string): ExchangeType {
  if (!(EXCHANGE_TYPES as readonly string[]).includes(type)) {
    throw fail('ERR_INVALID_ARGUMENT', `exchange type must be one of ${EXCHANGE_TYPES.join(', ')}, got '${type}'`, { option: 'type' });
  }
  return type as ExchangeType;
}

export function validateConsumeOptions(raw: Record<string, unknown>): ConsumeOptions {
  const prefetch = raw['prefetch'];
  if (prefetch !== undefined && prefetch !== null && (typeof prefetch !== 'number' || !Number.isInteger(prefetch) || prefetch < 0 || prefetch > 65535)) {
    throw fail('ERR_INVALID_ARGUMENT', 'consume option \'prefetch\' must be an integer from 0 to 65535', { option: 'prefetch' });
  }
  for (const key of ['noAck', 'exclusive']) {
    const v = raw[key];
    if (v !== undefined && v !== null && typeof v !== 'boolean') throw fail('ERR_INVALID_ARGUMENT', `consume option '${key}' must be a boolean`, { option: key });
  }
  const tag = raw['consumerTag'];
  if (tag !== undefined && tag !== null && typeof tag !== 'string') throw fail('ERR_INVALID_ARGUMENT', 'consume option \'consumerTag\' must be a string', { option: 'consumerTag' });
  return raw as ConsumeOptions;
}

/** Names, routing keys and binding patterns: at most 255 bytes, like AMQP short strings. */
export function validateName(kind: 'queue' | 'exchange' | 'routing key' | 'binding pattern', name: string): void {
  if (name.length > 255 && Buffer.byteLength(name) > 255) throw fail('ERR_INVALID_ARGUMENT', `${kind} longer than 255 bytes`, { option: kind });
}
