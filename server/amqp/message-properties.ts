// AMQP basic properties <-> the engine's MessageProperties, the one mapping both directions use.
// An AMQP publisher's property bytes are kept beside the properties object the engine stores, so an
// AMQP consumer gets them back byte for byte (headers' type tags included) while the engine has not
// changed them; properties from elsewhere (a WebSocket publisher, a dead-lettered copy, a restart)
// are encoded once and the bytes kept the same way. A publisher that sends the same small property
// block with every message (amqplib's `{ persistent: true }`) gets one shared, frozen properties object.
import { fail } from '../../shared/errors.js';
import type { MessageProperties } from '../../shared/frames.js';
import { ByteWriter, FieldTable, writeProperties, type BasicProperties, type FieldEntry, type PlainFieldValue } from './codec/index.js';

/** A content header's property flags with none set: no properties. */
const NO_PROPERTIES = Buffer.from([0, 0]);
/** Short strings are at most this many bytes. */
const SHORTSTR_MAX = 255;
const DIGITS = /^\d+$/;
/**
 * Property blocks of at most this many bytes, without a per-message field, are interned: most
 * publishers send the same few blocks again and again, and one object per block spares an object,
 * a copy of the bytes and a WeakMap entry per message (the WeakMap's young keys cost the GC most).
 */
const INTERN_MAX_BYTES = 64;
/** Interned blocks kept at most; past it the table starts again (a publisher cycling through many). */
const INTERN_MAX_ENTRIES = 256;

/**
 * The mapping of one broker. The bytes are held by a WeakMap keyed by the properties object: an
 * object the engine replaces (x-death added, an event id stamped) finds nothing and is encoded
 * afresh, so kept bytes can never disagree with the properties the engine holds.
 */
export class PropertyMapping {
  private readonly encoded = new WeakMap<MessageProperties, Buffer>();
  /** Small property blocks seen before (their bytes as latin1 text) -> their one frozen properties object. */
  private readonly interned = new Map<string, MessageProperties>();

  /**
   * The engine's properties for a publish: undefined when it has none. Throws ERR_PRECONDITION_FAILED
   * for an expiration that is not a count of milliseconds, or a user-id other than the connection's
   * user (RabbitMQ's checks, 406).
   * @param raw the property flags and list as they came (copied here when kept)
   * @param user the connection's user name
   */
  fromAmqp(p: BasicProperties, raw: Buffer, user: string): MessageProperties | undefined {
    if (raw.length === 2 && raw[0] === 0 && raw[1] === 0) return undefined;
    // The same bytes always give the same properties; user-id is left out (its check depends on
    // the connection), as are the fields that name one message, which never repeat.
    const key = raw.length <= INTERN_MAX_BYTES && p.userId === undefined && p.messageId === undefined && p.correlationId === undefined && p.timestamp === undefined
      ? raw.toString('latin1') : undefined;
    if (key !== undefined) {
      const hit = this.interned.get(key);
      if (hit !== undefined) return hit;
    }
    const out: MessageProperties = {};
    if (p.contentType !== undefined) out.contentType = p.contentType;
    if (p.contentEncoding !== undefined) out.contentEncoding = p.contentEncoding;
    // An empty table (amqplib sends one with every message) is no headers: nothing to store or route on.
    if (p.headers !== undefined && !p.headers.isEmpty) out.headers = plainHeaders(p.headers);
    if (p.deliveryMode !== undefined) out.persistent = p.deliveryMode === 2;
    if (p.priority !== undefined) out.priority = p.priority;
    if (p.correlationId !== undefined) out.correlationId = p.correlationId;
    if (p.replyTo !== undefined) out.replyTo = p.replyTo;
    if (p.expiration !== undefined) {
      // [RabbitMQ TTL docs]: the expiration is a string of a non-negative integer of milliseconds.
      if (!DIGITS.test(p.expiration) || !Number.isSafeInteger(Number(p.expiration))) {
        throw fail('ERR_PRECONDITION_FAILED', `invalid expiration '${p.expiration}': a whole number of milliseconds`, { property: 'expiration' });
      }
      out.expiration = Number(p.expiration);
    }
    if (p.messageId !== undefined) out.messageId = p.messageId;
    // AMQP timestamps are seconds; the engine's (and the WebSocket protocol's) are epoch ms.
    if (typeof p.timestamp === 'number' && Number.isSafeInteger(p.timestamp * 1000)) out.timestamp = p.timestamp * 1000;
    if (p.type !== undefined) out.type = p.type;
    if (p.userId !== undefined) {
      if (p.userId !== user) throw fail('ERR_PRECONDITION_FAILED', `user_id property set to '${p.userId}' but authenticated user was '${user}'`, { property: 'userId' });
      out.userId = p.userId;
    }
    if (p.appId !== undefined) out.appId = p.appId;
    this.encoded.set(out, Buffer.from(raw));
    if (key !== undefined) {
      // Shared by many messages: frozen, so nothing can change one message's properties in place
      // (the engine copies properties before it changes them, as for a dead-lettered copy).
      if (out.headers !== undefined) Object.freeze(out.headers);
      if (this.interned.size >= INTERN_MAX_ENTRIES) this.interned.clear();
      this.interned.set(key, Object.freeze(out));
    }
    return out;
  }

