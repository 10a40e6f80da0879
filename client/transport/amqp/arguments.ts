// The contract's option shapes in amqplib's terms: queue declarations (with RabbitMQ's x-arguments,
// as kombu sends them) and message properties.
import type { Options } from 'amqplib';
import { fail } from '../../../shared/errors.js';
import type { MessageProperties, QueueOptions } from '../../../shared/frames.js';
import { QUEUE_X_ARGUMENTS, type NamedQueueArgument } from '../../../shared/queue-arguments.js';

/**
 * amqplib's assertQueue options for `options`: `arguments` passed through as given (kombu's
 * `queue_arguments`: `x-queue-type`, `x-single-active-consumer`, ...) with the named options added as
 * the x-arguments they are. A named option and its x-argument both given must agree
 * (ERR_INVALID_ARGUMENT): RabbitMQ would get one of them and the caller could not tell which.
 */
export function queueArguments(options: QueueOptions): Options.AssertQueue {
  const args: Record<string, unknown> = { ...options.arguments };
  for (const [named, x] of Object.entries(QUEUE_X_ARGUMENTS) as Array<[NamedQueueArgument, string]>) {
    const value = options[named];
    if (value === undefined) continue;
    if (args[x] !== undefined && args[x] !== value) {
      throw fail('ERR_INVALID_ARGUMENT', `queue argument '${x}' (${JSON.stringify(args[x])}) disagrees with option '${named}' (${JSON.stringify(value)})`, { option: named, argument: x });
    }
    args[x] = value;
  }
  return {
    durable: options.durable ?? true,
    exclusive: options.exclusive ?? false,
    autoDelete: options.autoDelete ?? false,
    arguments: args,
  };
}

/** amqplib's publish options for the contract's message properties (`delay` is handled before). */
export function publishProperties(props: MessageProperties, mandatory: boolean): Options.Publish {
  const out: Options.Publish = { mandatory };
  if (props.contentType !== undefined) out.contentType = props.contentType;
  if (props.contentEncoding !== undefined) out.contentEncoding = props.contentEncoding;
  if (props.headers !== undefined) out.headers = { ...props.headers };
  out.persistent = props.persistent ?? true;
  if (props.priority !== undefined) {
    if (!Number.isInteger(props.priority) || props.priority < 0 || props.priority > 255) {
      throw fail('ERR_INVALID_ARGUMENT', `priority must be an integer 0-255, not ${String(props.priority)}`);
    }
    out.priority = props.priority;
  }
  if (props.correlationId !== undefined) out.correlationId = props.correlationId;
  if (props.replyTo !== undefined) out.replyTo = props.replyTo;
  if (props.expiration !== undefined) out.expiration = String(Math.max(0, Math.round(props.expiration)));
  if (props.messageId !== undefined) out.messageId = props.messageId;
  // AMQP timestamps are seconds; the contract's are epoch ms.
  if (props.timestamp !== undefined) out.timestamp = Math.floor(props.timestamp / 1000);
  if (props.type !== undefined) out.type = props.type;
  if (props.appId !== undefined) out.appId = props.appId;
  if (props.userId !== undefined) out.userId = props.userId;
  return out;
}

/** The contract's message properties from a delivered message's (amqplib's MessageProperties). */
export function deliveredProperties(p: Record<string, unknown>): MessageProperties {
  const out: MessageProperties = {};
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const set = <K extends keyof MessageProperties>(key: K, value: MessageProperties[K] | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  set('contentType', str(p['contentType']));
  set('contentEncoding', str(p['contentEncoding']));
  if (p['headers'] !== undefined && p['headers'] !== null) set('headers', p['headers'] as Record<string, unknown>);
  set('persistent', p['deliveryMode'] === 2 ? true : p['deliveryMode'] === 1 ? false : undefined);
  set('priority', typeof p['priority'] === 'number' ? p['priority'] : undefined);
  set('correlationId', str(p['correlationId']));
  set('replyTo', str(p['replyTo']));
  const exp = str(p['expiration']);
  set('expiration', exp === undefined ? undefined : Number(exp));
  set('messageId', str(p['messageId']));
  set('timestamp', typeof p['timestamp'] === 'number' ? p['timestamp'] * 1000 : undefined);
  set('type', str(p['type']));
  set('appId', str(p['appId']));
  set('userId', str(p['userId']));
  return out;
}
