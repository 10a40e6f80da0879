// AMQP 0-9-1 method payloads <-> typed methods, interpreting the generated table in spec.ts.
// basic.publish, ack, nack and reject, the methods every message costs, have decoders of their own
// that build the method in one object literal; anything unusual in them falls back to the table's
// decoder, which finds and names the fault.
import { fail, type CeleriacError } from '../../../shared/errors.js';
import { ByteWriter, Reader, utf8 } from './bytes.js';
import { FieldTable } from './field-table.js';
import { CLASS, METHODS, METHOD_ID, type ArgSpec, type Method, type MethodInput, type MethodName, type MethodOf, type MethodSpec, type WireType } from './spec.js';

/** Every method by its 32-bit id. */
export const METHOD_BY_ID: ReadonlyMap<number, MethodSpec> = new Map(METHODS.map((m) => [m.id, m]));
/** Every method by name (a prototype-less object: a name like 'constructor' finds nothing). */
export const METHOD_BY_NAME: Readonly<Record<MethodName, MethodSpec>> = Object.assign(Object.create(null) as Record<MethodName, MethodSpec>, Object.fromEntries(METHODS.map((m) => [m.name, m])));
const CLASS_IDS: ReadonlySet<number> = new Set(Object.values(CLASS));

/** The spec's defaults as encoder values: longstr defaults as bytes, the empty table as FieldTable.EMPTY. */
const DEFAULTS: ReadonlyMap<ArgSpec, unknown> = new Map(METHODS.flatMap((m) => m.args.filter((a) => a.default !== undefined).map((a) => [a, defaultValue(a)] as const)));

function defaultValue(a: ArgSpec): unknown {
  if (a.default === 'empty-table') return FieldTable.EMPTY;
  if (a.type === 'longstr') return Buffer.from(a.default as string, 'utf8');
  return a.default;
}

const ID_PUBLISH = METHOD_ID['basic.publish'];
const ID_ACK = METHOD_ID['basic.ack'];
const ID_NACK = METHOD_ID['basic.nack'];
const ID_REJECT = METHOD_ID['basic.reject'];
const TWO_32 = 4294967296;

/**
 * The error for a method id the table lacks: a class this server does not know is functionality it
 * does not implement (540 not-implemented); a known class with an unknown method id names no
 * command at all (503 command-invalid).
 */
export function unknownMethodError(id: number): CeleriacError {
  const classId = id >>> 16;
  const methodId = id & 0xffff;
  if (CLASS_IDS.has(classId)) return fail('ERR_AMQP_COMMAND_INVALID', `class ${classId} has no method ${methodId}`, { classId, methodId });
  return fail('ERR_AMQP_NOT_IMPLEMENTED', `class ${classId} is not an AMQP 0-9-1 class this server implements (method ${methodId})`, { classId, methodId });
}

/**
 * Decodes a method frame's payload, bytes [start, end) of `buf`: the 32-bit method id, then its
 * arguments. Strings are decoded, longstr and table bytes stay views of `buf`. Throws a coded
 * CeleriacError (ERR_AMQP_FRAME, _SYNTAX, _COMMAND_INVALID, _NOT_IMPLEMENTED) whose details carry
 * classId and methodId when the id was read.
 */
export function decodeMethod(buf: Buffer, start: number, end: number, maxDepth: number): Method {
  if (end - start < 4) throw fail('ERR_AMQP_FRAME', `a method frame of ${end - start} bytes, too short for a method id`);
  const id = buf.readUInt32BE(start);
  const p = start + 4;
  let fast: Method | undefined;
  switch (id) {
    case ID_PUBLISH: fast = decodePublish(buf, p, end); break;
    case ID_ACK: fast = decodeAck(buf, p, end); break;
    case ID_NACK: fast = decodeNack(buf, p, end); break;
    case ID_REJECT: fast = decodeReject(buf, p, end); break;
    default: break;
  }
  return fast ?? decodeMethodBySpec(buf, id, p, end, maxDepth);
}

