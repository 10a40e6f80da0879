// The codec against a real client's codec, without a server: amqplib's own generated encoders and
// decoders (node_modules/amqplib/lib/defs.js, codec.js, frame.js) for every method amqplib knows and
// for basic properties. Same input, the same bytes from both; each decodes what the other encoded.
import t from 'tap';
import { createRequire } from 'node:module';
import { ByteWriter } from '../../server/amqp/codec/bytes.js';
import { encodeMethodFrame, writeContent, writeDeliver, writeMethodFrame } from '../../server/amqp/codec/encode.js';
import { FieldTable, type FieldEntry, type FieldValue } from '../../server/amqp/codec/field-table.js';
import { decodeFrames, type Frame } from '../../server/amqp/codec/frames.js';
import { METHOD_BY_ID } from '../../server/amqp/codec/methods.js';
import { METHODS, type BasicProperties, type MethodInput } from '../../server/amqp/codec/spec.js';
import { rng } from '../helpers/rng.js';
import { comparableFields, int, pick, randomBytes, randomEntries, randomMethod, randomProperties, randomString, type Rand } from './codec-helpers.js';

interface AmqplibArg { type: string; name: string; default?: unknown }
interface AmqplibInfo { id: number; classId: number; methodId: number; name: string; args: AmqplibArg[] }
interface AmqplibDefs {
  encodeMethod(id: number, channel: number, fields: object): Buffer;
  encodeProperties(id: number, channel: number, size: number, fields: object): Buffer;
  decode(id: number, buf: Buffer): Record<string, unknown>;
  info(id: number): AmqplibInfo;
  [key: string]: unknown;
}
interface AmqplibFrame {
  parseFrame(bin: Buffer): false | { type: number; channel: number; size: number; payload: Buffer; rest: Buffer };
  decodeFrame(frame: { type: number; channel: number; payload: Buffer }): Record<string, unknown>;
}

const require = createRequire(import.meta.url);
const defs = require('amqplib/lib/defs') as AmqplibDefs;
const amqpFrame = require('amqplib/lib/frame') as AmqplibFrame;
const AMQPLIB_INFOS = Object.keys(defs).filter((k) => k.startsWith('methodInfo')).map((k) => defs[k] as AmqplibInfo);

/** The tags amqplib can both write (through its {'!': type} notation) and read: all but U and L. */
const AMQPLIB_TAGS = ['t', 'b', 'B', 's', 'u', 'I', 'i', 'l', 'f', 'd', 'D', 'T', 'S', 'x', 'A', 'F', 'V'] as const;
const AMQPLIB_TYPE: Record<string, string> = { b: 'int8', B: 'uint8', s: 'int16', u: 'uint16', I: 'int32', i: 'uint32', l: 'int64', T: 'timestamp', f: 'float', d: 'double' };

/**
 * Entries amqplib can carry: 64-bit values it reads exactly (safe integers), long strings that are
 * UTF-8 (it writes strings), keys unique and not integer-like (a JavaScript object would reorder them).
 */
function tame(r: Rand, entries: readonly FieldEntry[]): FieldEntry[] {
  const value = (v: FieldValue): FieldValue => {
    switch (v.type) {
      case 'l': return typeof v.value === 'bigint' ? { type: 'l', value: int(r, -1e15, 1e15) } : v;
      case 'T': return typeof v.value === 'bigint' ? { type: 'T', value: int(r, 0, 2 ** 52) } : v;
      case 'S': return { type: 'S', value: Buffer.from(randomString(r, 200)) };
      case 'A': return { type: 'A', value: v.value.map(value) };
      case 'F': return { type: 'F', value: FieldTable.fromEntries(tame(r, v.value.entries())) };
      default: return v;
    }
  };
  const seen = new Set<string>();
  return entries.filter(([k]) => !seen.has(k) && seen.add(k)).map(([k, v]) => [`k${k}`, value(v)] as const);
}

function tameTable(r: Rand, table: FieldTable): FieldTable {
  return FieldTable.fromEntries(tame(r, table.entries()));
}

/** Our method or properties with every table tamed. */
function tameFields<T extends object>(r: Rand, obj: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = v instanceof FieldTable ? tameTable(r, v) : v;
  return out as T;
}

/** A table in amqplib's input notation: each value typed with {'!': type, value}. */
function amqplibInput(table: FieldTable): Record<string, unknown> {
  const value = (v: FieldValue): unknown => {
    switch (v.type) {
      case 't': return v.value;
      case 'S': return v.value.toString('utf8');
      case 'x': return v.value;
      case 'V': return null;
      case 'D': return { '!': 'decimal', value: { places: v.scale, digits: v.value } };
      case 'A': return v.value.map(value);
      case 'F': return amqplibInput(v.value);
      case 'U': case 'L': throw new Error('amqplib cannot write U or L');
      default: return { '!': AMQPLIB_TYPE[v.type], value: v.value };
    }
  };
  return Object.fromEntries(table.entries().map(([k, v]) => [k, value(v)]));
}

