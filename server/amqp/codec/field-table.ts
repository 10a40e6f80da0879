// AMQP 0-9-1 field tables and arrays: the bytes are checked once when decoded and kept, so a table
// (message headers, queue arguments) is forwarded byte for byte; values are decoded only when asked.
//
// Type tags, as RabbitMQ reads them (rabbit_binary_parser.erl) and its AMQP 0-9-1 errata lists them
// (https://www.rabbitmq.com/amqp-0-9-1-errata, section 3). Where the 0-9-1 spec's own table differs,
// RabbitMQ wins, since every client is written against it:
//
//   t boolean (octet)        b int8      B uint8     s int16 (spec: short string!)   u uint16
//   U int16 (spec's tag)     I int32     i uint32    l int64 (spec: uint64)          L int64
//   f float32   d float64    D decimal (scale octet + uint32)   T timestamp (uint64 seconds)
//   S long string (bytes)    x byte array   A field array   F nested table   V void
//
// Clients disagree on a few: py-amqp reads 'b' as unsigned and 'B' as signed, 'l' as unsigned, and
// amqplib cannot read 'U' or 'L'. So tables this side builds from plain values (fromObject) use only
// the tags every client reads alike: t, I, l, d, S, x, A, F, V.
import { fail, type CeleriacError } from '../../../shared/errors.js';
import { DEFAULT_LIMITS } from '../../../shared/limits.js';
import { ByteWriter, readI64, readU64 } from './bytes.js';

/**
 * One typed value of a table or array; `type` is the wire tag, so encoding a decoded value gives the
 * same bytes (an 'f' value is written as float32, so only a value decoded from one is exact).
 */
export type FieldValue =
  | { readonly type: 't'; readonly value: boolean }
  | { readonly type: 'b' | 'B' | 's' | 'u' | 'U' | 'I' | 'i' | 'f' | 'd'; readonly value: number }
  /** A number when it is a safe integer, else a bigint. */
  | { readonly type: 'l' | 'L' | 'T'; readonly value: number | bigint }
  /** value / 10^scale. */
  | { readonly type: 'D'; readonly scale: number; readonly value: number }
  | { readonly type: 'S' | 'x'; readonly value: Buffer }
  | { readonly type: 'A'; readonly value: readonly FieldValue[] }
  | { readonly type: 'F'; readonly value: FieldTable }
  | { readonly type: 'V' };

/** Every wire tag a field value may have. */
export type FieldType = FieldValue['type'];

/** One key and value of a table, in wire order (a table may repeat a key; the bytes keep both). */
export type FieldEntry = readonly [key: string, value: FieldValue];

/** A table value as plain JavaScript: what toObject() gives and fromObject() takes. */
export type PlainFieldValue =
  | boolean | number | bigint | string | Buffer | null | undefined | FieldTable
  | readonly PlainFieldValue[] | { readonly [key: string]: PlainFieldValue };

/** Width in bytes of each fixed-size tag's value; -2 for the length-prefixed ones; -1 for unknown. */
const WIDTH = new Int8Array(128).fill(-1);
for (const [tag, width] of [['t', 1], ['b', 1], ['B', 1], ['s', 2], ['u', 2], ['U', 2], ['I', 4], ['i', 4], ['l', 8], ['L', 8], ['f', 4], ['d', 8], ['D', 5], ['T', 8], ['V', 0], ['S', -2], ['x', -2], ['A', -2], ['F', -2]] as const) {
  WIDTH[tag.charCodeAt(0)] = width;
}
const TAG_F = 0x46;
const TAG_A = 0x41;

/** Integer ranges of the fixed-size integer tags, for encoding. */
const INT_RANGE: Readonly<Record<string, readonly [number, number]>> = {
  b: [-0x80, 0x7f], B: [0, 0xff], s: [-0x8000, 0x7fff], U: [-0x8000, 0x7fff], u: [0, 0xffff], I: [-0x80000000, 0x7fffffff], i: [0, 0xffffffff],
};
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Checks the structure of table (keyed) or array bytes [p, end) without building anything: every
 * tag known, every length inside its parent, nesting at most maxDepth. Throws ERR_AMQP_FRAME when a
 * length runs past its end, ERR_AMQP_SYNTAX for an unknown tag or nesting too deep.
 */