/** basic.publish: ticket, exchange, routing-key, then mandatory and immediate in one octet. */
function decodePublish(buf: Buffer, p: number, end: number): MethodOf<'basic.publish'> | undefined {
  if (end - p < 5) return undefined;
  const ticket = (buf[p]! << 8) | buf[p + 1]!;
  let n = buf[p + 2]!;
  let q = p + 3;
  if (end - q < n + 2) return undefined;
  const exchange = n === 0 ? '' : utf8(buf, q, q + n);
  q += n;
  n = buf[q++]!;
  if (end - q !== n + 1) return undefined;
  const routingKey = n === 0 ? '' : utf8(buf, q, q + n);
  const bits = buf[q + n]!;
  return { name: 'basic.publish', ticket, exchange, routingKey, mandatory: (bits & 1) !== 0, immediate: (bits & 2) !== 0 };
}

/** A delivery tag as a number, or undefined past 2^53 - 1 (the table's decoder then names the fault). */
function tagAt(buf: Buffer, p: number): number | undefined {
  const hi = buf.readUInt32BE(p);
  return hi < 0x200000 ? hi * TWO_32 + buf.readUInt32BE(p + 4) : undefined;
}

function decodeAck(buf: Buffer, p: number, end: number): MethodOf<'basic.ack'> | undefined {
  if (end - p !== 9) return undefined;
  const deliveryTag = tagAt(buf, p);
  if (deliveryTag === undefined) return undefined;
  return { name: 'basic.ack', deliveryTag, multiple: (buf[p + 8]! & 1) !== 0 };
}

function decodeNack(buf: Buffer, p: number, end: number): MethodOf<'basic.nack'> | undefined {
  if (end - p !== 9) return undefined;
  const deliveryTag = tagAt(buf, p);
  if (deliveryTag === undefined) return undefined;
  const bits = buf[p + 8]!;
  return { name: 'basic.nack', deliveryTag, multiple: (bits & 1) !== 0, requeue: (bits & 2) !== 0 };
}

function decodeReject(buf: Buffer, p: number, end: number): MethodOf<'basic.reject'> | undefined {
  if (end - p !== 9) return undefined;
  const deliveryTag = tagAt(buf, p);
  if (deliveryTag === undefined) return undefined;
  return { name: 'basic.reject', deliveryTag, requeue: (buf[p + 8]! & 1) !== 0 };
}

/**
 * The table-driven decoder of the arguments at [p, end) of the method `id` (decodeMethod without
 * its fast paths; the tests hold those to it). Consecutive bit arguments share octets, least
 * significant bit first [AMQP 0-9-1 §4.2.5.2]; bits of an octet that no argument names are
 * ignored, as RabbitMQ does.
 */
export function decodeMethodBySpec(buf: Buffer, id: number, p: number, end: number, maxDepth: number): Method {
  const spec = METHOD_BY_ID.get(id);
  if (spec === undefined) throw unknownMethodError(id);
  const r = new Reader(buf, p, end, spec.name, { classId: spec.classId, methodId: spec.methodId });
  const m: Record<string, unknown> = { name: spec.name };
  let bits = 0;
  let bit = 8; // 8: the next bit argument opens a new octet
  for (const a of spec.args) {
    if (a.type === 'bit') {
      if (bit === 8) {
        bits = r.u8(a.name);
        bit = 0;
      }
      m[a.name] = ((bits >> bit++) & 1) === 1;
      continue;
    }
    bit = 8;
    m[a.name] = readArg(r, a, maxDepth);
  }
  if (r.pos !== end) throw r.error('ERR_AMQP_FRAME', `${end - r.pos} bytes after the last argument`);
  return m as unknown as Method;
}

