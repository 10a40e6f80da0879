// AMQP 0-9-1 methods: the generated table (in step with its generator, every method the clients use),
// known bytes with bit packing, seeded round trips of every method, the fast decoders held to the
// table's, truncated and overlong arguments, unknown ids, and what the encoder refuses.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ByteWriter } from '../../server/amqp/codec/bytes.js';
import { encodeMethodFrame } from '../../server/amqp/codec/encode.js';
import { FieldTable } from '../../server/amqp/codec/field-table.js';
import { decodeFrames } from '../../server/amqp/codec/frames.js';
import { METHOD_BY_NAME, decodeMethod, decodeMethodBySpec, writeMethod } from '../../server/amqp/codec/methods.js';
import { METHODS, METHOD_ID, type Method, type MethodInput, type MethodName } from '../../server/amqp/codec/spec.js';
import { rng } from '../helpers/rng.js';
import { codeOf, comparableFields, int, randomMethod } from './codec-helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const hex = (b: Buffer): string => b.toString('hex');

/** Decodes one frame that must be a method frame. */
function decodeOne(frame: Buffer): Method {
  const res = decodeFrames(frame, { frameMax: 0 });
  if (res.error) throw res.error;
  if (res.frames.length !== 1 || res.frames[0]!.type !== 'method' || res.consumed !== frame.length) throw new Error(`not one method frame: ${hex(frame)}`);
  return res.frames[0]!.method;
}

/** A method frame on channel 1 around `payload` (a method id and arguments). */
function methodFrame(payload: Buffer): Buffer {
  const head = Buffer.from([1, 0, 1, 0, 0, 0, 0]);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([0xce])]);
}

t.test('the table holds every method amqplib and py-amqp use, with the spec ids', async (t) => {
  const want: Record<string, [number, number]> = {
    'connection.start': [10, 10], 'connection.start-ok': [10, 11], 'connection.secure': [10, 20], 'connection.secure-ok': [10, 21],
    'connection.tune': [10, 30], 'connection.tune-ok': [10, 31], 'connection.open': [10, 40], 'connection.open-ok': [10, 41],
    'connection.close': [10, 50], 'connection.close-ok': [10, 51], 'connection.blocked': [10, 60], 'connection.unblocked': [10, 61],
    'connection.update-secret': [10, 70], 'connection.update-secret-ok': [10, 71],
    'channel.open': [20, 10], 'channel.open-ok': [20, 11], 'channel.flow': [20, 20], 'channel.flow-ok': [20, 21], 'channel.close': [20, 40], 'channel.close-ok': [20, 41],
    'exchange.declare': [40, 10], 'exchange.declare-ok': [40, 11], 'exchange.delete': [40, 20], 'exchange.delete-ok': [40, 21],
    'exchange.bind': [40, 30], 'exchange.bind-ok': [40, 31], 'exchange.unbind': [40, 40], 'exchange.unbind-ok': [40, 51],
    'queue.declare': [50, 10], 'queue.declare-ok': [50, 11], 'queue.bind': [50, 20], 'queue.bind-ok': [50, 21], 'queue.purge': [50, 30], 'queue.purge-ok': [50, 31],
    'queue.delete': [50, 40], 'queue.delete-ok': [50, 41], 'queue.unbind': [50, 50], 'queue.unbind-ok': [50, 51],
    'basic.qos': [60, 10], 'basic.qos-ok': [60, 11], 'basic.consume': [60, 20], 'basic.consume-ok': [60, 21], 'basic.cancel': [60, 30], 'basic.cancel-ok': [60, 31],
    'basic.publish': [60, 40], 'basic.return': [60, 50], 'basic.deliver': [60, 60], 'basic.get': [60, 70], 'basic.get-ok': [60, 71], 'basic.get-empty': [60, 72],
    'basic.ack': [60, 80], 'basic.reject': [60, 90], 'basic.recover-async': [60, 100], 'basic.recover': [60, 110], 'basic.recover-ok': [60, 111], 'basic.nack': [60, 120],
    'confirm.select': [85, 10], 'confirm.select-ok': [85, 11],
    'tx.select': [90, 10], 'tx.select-ok': [90, 11], 'tx.commit': [90, 20], 'tx.commit-ok': [90, 21], 'tx.rollback': [90, 30], 'tx.rollback-ok': [90, 31],
  };
  for (const [name, [classId, methodId]] of Object.entries(want)) {
    const spec = METHOD_BY_NAME[name as MethodName];
    if (!t.ok(spec, `${name} is in the table`)) continue;
    t.strictSame([spec.classId, spec.methodId, spec.id], [classId, methodId, classId * 65536 + methodId], `${name}: ids`);
  }
  t.strictSame(METHODS.filter((m) => m.content).map((m) => m.name), ['basic.publish', 'basic.return', 'basic.deliver', 'basic.get-ok'], 'the content methods');
  t.equal(new Set(METHODS.map((m) => m.id)).size, METHODS.length, 'ids are unique');
});

