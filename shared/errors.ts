// Every error celeriac raises on the wire, in one table used by server and client alike.
// Codes are stable strings; a retired code is never reused for another meaning.

/** Whether an error ends one request or the whole connection. */
export type ErrorScope = 'request' | 'connection';

interface ErrorSpec {
  /** AMQP-style reply code, for users coming from RabbitMQ. */
  readonly wire: number;
  readonly scope: ErrorScope;
  /** WebSocket close code used when the scope is the connection. */
  readonly close?: number;
  /** One line for the docs: when this happens. */
  readonly doc: string;
}

/**
 * The error table. docs/errors.md lists the same codes; test/shared/errors.test.ts keeps the
 * two in step both ways.
 */
export const ERRORS = {
  ERR_MALFORMED_FRAME: { wire: 502, scope: 'connection', close: 1002, doc: 'The bytes are not a msgpack frame of the expected shape.' },
  ERR_UNKNOWN_OPCODE: { wire: 503, scope: 'connection', close: 1002, doc: 'The frame starts with an opcode this server does not know.' },
  ERR_FRAME_TOO_LARGE: { wire: 501, scope: 'connection', close: 1009, doc: 'A WebSocket message exceeds maxMessageSize (maxPreAuthSize before hello).' },
  ERR_TOO_MANY_FRAMES: { wire: 501, scope: 'connection', close: 1009, doc: 'A WebSocket message from a client holds more frames than maxFramesPerMessage (announced in welcome).' },
  ERR_HANDSHAKE_REQUIRED: { wire: 505, scope: 'connection', close: 1008, doc: 'A frame other than hello arrived before the hello was answered.' },
  ERR_HANDSHAKE_TIMEOUT: { wire: 320, scope: 'connection', close: 1008, doc: 'No hello arrived within handshakeTimeout.' },
  ERR_VERSION_UNSUPPORTED: { wire: 505, scope: 'connection', close: 1002, doc: 'The hello asks for a protocol version this server does not speak.' },
  ERR_ACCESS_REFUSED: { wire: 403, scope: 'connection', close: 1008, doc: 'Wrong user name or password, a user not allowed from this address, or a virtual host the user may not use.' },
  ERR_TOO_MANY_CONNECTIONS: { wire: 530, scope: 'connection', close: 1013, doc: 'The broker holds as many connections as it allows, in total or from the peer\'s address (maxConnections, maxConnectionsPerAddress); the new one is answered HTTP 503 and closed.' },
  ERR_HEARTBEAT_TIMEOUT: { wire: 320, scope: 'connection', close: 1001, doc: 'Nothing was heard from the peer for two heartbeat intervals.' },
  ERR_SERVER_SHUTDOWN: { wire: 320, scope: 'connection', close: 1001, doc: 'The broker is shutting down.' },
  ERR_CONNECTION_CLOSED: { wire: 320, scope: 'connection', close: 1006, doc: 'The connection closed before the request was answered (client side).' },
  ERR_INTERNAL: { wire: 541, scope: 'connection', close: 1011, doc: 'A bug in the broker; the connection is closed, the broker goes on.' },
  ERR_UNKNOWN_DELIVERY_TAG: { wire: 406, scope: 'connection', close: 1008, doc: 'An ack, nack or reject names a delivery tag that is not outstanding (never sent, or already settled).' },
  ERR_NOT_FOUND: { wire: 404, scope: 'request', doc: 'The exchange, queue or consumer named does not exist in this virtual host.' },
  ERR_PRECONDITION_FAILED: { wire: 406, scope: 'request', doc: 'A declare disagrees with the existing entity, or ifUnused / ifEmpty does not hold.' },
  ERR_RESOURCE_LOCKED: { wire: 405, scope: 'request', doc: 'The queue is exclusive to another connection.' },
  ERR_INVALID_ARGUMENT: { wire: 406, scope: 'request', doc: 'An option or field has the wrong type or an out-of-range value.' },
  ERR_NO_ROUTE: { wire: 312, scope: 'request', doc: 'A mandatory message matched no queue.' },
  ERR_QUEUE_FULL: { wire: 406, scope: 'request', doc: 'A queue with overflow reject-publish is at maxLength; the message was not taken.' },
  ERR_MESSAGE_TOO_LARGE: { wire: 311, scope: 'request', doc: "A message or result body exceeds maxBodySize; a frame the SDK was to send exceeds the broker's maxMessageSize (not sent); or a read of stored results carries more than this broker's clients can decode (a result stored before the limits were lowered, or a group's results together over the 100 MiB a client takes in one message)." },
  ERR_ACCESS_DENIED: { wire: 403, scope: 'request', doc: 'The operation is not allowed, e.g. publishing to the reserved default exchange by name or declaring an amq.* name.' },
  ERR_ACK_TIMEOUT: { wire: 406, scope: 'request', doc: 'A consumer held a delivery unacked longer than the queue\'s consumerTimeout; it was cancelled and its deliveries requeued.' },
  ERR_TOO_MANY_REQUESTS: { wire: 506, scope: 'request', doc: 'The connection already has maxResultWaits resultWait requests waiting (announced in welcome); this one is refused.' },
  ERR_STORE_FAILED: { wire: 541, scope: 'request', doc: 'The store could not commit (disk full, I/O error); the message was not taken. From a Redis result backend: Redis refused the write (out of memory, a read-only replica, a failed save).' },
  ERR_TIMEOUT: { wire: 408, scope: 'request', doc: 'No reply within the client\'s request timeout (client side).' },
  ERR_STALE_LEASE: { wire: 405, scope: 'request', doc: 'A beat fire or advance names a lease holder and epoch that no longer hold the lease (another beat took it, or it expired), in broker-server or in Redis: nothing was fired or changed. The beat has lost leadership.' },
  ERR_PUBLISH_FAILED: { wire: 320, scope: 'request', doc: 'A publish could not reach the broker within its bound: the broker stayed unreachable longer than the app\'s taskPublishRetryPolicy (or the connection\'s offlinePublishTimeout) allows (client side).' },
  // --- the AMQP 0-9-1 listener (server/amqp): the wire code is the reply code of the connection.close sent
  ERR_AMQP_FRAME: { wire: 501, scope: 'connection', close: 1002, doc: 'AMQP 0-9-1: a frame that cannot be decoded: no frame-end octet, a frame over the negotiated frame-max, an unknown frame type, a bad heartbeat frame, a length that runs past its frame, bytes left over after a method\'s arguments, or content longer than announced.' },
  ERR_AMQP_SYNTAX: { wire: 502, scope: 'connection', close: 1002, doc: 'AMQP 0-9-1: a frame with an illegal field value: an unknown field-table type tag, tables nested too deep, property flags basic does not have, a content header weight that is not zero, a delivery tag past 2^53 - 1.' },
  ERR_AMQP_COMMAND_INVALID: { wire: 503, scope: 'connection', close: 1002, doc: 'AMQP 0-9-1: a method id that no class defines.' },
  ERR_AMQP_UNEXPECTED_FRAME: { wire: 505, scope: 'connection', close: 1002, doc: 'AMQP 0-9-1: a frame out of sequence: a content header or body frame without a content method before it, a method frame where a content header or body frame must come, a content header for another class.' },
  ERR_AMQP_NOT_IMPLEMENTED: { wire: 540, scope: 'connection', close: 1002, doc: 'AMQP 0-9-1: a method of a class this server does not implement (a class id that 0-9-1 does not define; the listener answers tx with it too).' },
  ERR_AMQP_CHANNEL: { wire: 504, scope: 'connection', close: 1002, doc: 'AMQP 0-9-1: a frame on a channel that is not open (anything but channel.open there), or channel.open on a channel already open.' },
  ERR_AMQP_NOT_ALLOWED: { wire: 530, scope: 'connection', close: 1008, doc: 'AMQP 0-9-1: something the connection may not do: open a virtual host the user may not use (or that does not exist), tune past the server\'s channel-max or frame-max, a channel number over the negotiated channel-max, a consumer tag already in use on the channel.' },
  // --- the task layer (client side: raised by AsyncResult, the worker and the CLI)
  ERR_TASK_FAILED: { wire: 541, scope: 'request', doc: 'The task raised an error; details carry the remote name, message and stack (AsyncResult.get).' },
  ERR_TASK_REVOKED: { wire: 541, scope: 'request', doc: 'The task was revoked (or expired) before it could finish (AsyncResult.get).' },
  ERR_UNKNOWN_TASK: { wire: 404, scope: 'request', doc: 'No task of this name is registered (worker, sendTask with a local registry, CLI call).' },
  ERR_UNKNOWN_TASK_ID: { wire: 404, scope: 'request', doc: 'The broker knows no task with this id: nobody sent it, or its result expired or was forgotten.' },
  ERR_RESULT_TIMEOUT: { wire: 408, scope: 'request', doc: 'AsyncResult.get({ timeout }) waited that long and the task was not ready.' },
  ERR_TIME_LIMIT: { wire: 541, scope: 'request', doc: 'The task ran past its hard time limit and its runner was stopped.' },
  ERR_WORKER_LOST: { wire: 541, scope: 'request', doc: 'The runner of the task died (crash, out of memory, killed) before the task finished.' },
  ERR_CHORD_FAILED: { wire: 541, scope: 'request', doc: 'A chord callback did not run because a member of its header failed.' },
  ERR_ENCODE: { wire: 406, scope: 'request', doc: 'A task\'s arguments or result cannot be encoded by its serializer (NaN in JSON, a BigInt, a circular reference, ...); the message names the task and the value\'s path. Celery\'s EncodeError.' },
  ERR_DELIVERY_LIMIT: { wire: 541, scope: 'request', doc: 'The task message was delivered more times than its queue\'s delivery limit (taskQueueDeliveryLimit): each run ended without an ack (its worker died or lost its connection), so it was recorded FAILURE and dead-lettered instead of run again.' },
  ERR_TRANSPORT_UNAVAILABLE: { wire: 540, scope: 'request', doc: 'A broker or resultBackend URL names a transport or result backend that this version of celeriac does not have built in (redis:// as a broker), or a pair that cannot work: an amqp:// broker (RabbitMQ keeps no task results) without a redis:// result backend; or a feature the pair lacks: the broker-level Connection needs broker-server.' },
} as const satisfies Record<string, ErrorSpec>;