/** A table as amqplib decodes one (lib/codec.js decodeFields). */
function amqplibView(table: FieldTable): Record<string, unknown> {
  const value = (v: FieldValue): unknown => {
    switch (v.type) {
      case 'S': return v.value.toString('utf8');
      case 'x': return v.value;
      case 'V': return null;
      case 'T': return { '!': 'timestamp', value: v.value };
      case 'D': return { '!': 'decimal', value: { places: v.scale, digits: v.value } };
      case 'A': return v.value.map(value);
      case 'F': return amqplibView(v.value);
      default: return v.value;
    }
  };
  const out: Record<string, unknown> = {};
  for (const [k, v] of table.entries()) out[k] = value(v);
  return out;
}

/** Method fields or properties with tables mapped by `f` and buffers as hex, comparable with tap. */
function fieldsVia(obj: object, f: (t: FieldTable) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (k !== 'name' && v !== undefined) out[k] = v instanceof FieldTable ? norm(f(v)) : norm(v);
  return out;
}

function norm(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return { hex: v.toString('hex') };
  if (Array.isArray(v)) return v.map(norm);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, norm(x)]));
  return v;
}

const pascal = (name: string): string => name.split(/[.-]/).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');

t.test("amqplib's method table and ours agree: ids, names, argument names, types and defaults", async (t) => {
  t.equal(AMQPLIB_INFOS.length, METHODS.length, 'as many methods');
  for (const info of AMQPLIB_INFOS) {
    const ours = METHOD_BY_ID.get(info.id);
    if (!t.ok(ours, `${info.name} (${info.classId}/${info.methodId}) is in our table`)) continue;
    t.equal(pascal(ours!.name), info.name);
    t.strictSame(ours!.args.map((a) => [a.name, a.type]), info.args.map((a) => [a.name, a.type]), `${info.name}: arguments`);
    const theirDefaults = info.args.map((a) => (a.type === 'table' && a.default !== undefined ? 'empty-table' : a.default));
    t.strictSame(ours!.args.map((a) => a.default), theirDefaults, `${info.name}: defaults`);
  }
});

t.test('every method amqplib knows: the same bytes from both encoders, and each decodes the other', async (t) => {
  const r = rng(2024);
  for (const info of AMQPLIB_INFOS) {
    const spec = METHOD_BY_ID.get(info.id)!;
    for (let i = 0; i < 20; i++) {
      const method = tameFields(r, randomMethod(r, spec, AMQPLIB_TAGS));
      const channel = int(r, 0, 65535);
      const theirInput: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(method)) if (k !== 'name') theirInput[k] = v instanceof FieldTable ? amqplibInput(v) : v;
      const theirs = defs.encodeMethod(info.id, channel, theirInput);
      const ours = encodeMethodFrame(channel, method);
      if (!t.equal(ours.toString('hex'), theirs.toString('hex'), `${info.name} #${i}: the same bytes`)) return;
      // We decode amqplib's bytes to our input...
      const res = decodeFrames(theirs, { frameMax: 0 });
      const frame = res.frames[0];
      if (!t.ok(frame?.type === 'method', `${info.name} #${i}: decoded`)) return;
      if (!t.strictSame(comparableFields((frame as Extract<Frame, { type: 'method' }>).method), comparableFields(method), `${info.name} #${i}: our decode of amqplib's bytes`)) return;
      // ...and amqplib decodes ours to the same fields.
      const decoded = defs.decode(info.id, ours.subarray(11, ours.length - 1));
      if (!t.strictSame(norm(decoded), fieldsVia(method, amqplibView), `${info.name} #${i}: amqplib's decode of our bytes`)) return;
    }
  }
});

t.test('basic properties: the same header frame from both, each decodes the other', async (t) => {
  const r = rng(77);
  for (let i = 0; i < 400; i++) {
    const props = tameFields(r, randomProperties(r, AMQPLIB_TAGS)) as BasicProperties & Record<string, unknown>;
    if (typeof props.timestamp === 'bigint') props.timestamp = int(r, 0, 2 ** 52);
    const size = int(r, 0, 2 ** 40);
    const theirInput: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(props)) theirInput[k] = v instanceof FieldTable ? amqplibInput(v) : v;
    const theirs = defs.encodeProperties(60, 3, size, theirInput);
    const w = new ByteWriter();
    writeContent(w, 3, props, Buffer.alloc(Math.min(size, 1)), 0);
    const ours = Buffer.from(w.take().subarray(0, theirs.length));
    ours.writeUInt32BE(Math.floor(size / 2 ** 32), 11); // our body was 0 or 1 byte: give the header amqplib's size
    ours.writeUInt32BE(size % 2 ** 32, 15);
    if (!t.equal(ours.toString('hex'), theirs.toString('hex'), `#${i}: the same header frame`)) return;
    const res = decodeFrames(theirs, { frameMax: 0 });
    const header = res.frames[0];
    if (header?.type !== 'header') return t.fail(`#${i}: not decoded: ${res.error?.message}`);
    t.equal(header.bodySize, size);
    if (!t.strictSame(comparableFields(header.properties), comparableFields(props), `#${i}: our decode of amqplib's header`)) return;
    const decoded = defs.decode(60, theirs.subarray(19, theirs.length - 1));
    if (!t.strictSame(norm(decoded), fieldsVia(props, amqplibView), `#${i}: amqplib's decode of our properties`)) return;
  }
});