  /** The property flags and list for a delivery of a message with these properties. */
  toAmqp(props: MessageProperties | undefined): Buffer {
    if (props === undefined) return NO_PROPERTIES;
    let bytes = this.encoded.get(props);
    if (bytes === undefined) {
      bytes = encode(basicProperties(props));
      this.encoded.set(props, bytes);
    }
    return bytes;
  }
}

function encode(p: BasicProperties): Buffer {
  const w = new ByteWriter(256);
  writeProperties(w, p);
  return w.take();
}

/** A short string property, or undefined when it would not fit one (a WebSocket client's long id). */
function shortstr(v: unknown): string | undefined {
  return typeof v === 'string' && (v.length * 3 <= SHORTSTR_MAX || Buffer.byteLength(v) <= SHORTSTR_MAX) ? v : undefined;
}

/** The AMQP properties of engine properties; what AMQP cannot carry is left out. */
export function basicProperties(props: MessageProperties): BasicProperties {
  const p: { -readonly [K in keyof BasicProperties]: BasicProperties[K] } = {};
  p.contentType = shortstr(props.contentType);
  p.contentEncoding = shortstr(props.contentEncoding);
  if (props.headers !== undefined && props.headers !== null && typeof props.headers === 'object') p.headers = headersTable(props.headers);
  if (props.persistent !== undefined) p.deliveryMode = props.persistent ? 2 : 1;
  if (typeof props.priority === 'number' && Number.isInteger(props.priority) && props.priority >= 0 && props.priority <= 255) p.priority = props.priority;
  p.correlationId = shortstr(props.correlationId);
  p.replyTo = shortstr(props.replyTo);
  if (typeof props.expiration === 'number' && Number.isFinite(props.expiration)) p.expiration = String(Math.max(0, Math.round(props.expiration)));
  p.messageId = shortstr(props.messageId);
  if (typeof props.timestamp === 'number' && Number.isFinite(props.timestamp) && props.timestamp >= 0) p.timestamp = Math.floor(props.timestamp / 1000);
  p.type = shortstr(props.type);
  p.userId = shortstr(props.userId);
  p.appId = shortstr(props.appId);
  for (const key of Object.keys(p) as (keyof BasicProperties)[]) if (p[key] === undefined) delete p[key];
  return p;
}

/**
 * Headers as a field table. Values a table cannot hold as they are (a Date from msgpack's
 * timestamp, a function-less class instance) go as what they mean: a Date as seconds, anything
 * else as its text, so a delivery never fails on a header.
 */