/** Every stable error code. */
export type ErrorCode = keyof typeof ERRORS;

/** Base class of every celeriac error; `code` is stable, `message` is for humans. */
export class CeleriacError extends Error {
  readonly code: ErrorCode;
  readonly wireCode: number;
  readonly scope: ErrorScope;
  /** Extra facts for programs (e.g. the queue name), never needed to understand the message. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const spec: ErrorSpec = ERRORS[code];
    this.code = code;
    this.wireCode = spec.wire;
    this.scope = spec.scope;
    this.details = options?.details;
    this.name = classNameOf(code);
  }

  /** The WebSocket close code to use when this error ends a connection. */
  get closeCode(): number {
    const spec: ErrorSpec = ERRORS[this.code];
    return spec.close ?? 1008;
  }
}

function classNameOf(code: string): string {
  // ERR_NOT_FOUND -> NotFoundError
  return code.slice(4).toLowerCase().split('_').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('') + 'Error';
}

/** True when `code` is a code of the table (a peer may send codes from a newer version). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, code);
}

/** Shorthand: `fail('ERR_NOT_FOUND', "no queue 'x'")` builds the coded error. */
export function fail(code: ErrorCode, message: string, details?: Record<string, unknown>): CeleriacError {
  return new CeleriacError(code, message, details === undefined ? undefined : { details });
}

/**
 * Rebuilds an error from an error frame. An unknown code (a newer server) becomes ERR_INTERNAL
 * with the original code kept in details, so nothing is thrown away.
 */
export function errorFromWire(code: unknown, message: unknown, details?: unknown): CeleriacError {
  const text = typeof message === 'string' ? message : 'error without a message';
  const extra = details !== null && typeof details === 'object' && !Array.isArray(details) ? (details as Record<string, unknown>) : undefined;
  if (isErrorCode(code)) return new CeleriacError(code, text, extra === undefined ? undefined : { details: extra });
  return new CeleriacError('ERR_INTERNAL', text, { details: { ...extra, remoteCode: code } });
}