function scan(buf: Buffer, p: number, end: number, keyed: boolean, depth: number, maxDepth: number, ctx: ScanContext): void {
  while (p < end) {
    if (keyed) {
      p += 1 + buf[p]!;
      if (p >= end) throw truncated(ctx);
    }
    const tag = buf[p++]!;
    const width = tag < 128 ? WIDTH[tag]! : -1;
    if (width >= 0) {
      p += width;
      if (p > end) throw truncated(ctx);
      continue;
    }
    if (width === -1) throw fail('ERR_AMQP_SYNTAX', `${ctx.what}: unknown field type tag 0x${tag.toString(16).padStart(2, '0')}`, { ...ctx.details, tag });
    if (end - p < 4) throw truncated(ctx);
    const len = buf.readUInt32BE(p);
    p += 4;
    if (end - p < len) throw truncated(ctx);
    if (tag === TAG_F || tag === TAG_A) {
      if (depth >= maxDepth) throw fail('ERR_AMQP_SYNTAX', `${ctx.what}: tables and arrays nested deeper than ${maxDepth}`, ctx.details);
      scan(buf, p, p + len, tag === TAG_F, depth + 1, maxDepth, ctx);
    }
    p += len;
  }
}

/** What a scan names in its errors: the table ("basic.consume arguments") and the method's ids. */
interface ScanContext {
  readonly what: string;
  readonly details: Record<string, unknown> | undefined;
}

function truncated(ctx: ScanContext): CeleriacError {
  return fail('ERR_AMQP_FRAME', `${ctx.what}: a field value or key runs past the end of its table`, ctx.details);
}

/** Wraps bytes a scan already checked (set by FieldTable's static block: the constructor is private). */
let wrapChecked: (raw: Buffer) => FieldTable;

/**
 * A field table: its wire bytes (`raw`, without the 4-byte length) and, on demand, its values.
 * Immutable. Built by the decoder (FieldTable.decode, bytes checked), by fromEntries (exact tags)
 * or by fromObject (tags inferred from plain values).
 */
export class FieldTable {
  /** The empty table. */
  static readonly EMPTY = new FieldTable(Buffer.alloc(0));

  private cached: FieldEntry[] | undefined;

  static {
    wrapChecked = (raw) => (raw.length === 0 ? FieldTable.EMPTY : new FieldTable(raw));
  }

  private constructor(
    /** The table's bytes on the wire, after its 4-byte length prefix. */
    readonly raw: Buffer,
  ) {}

  /**
   * Wraps table bytes after checking their structure (see scan). The bytes are kept as given (a
   * view of the input, no copy). Throws ERR_AMQP_FRAME / ERR_AMQP_SYNTAX naming `what`, with `details`.
   */
  static decode(raw: Buffer, maxDepth = DEFAULT_LIMITS.maxDepth, what = 'field table', details?: Record<string, unknown>): FieldTable {
    if (raw.length === 0) return FieldTable.EMPTY;
    scan(raw, 0, raw.length, true, 1, maxDepth, { what, details });
    return new FieldTable(raw);
  }

  /** A table of exactly these typed entries, in this order. Throws ERR_INVALID_ARGUMENT for a value out of its tag's range. */
  static fromEntries(entries: Iterable<FieldEntry>): FieldTable {
    const w = new ByteWriter(256);
    for (const [key, value] of entries) {
      w.shortstr(key, 'field table key');
      writeValue(w, value, 1);
    }
    return new FieldTable(w.take());
  }

  /**
   * A table of plain values, tags inferred: boolean t, integer I (int32) or l (int64), other number
   * d, bigint l, string S, Buffer/Uint8Array x, null V, array A, plain object or FieldTable F;
   * undefined members are left out. Throws ERR_INVALID_ARGUMENT for anything else.
   */
  static fromObject(obj: { readonly [key: string]: PlainFieldValue }): FieldTable {
    const w = new ByteWriter(256);
    writePlainEntries(w, obj, 1);
    return new FieldTable(w.take());
  }

  /** The entries, typed, in wire order (decoded on first use, then kept). */
  entries(): readonly FieldEntry[] {
    if (this.cached === undefined) this.cached = readEntries(this.raw, 0, this.raw.length);
    return this.cached;
  }

  /** The first value under `key`, typed. */
  get(key: string): FieldValue | undefined {
    for (const [k, v] of this.entries()) if (k === key) return v;
    return undefined;
  }

  /** True when the table has no entries. */
  get isEmpty(): boolean {
    return this.raw.length === 0;
  }

