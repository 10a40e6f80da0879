// AMQP 0-9-1 content headers: class id, weight, body size, then the basic properties as one
// property-flags word and the present properties in flag order [AMQP 0-9-1 §4.2.6.1], read and written
// by walking BASIC_PROPERTIES from the generated spec.
import { fail, type CeleriacError } from '../../../shared/errors.js';
import { ByteWriter, Reader } from './bytes.js';
import { FieldTable } from './field-table.js';
import { BASIC_PROPERTIES, CLASS, type BasicProperties } from './spec.js';

/**
 * The flag bits basic does not use: bit 1 names no property (basic has 14, bits 15..2) and bit 0
 * would announce a second flags word, which only a class with more than 15 properties needs.
 */
const UNUSED_FLAGS = 0x0003;

/**
 * Decodes the property flags and list, bytes [start, end) of `buf`. Every key of BasicProperties
 * is present in the result (undefined when absent), so all results share one shape. Headers stay
 * a view of `buf` (FieldTable). Throws ERR_AMQP_FRAME / ERR_AMQP_SYNTAX.
 */
export function decodeProperties(buf: Buffer, start: number, end: number, maxDepth: number): BasicProperties {
  const r = new Reader(buf, start, end, 'content header', { classId: CLASS.basic });
  const flags = r.u16('the property flags');
  if ((flags & UNUSED_FLAGS) !== 0) throw r.error('ERR_AMQP_SYNTAX', `property flags 0x${flags.toString(16).padStart(4, '0')} set bits basic has no property for`);
  const props: Record<string, unknown> = {
    contentType: undefined, contentEncoding: undefined, headers: undefined, deliveryMode: undefined, priority: undefined,
    correlationId: undefined, replyTo: undefined, expiration: undefined, messageId: undefined, timestamp: undefined,
    type: undefined, userId: undefined, appId: undefined, clusterId: undefined,
  };
  if (flags !== 0) {
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