function readArg(r: Reader, a: ArgSpec, maxDepth: number): unknown {
  switch (a.type) {
    case 'octet': return r.u8(a.name);
    case 'short': return r.u16(a.name);
    case 'long': return r.u32(a.name);
    case 'longlong': case 'timestamp': {
      const v = r.u64(a.name);
      // Delivery tags are the only 64-bit arguments; this server issues them from 1 up, as numbers.
      if (typeof v === 'bigint') throw r.error('ERR_AMQP_SYNTAX', `${a.name} ${v} is past 2^53 - 1, never one this server issued`);
      return v;
    }
    case 'shortstr': return r.shortstr(a.name);
    case 'longstr': return r.longstr(a.name);
    case 'table': return FieldTable.decode(r.longstr(a.name), maxDepth, `${r.what} ${a.name}`, r.details);
    case 'bit': throw new Error('unreachable: bits are read by decodeMethodBySpec');
  }
}

/** Writes a method's 32-bit id and arguments (the payload of its method frame). Throws ERR_INVALID_ARGUMENT for a missing or ill-typed argument. */
export function writeMethod(w: ByteWriter, method: MethodInput): void {
  const spec = METHOD_BY_NAME[method.name];
  if (spec === undefined) throw fail('ERR_INVALID_ARGUMENT', `no AMQP 0-9-1 method is named '${String(method.name)}'`);
  w.u32(spec.id);
  const given = method as unknown as Record<string, unknown>;
  let bits = 0;
  let bit = 0;
  for (const a of spec.args) {
    let v = given[a.name];
    if (v === undefined) v = DEFAULTS.get(a);
    if (v === undefined) throw fail('ERR_INVALID_ARGUMENT', `${spec.name}: argument '${a.name}' is missing`);
    if (a.type === 'bit') {
      if (typeof v !== 'boolean') throw badArg(spec, a, v);
      if (v) bits |= 1 << bit;
      if (++bit === 8) { w.u8(bits); bits = 0; bit = 0; }
      continue;
    }
    if (bit > 0) { w.u8(bits); bits = 0; bit = 0; }
    writeArg(w, spec, a, v);
  }
  if (bit > 0) w.u8(bits);
}

const INT_MAX: Partial<Record<WireType, number>> = { octet: 0xff, short: 0xffff, long: 0xffffffff, longlong: Number.MAX_SAFE_INTEGER, timestamp: Number.MAX_SAFE_INTEGER };

function writeArg(w: ByteWriter, spec: MethodSpec, a: ArgSpec, v: unknown): void {
  switch (a.type) {
    case 'octet': case 'short': case 'long': case 'longlong': case 'timestamp':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > INT_MAX[a.type]!) throw badArg(spec, a, v);
      if (a.type === 'octet') w.u8(v);
      else if (a.type === 'short') w.u16(v);
      else if (a.type === 'long') w.u32(v);
      else w.u64(v);
      return;
    case 'shortstr':
      if (typeof v !== 'string') throw badArg(spec, a, v);
      w.shortstr(v, `${spec.name} ${a.name}`);
      return;
    case 'longstr':
      if (!(v instanceof Uint8Array)) throw badArg(spec, a, v);
      w.longstr(v);
      return;
    case 'table':
      if (!(v instanceof FieldTable)) throw badArg(spec, a, v);
      w.longstr(v.raw);
      return;
    case 'bit': throw new Error('unreachable: bits are written by writeMethod');
  }
}

function badArg(spec: MethodSpec, a: ArgSpec, v: unknown): CeleriacError {
  const want = { bit: 'a boolean', octet: 'an integer in [0, 255]', short: 'an integer in [0, 65535]', long: 'an integer in [0, 2^32 - 1]', longlong: 'a safe non-negative integer', timestamp: 'a safe non-negative integer', shortstr: 'a string', longstr: 'a Buffer', table: 'a FieldTable' }[a.type];
  return fail('ERR_INVALID_ARGUMENT', `${spec.name}: argument '${a.name}' must be ${want}, not ${typeof v === 'object' ? (v === null ? 'null' : v.constructor?.name ?? 'object') : `${typeof v} ${String(v)}`}`);
}
