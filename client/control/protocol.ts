// The remote-control wire format (Celery's pidbox, kombu Mailbox): exchange and queue names, the
// command body a caller broadcasts and the reply body a worker sends back, both JSON.
import { fail } from '../../shared/errors.js';

/** Fanout exchange every running worker's control queue is bound to (Celery: `celery.pidbox`). */
export const CONTROL_EXCHANGE = 'celeriac.control';
/** Direct exchange replies travel on, routed by the caller's reply queue name (Celery: `reply.celery.pidbox`). */
export const REPLY_EXCHANGE = 'celeriac.reply';
/** A command left unread this long is dropped: a late shutdown or ping must not fire minutes later. */
export const COMMAND_TTL_MS = 300_000;

/** The control queue of worker `hostname` (exclusive to its connection, deleted with it). */
export function controlQueueName(hostname: string): string {
  return `${CONTROL_EXCHANGE}.${hostname}`;
}

/** Where a worker sends its reply. */
export interface ReplyTo {
  exchange: string;
  routing_key: string;
}

/** A control command as broadcast on the control exchange (kombu's Mailbox message fields). */
export interface ControlCommand {
  method: string;
  arguments: Record<string, unknown>;
  /** Hostnames that should act on it; null = every worker. */
  destination: string[] | null;
  /** Null when the caller wants no reply. */
  reply_to: ReplyTo | null;
  /** Correlates replies with this call; also carried in the reply's `ticket` header. */
  ticket: string;
}

/** A worker's answer to a command that failed or that it does not know. */
export interface ControlError {
  error: string;
}

/** One reply: `{ [hostname]: reply }` (Celery's shape, so replies from many workers can be listed). */
export type ControlReply<R> = Record<string, R>;

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** BigInts (msgpack task arguments may hold them) go as decimal strings rather than failing the reply. */
const replacer = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

/** JSON bytes of a command or reply; throws on a value JSON cannot hold (a cycle). */
export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, replacer));
}

/** Reads a command body; throws ERR_INVALID_ARGUMENT on anything that is not one. */
export function parseCommand(body: Uint8Array): ControlCommand {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    throw fail('ERR_INVALID_ARGUMENT', 'a control command must be JSON');
  }
  if (!isRecord(v) || typeof v.method !== 'string' || typeof v.ticket !== 'string') {
    throw fail('ERR_INVALID_ARGUMENT', 'a control command needs a string method and ticket');
  }
  const args = v.arguments === undefined || v.arguments === null ? {} : v.arguments;
  if (!isRecord(args)) throw fail('ERR_INVALID_ARGUMENT', 'control command arguments must be an object');
  const dest = v.destination ?? null;
  if (dest !== null && !(Array.isArray(dest) && dest.every((d) => typeof d === 'string'))) {
    throw fail('ERR_INVALID_ARGUMENT', 'a control command destination must be null or an array of hostnames');
  }
  const r = v.reply_to ?? null;
  let replyTo: ReplyTo | null = null;
  if (r !== null) {
    if (!isRecord(r) || typeof r.exchange !== 'string' || typeof r.routing_key !== 'string') {
      throw fail('ERR_INVALID_ARGUMENT', 'a control command reply_to must be { exchange, routing_key }');
    }
    replyTo = { exchange: r.exchange, routing_key: r.routing_key };
  }
  return { method: v.method, arguments: args, destination: dest as string[] | null, reply_to: replyTo, ticket: v.ticket };
}

/** Reads a reply body: a `{ [hostname]: reply }` object, or undefined when it is not one. */
export function parseReply(body: Uint8Array): ControlReply<unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    return isRecord(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
