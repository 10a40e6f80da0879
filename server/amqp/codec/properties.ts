// AMQP 0-9-1 content headers: class id, weight, body size, then the basic properties as one
// property-flags word and the present properties in flag order [AMQP 0-9-1 §4.2.6.1], read and written
// by walking BASIC_PROPERTIES from the generated spec.
import { fail, type CeleriacError } from '../../../shared/errors.js';
import { ByteWriter, Reader, readU64, utf8 } from './bytes.js';
import { FieldTable } from './field-table.js';
import { BASIC_PROPERTIES, CLASS, type BasicProperties } from './spec.js';

/**
 * The flag bits basic does not use: bit 1 names no property (basic has 14, bits 15..2) and bit 0
 * would announce a second flags word, which only a class with more than 15 properties needs.
 */
const UNUSED_FLAGS = 0x0003;

/** The property names in flag order, as decodeProperties reads them; checked against the spec at load. */
const ORDER = ['contentType', 'contentEncoding', 'headers', 'deliveryMode', 'priority', 'correlationId', 'replyTo', 'expiration', 'messageId', 'timestamp', 'type', 'userId', 'appId', 'clusterId'];
if (BASIC_PROPERTIES.map((p) => p.name).join() !== ORDER.join()) throw new Error('properties.ts: BASIC_PROPERTIES no longer matches the decoder\'s order; update decodeProperties');

/**
 * Decodes the property flags and list, bytes [start, end) of `buf`. Every key of BasicProperties
 * is present in the result (undefined when absent), so all results share one shape. Headers stay
 * a view of `buf` (FieldTable). Throws ERR_AMQP_FRAME / ERR_AMQP_SYNTAX.
 */
export function decodeProperties(buf: Buffer, start: number, end: number, maxDepth: number): BasicProperties {
  return decodeUnrolled(buf, start, end, maxDepth) ?? decodePropertiesBySpec(buf, start, end, maxDepth);
}

/** Where the short string at `p` ends, or -1 when it runs past `end`. */
function strEnd(buf: Buffer, p: number, end: number): number {
  if (p >= end) return -1;
  const e = p + 1 + buf[p]!;
  return e > end ? -1 : e;
}

function str(buf: Buffer, p: number, e: number): string {
  return e === p + 1 ? '' : utf8(buf, p + 1, e);
}

/**
 * The properties read flag by flag without a loop or a reader, as this runs for every message
 * published; undefined when anything is amiss, for the table's decoder to find and name.
 */
function decodeUnrolled(buf: Buffer, start: number, end: number, maxDepth: number): BasicProperties | undefined {
  if (end - start < 2) return undefined;
  const flags = (buf[start]! << 8) | buf[start + 1]!;
  if ((flags & UNUSED_FLAGS) !== 0) return undefined;
  let p = start + 2;
  let e: number;
  let contentType, contentEncoding, headers, deliveryMode, priority, correlationId, replyTo, expiration, messageId, timestamp, type, userId, appId, clusterId;
  if (flags & 0x8000) { if ((e = strEnd(buf, p, end)) < 0) return undefined; contentType = str(buf, p, e); p = e; }
  if (flags & 0x4000) { if ((e = strEnd(buf, p, end)) < 0) return undefined; contentEncoding = str(buf, p, e); p = e; }
  if (flags & 0x2000) {
    if (end - p < 4) return undefined;
    const n = buf.readUInt32BE(p);
    if (end - p - 4 < n) return undefined;
    headers = FieldTable.decode(buf.subarray(p + 4, p + 4 + n), maxDepth, 'headers', HEADER_DETAILS);
    p += 4 + n;
  }
  if (flags & 0x1000) { if (p >= end) return undefined; deliveryMode = buf[p++]; }
  if (flags & 0x0800) { if (p >= end) return undefined; priority = buf[p++]; }
  if (flags & 0x0400) { if ((e = strEnd(buf, p, end)) < 0) return undefined; correlationId = str(buf, p, e); p = e; }
  if (flags & 0x0200) { if ((e = strEnd(buf, p, end)) < 0) return undefined; replyTo = str(buf, p, e); p = e; }
  if (flags & 0x0100) { if ((e = strEnd(buf, p, end)) < 0) return undefined; expiration = str(buf, p, e); p = e; }
  if (flags & 0x0080) { if ((e = strEnd(buf, p, end)) < 0) return undefined; messageId = str(buf, p, e); p = e; }
  if (flags & 0x0040) { if (end - p < 8) return undefined; timestamp = readU64(buf, p); p += 8; }
  if (flags & 0x0020) { if ((e = strEnd(buf, p, end)) < 0) return undefined; type = str(buf, p, e); p = e; }
  if (flags & 0x0010) { if ((e = strEnd(buf, p, end)) < 0) return undefined; userId = str(buf, p, e); p = e; }
  if (flags & 0x0008) { if ((e = strEnd(buf, p, end)) < 0) return undefined; appId = str(buf, p, e); p = e; }
  if (flags & 0x0004) { if ((e = strEnd(buf, p, end)) < 0) return undefined; clusterId = str(buf, p, e); p = e; }
  if (p !== end) return undefined;
  return { contentType, contentEncoding, headers, deliveryMode, priority, correlationId, replyTo, expiration, messageId, timestamp, type, userId, appId, clusterId };
}