t.test('spec.ts is what scripts/gen-amqp-spec.mjs generates', async (t) => {
  const out = execFileSync(process.execPath, ['scripts/gen-amqp-spec.mjs', '--check'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  t.match(out, /up to date/);
});

t.test('known bytes: method frames laid out by hand from the spec [AMQP 0-9-1 §4.2.3, §4.2.5]', async (t) => {
  const cases: [string, MethodInput, string][] = [
    // type 1, channel 1, size 11, class 60 method 10, prefetch-size 0, prefetch-count 10, global bit.
    ['basic.qos', { name: 'basic.qos', prefetchSize: 0, prefetchCount: 10, global: true }, '01 0001 0000000b 003c000a 00000000 000a 01 ce'],
    // Bits passive, durable, exclusive, auto-delete, nowait share one octet, lowest bit first: durable|auto-delete = 0x0a.
    ['queue.declare', { name: 'queue.declare', queue: 'q', durable: true, autoDelete: true }, '01 0001 0000000d 0032000a 0000 0171 0a 00000000 ce'],
    ['exchange.declare, 5 bits', { name: 'exchange.declare', exchange: 'x', type: 'topic', durable: true, internal: true, nowait: true }, '01 0001 00000013 0028000a 0000 0178 05746f706963 1a 00000000 ce'],
    ['basic.publish', { name: 'basic.publish', exchange: 'ex', routingKey: 'rk', mandatory: true }, '01 0001 0000000d 003c0028 0000 026578 02726b 01 ce'],
    ['basic.ack with multiple', { name: 'basic.ack', deliveryTag: 0x100000005, multiple: true }, '01 0001 0000000d 003c0050 0000000100000005 01 ce'],
    ['basic.nack, requeue only', { name: 'basic.nack', deliveryTag: 7, multiple: false, requeue: true }, '01 0001 0000000d 003c0078 0000000000000007 02 ce'],
    ['basic.reject without requeue', { name: 'basic.reject', deliveryTag: 1, requeue: false }, '01 0001 0000000d 003c005a 0000000000000001 00 ce'],
    // Bits after a non-bit argument open a new octet: connection.open's insist follows two shortstrs.
    ['connection.open', { name: 'connection.open', virtualHost: '/', insist: true }, '01 0001 00000008 000a0028 012f 00 01 ce'],
    ['tx.select, no arguments', { name: 'tx.select' }, '01 0001 00000004 005a000a ce'],
  ];
  for (const [name, method, spaced] of cases) {
    const bytes = spaced.replace(/ /g, '');
    t.equal(hex(encodeMethodFrame(1, method)), bytes, `${name}: encodes`);
    const decoded = decodeOne(Buffer.from(bytes, 'hex'));
    t.equal(hex(encodeMethodFrame(1, decoded as MethodInput)), bytes, `${name}: decodes to what encodes the same`);
  }
  t.strictSame(decodeOne(Buffer.from('010001 0000000d 003c0028 0000 026578 02726b 03 ce'.replace(/ /g, ''), 'hex')), { name: 'basic.publish', ticket: 0, exchange: 'ex', routingKey: 'rk', mandatory: true, immediate: true });
});

t.test('seeded round trips of every method: decode(encode(m)) = m, encode(decode(b)) = b', async (t) => {
  const r = rng(0x5eed);
  for (const spec of METHODS) {
    for (let i = 0; i < 25; i++) {
      const method = randomMethod(r, spec);
      const channel = int(r, 0, 65535);
      const bytes = encodeMethodFrame(channel, method);
      const res = decodeFrames(bytes, { frameMax: 0 });
      if (!t.equal(res.error, undefined, `${spec.name} #${i}: decodes`)) break;
      const frame = res.frames[0]!;
      if (frame.type !== 'method') { t.fail(`${spec.name}: not a method frame`); break; }
      t.equal(frame.channel, channel);
      if (!t.strictSame(comparableFields(frame.method), comparableFields(method), `${spec.name} #${i}: the same arguments`)) break;
      if (!t.equal(hex(encodeMethodFrame(channel, frame.method as MethodInput)), hex(bytes), `${spec.name} #${i}: the same bytes again`)) break;
    }
  }
});

t.test('left-out arguments take the spec defaults; required ones must be given', async (t) => {
  const full = encodeMethodFrame(0, {
    name: 'connection.start', versionMajor: 0, versionMinor: 9, serverProperties: FieldTable.EMPTY, mechanisms: Buffer.from('PLAIN'), locales: Buffer.from('en_US'),
  });
  t.equal(hex(encodeMethodFrame(0, { name: 'connection.start', serverProperties: FieldTable.EMPTY })), hex(full), 'connection.start defaults: 0-9, PLAIN, en_US');
  t.strictSame(decodeOne(encodeMethodFrame(1, { name: 'basic.reject', deliveryTag: 3 })), { name: 'basic.reject', deliveryTag: 3, requeue: true }, 'reject requeues by default');
  t.strictSame(decodeOne(encodeMethodFrame(1, { name: 'queue.declare' })), {
    name: 'queue.declare', ticket: 0, queue: '', passive: false, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: FieldTable.EMPTY,
  });
  t.equal(codeOf(() => encodeMethodFrame(1, { name: 'basic.deliver', consumerTag: 'c', deliveryTag: 1, exchange: '' } as never)), 'ERR_INVALID_ARGUMENT', 'deliver without routingKey');
  t.equal(codeOf(() => encodeMethodFrame(0, { name: 'connection.close', replyCode: 200 } as never)), 'ERR_INVALID_ARGUMENT', 'close without class and method ids');
});

t.test('the encoder refuses ill-typed arguments with ERR_INVALID_ARGUMENT', async (t) => {
  const bad: [string, unknown][] = [
    ['a shortstr of 256 bytes', { name: 'queue.declare', queue: 'q'.repeat(256) }],
    ['a number for a string', { name: 'queue.declare', queue: 5 }],
    ['a short out of range', { name: 'basic.qos', prefetchCount: 65536 }],
    ['a negative long', { name: 'basic.qos', prefetchSize: -1 }],
    ['a fractional octet', { name: 'connection.start', versionMajor: 0.5, serverProperties: FieldTable.EMPTY }],
    ['a tag past 2^53', { name: 'basic.ack', deliveryTag: 2 ** 60 }],
    ['a string for a bit', { name: 'basic.ack', deliveryTag: 1, multiple: 'yes' }],
    ['a plain object for a table', { name: 'queue.declare', arguments: { 'x-message-ttl': 5 } }],
    ['a string for a longstr', { name: 'connection.secure', challenge: 'abc' }],
    ['an unknown method', { name: 'basic.frobnicate' }],
    ['a name an object prototype has', { name: 'constructor' }],
  ];
  for (const [name, method] of bad) t.equal(codeOf(() => encodeMethodFrame(1, method as MethodInput)), 'ERR_INVALID_ARGUMENT', name);
  t.equal(codeOf(() => encodeMethodFrame(70000, { name: 'tx.select' })), 'ERR_INVALID_ARGUMENT', 'a channel past 65535');
});

t.test("the fast decoders of publish, ack, nack and reject give exactly the table decoder's result", async (t) => {
  const r = rng(42);
  const hot: MethodName[] = ['basic.publish', 'basic.ack', 'basic.nack', 'basic.reject'];
  for (const name of hot) {
    for (let i = 0; i < 200; i++) {
      const w = new ByteWriter(64);
      writeMethod(w, randomMethod(r, METHOD_BY_NAME[name]));
      const payload = Buffer.from(w.take());
      // Set bits no argument names, now and then: both decoders ignore them.
      if (r() < 0.3) payload[payload.length - 1]! |= 0xf0;
      const fast = decodeMethod(payload, 0, payload.length, 32);
      const table = decodeMethodBySpec(payload, payload.readUInt32BE(0), 4, payload.length, 32);
      if (!t.strictSame(fast, table, `${name} #${i}`)) break;
    }
  }
  t.equal(Object.keys(METHOD_ID).length, METHODS.length);
});

t.test('a delivery tag past 2^53 - 1 is a syntax error (no tag this server issues is that large)', async (t) => {
  for (const name of ['basic.ack', 'basic.nack', 'basic.reject'] as const) {
    const payload = Buffer.alloc(13);
    payload.writeUInt32BE(METHOD_ID[name], 0);
    payload.writeUInt32BE(0x00200000, 4);
    const res = decodeFrames(methodFrame(payload), { frameMax: 0 });
    t.equal(res.error?.code, 'ERR_AMQP_SYNTAX', name);
    t.equal(res.error?.wireCode, 502);
  }
});

t.test('truncated and overlong arguments of every method are frame errors (501), never a RangeError', async (t) => {
  const r = rng(7);
  let checked = 0;
  for (const spec of METHODS) {
    const w = new ByteWriter(64);
    writeMethod(w, randomMethod(r, spec));
    const payload = Buffer.from(w.take());
    for (let cut = 0; cut < payload.length; cut++) {
      const res = decodeFrames(methodFrame(payload.subarray(0, cut)), { frameMax: 0 });
      if (!t.equal(res.error?.code, 'ERR_AMQP_FRAME', `${spec.name} cut to ${cut} of ${payload.length} bytes`)) return;
      checked++;
    }
    const res = decodeFrames(methodFrame(Buffer.concat([payload, Buffer.from([0])])), { frameMax: 0 });
    t.equal(res.error?.code, 'ERR_AMQP_FRAME', `${spec.name} with a byte too many`);
    t.strictSame(res.error?.details, { channel: 1, classId: spec.classId, methodId: spec.methodId }, `${spec.name}: the error names the method`);
  }
  t.ok(checked > 500, `${checked} truncations checked`);
});

t.test('unknown method ids: an unknown class is 540 not-implemented, an unknown method of a known class 503', async (t) => {
  const cases: [string, number, number, string, number][] = [
    ['basic method 99', 60, 99, 'ERR_AMQP_COMMAND_INVALID', 503],
    ['connection method 0', 10, 0, 'ERR_AMQP_COMMAND_INVALID', 503],
    ['class 70 (0-8 file)', 70, 10, 'ERR_AMQP_NOT_IMPLEMENTED', 540],
    ['class 0', 0, 0, 'ERR_AMQP_NOT_IMPLEMENTED', 540],
    ['class 65535', 65535, 65535, 'ERR_AMQP_NOT_IMPLEMENTED', 540],
  ];
  for (const [name, classId, methodId, code, wire] of cases) {
    const payload = Buffer.alloc(4);
    payload.writeUInt16BE(classId, 0);
    payload.writeUInt16BE(methodId, 2);
    const res = decodeFrames(methodFrame(payload), { frameMax: 0 });
    t.equal(res.error?.code, code, `${name}: ${code}`);
    t.equal(res.error?.wireCode, wire);
    t.strictSame(res.error?.details, { channel: 1, classId, methodId }, `${name}: details name the ids`);
  }
  // tx decodes: the listener answers it with 540 itself.
  t.strictSame(decodeOne(methodFrame(Buffer.from('005a0014', 'hex'))), { name: 'tx.commit' });
});

t.test('a malformed table inside a method names the method', async (t) => {
  const w = new ByteWriter(64);
  writeMethod(w, { name: 'queue.declare', queue: 'q', arguments: FieldTable.fromObject({ 'x-message-ttl': 1000 }) });
  const payload = Buffer.from(w.take());
  payload[payload.length - 5] = 0x51; // the 'I' tag of the ttl becomes 'Q'
  const res = decodeFrames(methodFrame(payload), { frameMax: 0 });
  t.equal(res.error?.code, 'ERR_AMQP_SYNTAX');
  t.match(res.error?.message, /queue\.declare arguments: unknown field type tag 0x51/);
  t.match(res.error?.details, { channel: 1, classId: 50, methodId: 10 });
});
