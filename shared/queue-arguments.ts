// The queue options that are RabbitMQ x-arguments, and the x-argument each one is: the one table
// the AMQP transport (named → x-), broker-server and the settings (x- → named) read.
import type { QueueOptions } from './frames.js';

/** Named queue options and RabbitMQ's x-argument for each (amqplib's mapping, lib/api_args.js). Durations in ms on both sides. */
export const QUEUE_X_ARGUMENTS = {
  messageTtl: 'x-message-ttl',
  expires: 'x-expires',
  maxLength: 'x-max-length',
  overflow: 'x-overflow',
  deadLetterExchange: 'x-dead-letter-exchange',
  deadLetterRoutingKey: 'x-dead-letter-routing-key',
  maxPriority: 'x-max-priority',
  deliveryLimit: 'x-delivery-limit',
  consumerTimeout: 'x-consumer-timeout',
} as const satisfies Partial<Record<keyof QueueOptions, `x-${string}`>>;

/** A queue option that is an x-argument under another name. */
export type NamedQueueArgument = keyof typeof QUEUE_X_ARGUMENTS;

const BY_X_NAME: ReadonlyMap<string, NamedQueueArgument> = new Map(
  (Object.entries(QUEUE_X_ARGUMENTS) as Array<[NamedQueueArgument, string]>).map(([named, x]) => [x, named]),
);

/** The named option x-argument `x` is (`'x-message-ttl'` → `'messageTtl'`), or undefined for one without a name. */
export function namedQueueArgument(x: string): NamedQueueArgument | undefined {
  return BY_X_NAME.get(x);
}
