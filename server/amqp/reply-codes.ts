// Coded errors -> AMQP 0-9-1 reply codes: which code a channel.close or connection.close carries for
// an error the engine or the listener raised, and whether it ends the channel or the connection.
import { CeleriacError, type ErrorCode } from '../../shared/errors.js';
import { HARD_ERRORS, REPLY } from './codec/index.js';

/**
 * The reply code of each error an AMQP client can cause, as RabbitMQ answers the same fault
 * (rabbit_channel.erl). A bad argument or an unknown delivery tag is a soft 406 precondition-failed
 * there, where the WebSocket protocol ends the connection for the tag; a refused login or vhost
 * belongs to the handshake (handshake.ts answers it).
 */
const REPLY_OF: Partial<Record<ErrorCode, number>> = {
  ERR_NOT_FOUND: REPLY.NOT_FOUND,
  ERR_RESOURCE_LOCKED: REPLY.RESOURCE_LOCKED,
  ERR_PRECONDITION_FAILED: REPLY.PRECONDITION_FAILED,
  ERR_INVALID_ARGUMENT: REPLY.PRECONDITION_FAILED,
  ERR_UNKNOWN_DELIVERY_TAG: REPLY.PRECONDITION_FAILED,
  ERR_MESSAGE_TOO_LARGE: REPLY.PRECONDITION_FAILED,
  ERR_QUEUE_FULL: REPLY.PRECONDITION_FAILED,
  ERR_ACK_TIMEOUT: REPLY.PRECONDITION_FAILED,
  ERR_ACCESS_DENIED: REPLY.ACCESS_REFUSED,
  ERR_ACCESS_REFUSED: REPLY.ACCESS_REFUSED,
  ERR_SERVER_SHUTDOWN: REPLY.CONNECTION_FORCED,
  ERR_HANDSHAKE_TIMEOUT: REPLY.CONNECTION_FORCED,
  ERR_AMQP_FRAME: REPLY.FRAME_ERROR,
  ERR_AMQP_SYNTAX: REPLY.SYNTAX_ERROR,
  ERR_AMQP_COMMAND_INVALID: REPLY.COMMAND_INVALID,
  ERR_AMQP_CHANNEL: REPLY.CHANNEL_ERROR,
  ERR_AMQP_UNEXPECTED_FRAME: REPLY.UNEXPECTED_FRAME,
  ERR_AMQP_NOT_ALLOWED: REPLY.NOT_ALLOWED,
  ERR_AMQP_NOT_IMPLEMENTED: REPLY.NOT_IMPLEMENTED,
};

/** The spec's name of each reply code, as RabbitMQ opens its reply texts ("NOT_FOUND - no queue 'x'"). */
const REPLY_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(REPLY).map(([name, code]) => [code, name]));

/** What closes for an error: the reply code, its text, and whether the whole connection goes. */
export interface Reply {
  readonly code: number;
  readonly text: string;
  /** A hard error [AMQP 0-9-1 §1.2.1]: connection.close; otherwise channel.close. */
  readonly hard: boolean;
}

/** Most bytes of a reply text (a short string). */
const MAX_TEXT = 255;

/**
 * The reply for an error: its mapped code (541 internal-error for anything unexpected, an error
 * that is not a CeleriacError included) and a text in RabbitMQ's form, cut to a short string.
 */
export function replyFor(err: unknown): Reply {
  const code = err instanceof CeleriacError ? (REPLY_OF[err.code] ?? REPLY.INTERNAL_ERROR) : REPLY.INTERNAL_ERROR;
  const message = err instanceof CeleriacError ? err.message : 'internal error; see the broker log';
  return { code, text: replyText(code, message), hard: HARD_ERRORS.has(code) };
}

/** "NAME - message", at most 255 bytes of UTF-8 (cut on a character boundary). */
export function replyText(code: number, message: string): string {
  const text = `${REPLY_NAMES.get(code) ?? String(code)} - ${message}`;
  if (Buffer.byteLength(text) <= MAX_TEXT) return text;
  let cut = text.slice(0, MAX_TEXT);
  while (Buffer.byteLength(cut) > MAX_TEXT) cut = cut.slice(0, -1);
  return cut;
}