  /**
   * The table as a plain object (as amqplib decodes one): numbers of every width as numbers (64-bit
   * ones past 2^53 as bigints), S as a UTF-8 string, x as a Buffer, D as value / 10^scale, T as
   * seconds, V as null, A as an array, F as an object. A repeated key keeps its last value.
   */
  toObject(): Record<string, PlainFieldValue> {
    const out: Record<string, PlainFieldValue> = {};
    for (const [k, v] of this.entries()) out[k] = plainOf(v);
    return out;
  }

  /** True when both tables have the same bytes. */
  equals(other: FieldTable): boolean {
    return this.raw.equals(other.raw);
  }
}

/** Decodes entries of table bytes already checked by scan. */
function readEntries(buf: Buffer, p: number, end: number): FieldEntry[] {
  const out: FieldEntry[] = [];
  while (p < end) {
    const n = buf[p]!;
    const key = buf.toString('utf8', p + 1, p + 1 + n);
    p += 1 + n;
    const [value, next] = readValue(buf, p);
    out.push([key, value]);
    p = next;
  }
  return out;
}

/** Decodes one value (tag at p) of bytes already checked by scan; returns it and where the next starts. */
function readValue(buf: Buffer, p: number): [FieldValue, number] {
  const tag = String.fromCharCode(buf[p]!);
  p++;
  switch (tag) {
    case 't': return [{ type: 't', value: buf[p] !== 0 }, p + 1];
    case 'b': return [{ type: 'b', value: buf.readInt8(p) }, p + 1];
    case 'B': return [{ type: 'B', value: buf[p]! }, p + 1];
    case 's': case 'U': return [{ type: tag, value: buf.readInt16BE(p) }, p + 2];
    case 'u': return [{ type: 'u', value: buf.readUInt16BE(p) }, p + 2];
    case 'I': return [{ type: 'I', value: buf.readInt32BE(p) }, p + 4];
    case 'i': return [{ type: 'i', value: buf.readUInt32BE(p) }, p + 4];
    case 'l': case 'L': return [{ type: tag, value: readI64(buf, p) }, p + 8];
    case 'T': return [{ type: 'T', value: readU64(buf, p) }, p + 8];
    case 'f': return [{ type: 'f', value: buf.readFloatBE(p) }, p + 4];
    case 'd': return [{ type: 'd', value: buf.readDoubleBE(p) }, p + 8];
    case 'D': return [{ type: 'D', scale: buf[p]!, value: buf.readUInt32BE(p + 1) }, p + 5];
    case 'V': return [{ type: 'V' }, p];
    default: {
      // S, x, A, F: a 32-bit length, then that many bytes.
      const len = buf.readUInt32BE(p);
      const body = buf.subarray(p + 4, p + 4 + len);
      const next = p + 4 + len;
      if (tag === 'S' || tag === 'x') return [{ type: tag, value: body }, next];
      if (tag === 'F') return [{ type: 'F', value: wrapChecked(body) }, next];
      const items: FieldValue[] = [];
      for (let q = 0; q < len;) {
        const [v, after] = readValue(body, q);
        items.push(v);
        q = after;
      }
      return [{ type: 'A', value: items }, next];
    }
  }
}

function plainOf(v: FieldValue): PlainFieldValue {
  switch (v.type) {
    case 'V': return null;
    case 'S': return v.value.toString('utf8');
    case 'D': return v.value / 10 ** v.scale;
    case 'A': return v.value.map(plainOf);
    case 'F': return v.value.toObject();
    default: return v.value;
  }
}

function invalid(message: string): CeleriacError {
  return fail('ERR_INVALID_ARGUMENT', `field table: ${message}`);
}

