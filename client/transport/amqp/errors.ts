// amqplib's errors as celeriac's coded ones. amqplib reports a broker's refusal as an Error whose
// `code` is the AMQP reply code (404, 406, ...), a refused login as a "Handshake terminated"
// Error, and a socket failure as Node's error with a string code (ECONNREFUSED, ...).
import { CeleriacError, fail, type ErrorCode } from '../../../shared/errors.js';
import { namedQueueArgument } from '../../../shared/queue-arguments.js';

/** AMQP 0-9-1 reply codes (§1.9) and the celeriac code each one means. */
const REPLY_CODES: Readonly<Record<number, ErrorCode>> = {
  312: 'ERR_NO_ROUTE',
  320: 'ERR_SERVER_SHUTDOWN', // connection-forced: the broker is stopping or an operator closed us
  403: 'ERR_ACCESS_DENIED',
  404: 'ERR_NOT_FOUND',
  405: 'ERR_RESOURCE_LOCKED',
  406: 'ERR_PRECONDITION_FAILED',
  530: 'ERR_ACCESS_REFUSED', // not-allowed: a virtual host the user may not use
};

/**
 * A coded error for anything amqplib threw or emitted while doing `what`. A CeleriacError passes
 * through. Socket failures become ERR_CONNECTION_CLOSED with the socket error as `cause`, which is
 * what isUnreachable() (client/unreachable.ts) looks at to decide a retry may help.
 */
export function amqpError(err: unknown, what: string): CeleriacError {
  if (err instanceof CeleriacError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; message?: unknown };
  const text = typeof e.message === 'string' ? e.message : String(err);
  // RabbitMQ answers a refused login or vhost by closing the connection during the handshake.
  if (/Handshake terminated by server: (403|530)|ACCESS[-_]REFUSED|NOT[-_]ALLOWED/.test(text)) {
    return new CeleriacError('ERR_ACCESS_REFUSED', `${what}: RabbitMQ refused the login (wrong user name or password, or a virtual host the user may not use): ${text}`, { cause: err });
  }
  if (typeof e.code === 'number') {
    const code = REPLY_CODES[e.code];
    if (code !== undefined) return new CeleriacError(code, `${what}: ${text}`, { cause: err, details: { replyCode: e.code, ...unsupportedArgument(text) } });
    return new CeleriacError('ERR_CONNECTION_CLOSED', `${what}: ${text}`, { cause: err, details: { replyCode: e.code } });
  }
  return new CeleriacError('ERR_CONNECTION_CLOSED', `${what}: ${text}`, { cause: err });
}

/**
 * RabbitMQ refuses a queue argument the queue's type cannot hold (x-delivery-limit on a classic
 * queue) with 406 "invalid arg 'x-…' for queue '…' in vhost '…' of queue type …" (a bad value of an
 * argument it takes reads "invalid arg 'x-…' for queue '…' in vhost '…': {…}" instead). The contract
 * names such an option in `details.unsupportedOption` (its QueueOptions name when it has one), so a
 * caller can tell it from a queue that exists with other arguments.
 */
function unsupportedArgument(text: string): { unsupportedOption: string; queueType: string } | Record<string, never> {
  const m = /invalid arg '(x-[^']+)' for queue '.*' in vhost '.*' of queue type (\S+)/.exec(text);
  if (m === null) return {};
  return { unsupportedOption: namedQueueArgument(m[1]!) ?? m[1]!, queueType: m[2]! };
}

/**
 * Why a written publish failed. RabbitMQ's basic.nack means it did not take the message: a queue it
 * routes to is full with overflow reject-publish (or, rarely, that queue's process failed), which
 * broker-server reports as ERR_QUEUE_FULL. Anything else closed the channel (a missing exchange, ...).
 */
export function publishError(err: unknown, exchange: string, routingKey: string): CeleriacError {
  const what = `publishing to '${exchange}' (${routingKey})`;
  if (err instanceof Error && err.message === 'message nacked') {
    return fail('ERR_QUEUE_FULL', `${what}: RabbitMQ refused the message (basic.nack): a queue it routes to is at its max length with overflow reject-publish, or failed`, { exchange, routingKey });
  }
  return amqpError(err, what);
}