const HEADER_DETAILS = Object.freeze({ classId: CLASS.basic });

/**
 * The table-driven decoder of the property flags and list: decodeProperties without its unrolled
 * path (which falls back to it to name a fault; the tests hold the two to the same results).
 */
export function decodePropertiesBySpec(buf: Buffer, start: number, end: number, maxDepth: number): BasicProperties {
  const r = new Reader(buf, start, end, 'content header', { classId: CLASS.basic });
  const flags = r.u16('the property flags');
  if ((flags & UNUSED_FLAGS) !== 0) throw r.error('ERR_AMQP_SYNTAX', `property flags 0x${flags.toString(16).padStart(4, '0')} set bits basic has no property for`);
  const props: Record<string, unknown> = {
    contentType: undefined, contentEncoding: undefined, headers: undefined, deliveryMode: undefined, priority: undefined,
    correlationId: undefined, replyTo: undefined, expiration: undefined, messageId: undefined, timestamp: undefined,
    type: undefined, userId: undefined, appId: undefined, clusterId: undefined,
  };
  for (let i = 0; i < BASIC_PROPERTIES.length; i++) {
    if ((flags & (0x8000 >>> i)) === 0) continue;
    const p = BASIC_PROPERTIES[i]!;
    switch (p.type) {
      case 'shortstr': props[p.name] = r.shortstr(p.name); break;
      case 'octet': props[p.name] = r.u8(p.name); break;
      case 'timestamp': props[p.name] = r.u64(p.name); break;
      case 'table': props[p.name] = FieldTable.decode(r.longstr(p.name), maxDepth, p.name, { classId: CLASS.basic }); break;
      default: throw new Error(`unreachable: basic has no ${p.type} property`);
    }
  }
  if (r.pos !== end) throw r.error('ERR_AMQP_FRAME', `${end - r.pos} bytes after the last property`);
  return props as BasicProperties;
}

/** Writes the property flags and list. Throws ERR_INVALID_ARGUMENT for an ill-typed property. */
export function writeProperties(w: ByteWriter, props: BasicProperties): void {
  const given = props as Record<string, unknown>;
  w.ensure(2);
  const flagsMark = w.mark();
  w.pos += 2;
  let flags = 0;
  for (let i = 0; i < BASIC_PROPERTIES.length; i++) {
    const p = BASIC_PROPERTIES[i]!;
    const v = given[p.name];
    if (v === undefined) continue;
    flags |= 0x8000 >>> i;
    switch (p.type) {
      case 'shortstr':
        if (typeof v !== 'string') throw badProperty(p.name, 'a string', v);
        w.shortstr(v, p.name);
        break;
      case 'octet':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) throw badProperty(p.name, 'an integer in [0, 255]', v);
        w.u8(v);
        break;
      case 'timestamp':
        if (typeof v === 'bigint' ? v < 0n || v >= 2n ** 64n : typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw badProperty(p.name, 'a safe non-negative integer or a bigint below 2^64', v);
        w.u64(v as number | bigint);
        break;
      case 'table':
        if (!(v instanceof FieldTable)) throw badProperty(p.name, 'a FieldTable', v);
        w.longstr(v.raw);
        break;
      default: throw new Error(`unreachable: basic has no ${p.type} property`);
    }
  }
  const at = w.offsetOf(flagsMark);
  w.buf[at] = flags >>> 8;
  w.buf[at + 1] = flags & 0xff;
}

function badProperty(name: string, want: string, v: unknown): CeleriacError {
  return fail('ERR_INVALID_ARGUMENT', `basic property '${name}' must be ${want}, not ${typeof v}`);
}