/** Writes one typed value (tag and bytes), checking it fits its tag. */
function writeValue(w: ByteWriter, v: FieldValue, depth: number): void {
  w.u8(v.type.charCodeAt(0));
  switch (v.type) {
    case 't': w.u8(v.value ? 1 : 0); return;
    case 'b': case 'B': case 's': case 'U': case 'u': case 'I': case 'i': {
      const [lo, hi] = INT_RANGE[v.type]!;
      if (!Number.isInteger(v.value) || v.value < lo || v.value > hi) throw invalid(`'${v.type}' value ${v.value} is not an integer in [${lo}, ${hi}]`);
      w.ensure(4);
      if (v.type === 'b') w.buf.writeInt8(v.value, w.pos++);
      else if (v.type === 'B') w.buf[w.pos++] = v.value;
      else if (v.type === 'u') { w.buf.writeUInt16BE(v.value, w.pos); w.pos += 2; }
      else if (v.type === 'I') { w.buf.writeInt32BE(v.value, w.pos); w.pos += 4; }
      else if (v.type === 'i') { w.buf.writeUInt32BE(v.value, w.pos); w.pos += 4; }
      else { w.buf.writeInt16BE(v.value, w.pos); w.pos += 2; }
      return;
    }
    case 'l': case 'L':
      if (typeof v.value === 'bigint' ? v.value < INT64_MIN || v.value > INT64_MAX : !Number.isSafeInteger(v.value)) throw invalid(`'${v.type}' value ${v.value} is not a 64-bit signed integer (a number must be a safe integer)`);
      w.i64(v.value);
      return;
    case 'T':
      if (typeof v.value === 'bigint' ? v.value < 0n || v.value > UINT64_MAX : !Number.isSafeInteger(v.value) || v.value < 0) throw invalid(`'T' value ${v.value} is not a 64-bit unsigned integer (a number must be a safe integer)`);
      w.u64(v.value);
      return;
    case 'f': w.ensure(4); w.buf.writeFloatBE(v.value, w.pos); w.pos += 4; return;
    case 'd': w.ensure(8); w.buf.writeDoubleBE(v.value, w.pos); w.pos += 8; return;
    case 'D':
      if (!Number.isInteger(v.scale) || v.scale < 0 || v.scale > 255) throw invalid(`decimal scale ${v.scale} is not an octet`);
      if (!Number.isInteger(v.value) || v.value < 0 || v.value > 0xffffffff) throw invalid(`decimal value ${v.value} is not an unsigned 32-bit integer`);
      w.u8(v.scale);
      w.u32(v.value);
      return;
    case 'S': case 'x':
      if (!(v.value instanceof Uint8Array)) throw invalid(`'${v.type}' value is not a Buffer`);
      w.longstr(v.value);
      return;
    case 'A': {
      if (depth >= DEFAULT_LIMITS.maxDepth) throw invalid(`nested deeper than ${DEFAULT_LIMITS.maxDepth}`);
      const at = w.reserveLength();
      for (const item of v.value) writeValue(w, item, depth + 1);
      w.patchLength(at);
      return;
    }
    case 'F':
      if (!(v.value instanceof FieldTable)) throw invalid("'F' value is not a FieldTable");
      w.longstr(v.value.raw);
      return;
    case 'V': return;
    default: throw invalid(`unknown field type '${(v as { type: string }).type}'`);
  }
}

function writePlainEntries(w: ByteWriter, obj: { readonly [key: string]: PlainFieldValue }, depth: number): void {
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined) continue;
    w.shortstr(key, 'field table key');
    writePlain(w, v, depth);
  }
}

function writePlain(w: ByteWriter, v: PlainFieldValue, depth: number): void {
  if (v === null || v === undefined) { w.u8(0x56); return; }
  switch (typeof v) {
    case 'boolean': writeValue(w, { type: 't', value: v }, depth); return;
    case 'string': w.u8(0x53); w.ensure(4 + 3 * v.length); { const n = w.buf.write(v, w.pos + 4, 'utf8'); w.buf.writeUInt32BE(n, w.pos); w.pos += 4 + n; } return;
    case 'bigint': writeValue(w, { type: 'l', value: v }, depth); return;
    case 'number':
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) writeValue(w, { type: 'I', value: v }, depth);
      else if (Number.isSafeInteger(v)) writeValue(w, { type: 'l', value: v }, depth);
      else writeValue(w, { type: 'd', value: v }, depth);
      return;
    default: break;
  }
  if (v instanceof FieldTable) { w.u8(TAG_F); w.longstr(v.raw); return; }
  if (v instanceof Uint8Array) { w.u8(0x78); w.longstr(v); return; }
  if (depth >= DEFAULT_LIMITS.maxDepth) throw invalid(`nested deeper than ${DEFAULT_LIMITS.maxDepth}`);
  if (Array.isArray(v)) {
    w.u8(TAG_A);
    const at = w.reserveLength();
    for (const item of v as readonly PlainFieldValue[]) writePlain(w, item, depth + 1);
    w.patchLength(at);
    return;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (typeof v !== 'object' || (proto !== Object.prototype && proto !== null)) throw invalid(`cannot encode a ${typeof v === 'object' ? (v as object).constructor?.name ?? 'object' : typeof v}`);
  w.u8(TAG_F);
  const at = w.reserveLength();
  writePlainEntries(w, v as { readonly [key: string]: PlainFieldValue }, depth + 1);
  w.patchLength(at);
}