t.test("amqplib's frame parser reads our frame streams: deliveries split by frame-max, methods, heartbeats", async (t) => {
  const r = rng(31);
  const w = new ByteWriter(4096);
  const sent: { kind: string; method?: MethodInput; props?: BasicProperties; body?: Buffer }[] = [];
  for (let i = 0; i < 300; i++) {
    const roll = r();
    if (roll < 0.2) {
      w.bytes(Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]));
      sent.push({ kind: 'heartbeat' });
    } else if (roll < 0.6) {
      const props = tameFields(r, randomProperties(r, AMQPLIB_TAGS));
      if (typeof props.timestamp === 'bigint') props.timestamp = 1;
      const body = randomBytes(r, 10_000);
      const method: MethodInput = { name: 'basic.deliver', consumerTag: 'c' + i, deliveryTag: int(r, 1, 2 ** 50), redelivered: r() < 0.5, exchange: 'ex', routingKey: 'rk.' + i };
      writeDeliver(w, 2, method.consumerTag, method.deliveryTag, method.redelivered!, method.exchange, method.routingKey, props, body, pick(r, [4096, 0, 131072]));
      sent.push({ kind: 'deliver', method, props, body });
    } else {
      const method = tameFields(r, randomMethod(r, pick(r, METHODS), AMQPLIB_TAGS));
      writeMethodFrame(w, 2, method);
      sent.push({ kind: 'method', method });
    }
  }
  let rest: Buffer = w.take();
  const got: Record<string, unknown>[] = [];
  for (let parsed = amqpFrame.parseFrame(rest); parsed !== false; parsed = amqpFrame.parseFrame(rest)) {
    got.push(amqpFrame.decodeFrame(parsed));
    rest = parsed.rest;
  }
  t.equal(rest.length, 0, 'amqplib read every byte');
  let at = 0;
  for (const s of sent) {
    if (s.kind === 'heartbeat') { t.equal(got[at++]!.channel, 0); continue; }
    const m = got[at++]!;
    t.strictSame(norm(m.fields), fieldsVia(s.method!, amqplibView), `${s.method!.name}: fields`);
    if (s.kind !== 'deliver') continue;
    const header = got[at++]!;
    t.strictSame(norm(header.fields), fieldsVia(s.props!, amqplibView), 'deliver: properties');
    t.equal(header.size, s.body!.length);
    const chunks: Buffer[] = [];
    while (chunks.reduce((n, c) => n + c.length, 0) < s.body!.length) chunks.push(got[at++]!.content as Buffer);
    t.ok(Buffer.concat(chunks).equals(s.body!), 'deliver: body');
  }
  t.equal(at, got.length, 'nothing more');
});

t.test('tables of every tag amqplib knows, written by amqplib inside queue.declare, read back exactly', async (t) => {
  const r = rng(123);
  for (let i = 0; i < 200; i++) {
    const table = FieldTable.fromEntries(tame(r, randomEntries(r, AMQPLIB_TAGS, 3, int(r, 1, 10))));
    const theirs = defs.encodeMethod(defs.QueueDeclare as number, 1, { queue: 'q', arguments: amqplibInput(table) });
    const res = decodeFrames(theirs, { frameMax: 0 });
    const m = res.frames[0];
    if (m?.type !== 'method' || m.method.name !== 'queue.declare') return t.fail(`#${i}: ${res.error?.message}`);
    if (!t.equal(m.method.arguments.raw.toString('hex'), table.raw.toString('hex'), `#${i}: the table amqplib wrote is the one we would`)) return;
    t.strictSame(norm(m.method.arguments.toObject()), norm(plainLikeUs(amqplibView(table))), `#${i}: plain view`);
  }
});

/** amqplib's decoded view with its timestamp and decimal wrappers unwrapped as our toObject() gives them. */
function plainLikeUs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainLikeUs);
  if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
    const o = v as Record<string, unknown>;
    if (o['!'] === 'timestamp') return o.value;
    if (o['!'] === 'decimal') { const d = o.value as { places: number; digits: number }; return d.digits / 10 ** d.places; }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plainLikeUs(x)]));
  }
  return v;
}