function headersTable(headers: Record<string, unknown>): FieldTable {
  const typed = Array.isArray(headers['x-death']) ? { ...headers, 'x-death': headers['x-death'].map(deathTable) } : headers;
  try {
    return FieldTable.fromObject(typed as { [key: string]: PlainFieldValue });
  } catch {
    return FieldTable.fromObject(tableSafe(typed) as { [key: string]: PlainFieldValue });
  }
}

/** An x-death entry's fields with RabbitMQ's types, in its order (rabbit_dead_letter); others follow, inferred. */
const DEATH_FIELDS = [['count', 'l'], ['reason', 'S'], ['queue', 'S'], ['time', 'T'], ['exchange', 'S'], ['routing-keys', 'A'], ['original-expiration', 'S']] as const;

/**
 * One x-death entry as the table RabbitMQ writes: `count` a long, `time` a timestamp (the engine
 * holds plain numbers, which would go as int32). An entry not of the engine's shape (a publisher's
 * own x-death) goes as it is.
 */
function deathTable(entry: unknown): unknown {
  if (entry === null || typeof entry !== 'object' || Object.getPrototypeOf(entry) !== Object.prototype) return entry;
  const e = entry as Record<string, unknown>;
  const entries: FieldEntry[] = [];
  for (const [key, tag] of DEATH_FIELDS) {
    const v = e[key];
    if (v === undefined) continue;
    if ((tag === 'l' || tag === 'T') && !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) return entry;
    if ((tag === 'S' && typeof v !== 'string') || (tag === 'A' && !(Array.isArray(v) && v.every((k) => typeof k === 'string')))) return entry;
    if (tag === 'l' || tag === 'T') entries.push([key, { type: tag, value: v as number }]);
    else if (tag === 'S') entries.push([key, { type: 'S', value: Buffer.from(v as string) }]);
    else entries.push([key, { type: 'A', value: (v as string[]).map((k) => ({ type: 'S' as const, value: Buffer.from(k) })) }]);
  }
  const known = new Set<string>(DEATH_FIELDS.map(([k]) => k));
  const rest = Object.fromEntries(Object.entries(e).filter(([k]) => !known.has(k)));
  return FieldTable.fromEntries([...entries, ...FieldTable.fromObject(tableSafe(rest) as { [key: string]: PlainFieldValue }).entries()]);
}

function tableSafe(v: unknown): unknown {
  if (v === null || v === undefined || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string' || typeof v === 'bigint') return v;
  if (v instanceof Uint8Array || v instanceof FieldTable) return v;
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (Array.isArray(v)) return v.map(tableSafe);
  const proto: unknown = Object.getPrototypeOf(v);
  if (typeof v === 'object' && (proto === Object.prototype || proto === null)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (Buffer.byteLength(k) <= SHORTSTR_MAX) out[k] = tableSafe(x);
    return out;
  }
  return String(v);
}

/**
 * A headers table as the engine's plain object (for the headers exchange, x-death, Celery's task
 * header, WebSocket consumers): FieldTable.toObject, with byte arrays copied out of the socket's
 * input (a view would keep the whole input chunk alive in the queue) and 64-bit integers past 2^53
 * as numbers, since the store's encoding takes no bigint (the exact bytes still reach AMQP
 * consumers, see PropertyMapping).
 */
export function plainHeaders(table: FieldTable): Record<string, unknown> {
  return engineValue(table.toObject()) as Record<string, unknown>;
}

function engineValue(v: PlainFieldValue): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (Array.isArray(v)) return (v as readonly PlainFieldValue[]).map(engineValue);
  const o = v as Record<string, PlainFieldValue>;
  for (const k of Object.keys(o)) {
    const x = o[k]!;
    if (typeof x === 'bigint' || (x !== null && typeof x === 'object')) (o as Record<string, unknown>)[k] = engineValue(x);
  }
  return o;
}
