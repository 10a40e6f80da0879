// The codec without sockets: known bytes for a few frames, seeded random round trips of every
// opcode, and malformed input that must become ERR_MALFORMED_FRAME / ERR_UNKNOWN_OPCODE.
import t from 'tap';
import { Encoder } from '@msgpack/msgpack';
import { FrameCodec, frameToArray, LAYOUT, type Kind } from '../../shared/codec.js';
import { CeleriacError } from '../../shared/errors.js';
import type { Frame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';
import { rng } from '../helpers/rng.js';

const codec = new FrameCodec();
const raw = new Encoder();

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const hexOf = (text: string): string => Buffer.from(text).toString('hex');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CeleriacError) return err.code;
    return `not a CeleriacError: ${String(err)}`;
  }
  return undefined;
}

t.test('known bytes', async (t) => {
  const cases: [string, Frame | Frame[], string][] = [
    ['heartbeat is a one-element array', { op: OP.heartbeat }, '9105'],
    ['ok with an id', { op: OP.ok, id: 7 }, '920407'],
    ['confirm of three ids (300 as uint16)', { op: OP.confirm, ids: [1, 2, 300] }, '921593' + '0102cd012c'],
    ['ack with multiple', { op: OP.ack, tag: 9, multiple: true }, '931909c3'],
    ['publish to the default exchange, body as bin 8', { op: OP.publish, id: 1, exchange: '', routingKey: 'q', body: Uint8Array.of(0x68, 0x69) }, '951401a0a171c4026869'],
    ['hello with absent middle fields sends nil', { op: OP.hello, id: 1, version: 1, vhost: '/' }, '96010101c0c0a12f'],
    ['a batch is an array of frames', [{ op: OP.heartbeat }, { op: OP.ok, id: 1 }], '929105920401'],
    ['a batch of one is sent as the frame itself', [{ op: OP.ok, id: 7 }], '920407'],
    ['rateRelease with a fractional slot as float 64', { op: OP.rateRelease, id: 3, key: 'k', slot: 1_700_000_000_000.5 }, '943503a16bcb4278bcfe56800800'],
    // nullint: an absent optional field is nil, null travels as false (c2), a time as an int.
    ['scheduleUpsert leaving nextRunAt out (kept)', { op: OP.scheduleUpsert, id: 1, name: 'n', spec: '{}' }, '9436' + '01' + 'a16e' + 'a27b7d'],
    ['scheduleUpsert clearing nextRunAt', { op: OP.scheduleUpsert, id: 1, name: 'n', spec: '{}', nextRunAt: null }, '9636' + '01' + 'a16e' + 'a27b7d' + 'c0' + 'c2'],
    ['scheduleUpsert setting nextRunAt', { op: OP.scheduleUpsert, id: 1, name: 'n', spec: '{}', nextRunAt: 1000 }, '9636' + '01' + 'a16e' + 'a27b7d' + 'c0' + 'cd03e8'],
    ['beatAdvance to no next run', { op: OP.beatAdvance, id: 2, lease: 'l', holder: 'h', epoch: 3, entry: 'e', revision: 4, nextRunAt: null }, '983f' + '02' + 'a16c' + 'a168' + '03' + 'a165' + '04' + 'c2'],
    ['scheduleChanged push', { op: OP.scheduleChanged, names: ['a', 'b'] }, '923b' + '92a161a162'],
    // eventsRead: a cursor and a type filter; the absent limit between them is nil.
    ['eventsRead after id 300 of one type', { op: OP.eventsRead, id: 5, since: 300, types: ['task-failed'] }, '9540' + '05' + 'cd012c' + 'c0' + '91ab7461736b2d6661696c6564'],
  ];
  for (const [name, frame, bytes] of cases) {
    const encoded = codec.encode(frame);
    t.equal(hex(encoded), bytes, `${name}: encode`);
    t.strictSame(codec.decode(new Uint8Array(Buffer.from(bytes, 'hex'))), Array.isArray(frame) ? frame : [frame], `${name}: decode`);
  }
});

t.test('every opcode has a layout and every layout an opcode', async (t) => {
  t.strictSame(Object.keys(LAYOUT).map(Number).sort((a, b) => a - b), Object.values(OP).sort((a, b) => a - b));
});

// ---------------------------------------------------------------- random round trips

function randomString(r: () => number): string {
  const alphabet = ['a', 'b', 'z', '.', '#', '*', ' ', 'é', '日', '🥕', '\u0000', '"'];
  let s = '';
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

function randomUint(r: () => number): number {
  const pick = r();
  if (pick < 0.4) return Math.floor(r() * 128);
  if (pick < 0.7) return Math.floor(r() * 70_000);
  if (pick < 0.9) return Math.floor(r() * 2 ** 32) + 2 ** 32;
  return Number.MAX_SAFE_INTEGER - Math.floor(r() * 10);
}

/** A negative safe integer (never -0, which would not come back as itself). */
function randomNegative(r: () => number): number {
  return -1 - (randomUint(r) % (Number.MAX_SAFE_INTEGER - 1));
}

function randomBytes(r: () => number): Uint8Array {
  const out = new Uint8Array(Math.floor(r() * 300));
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(r() * 256);
  return out;
}

/** A msgpack-able value that survives a round trip unchanged (no undefined, no -0, no NaN). */
function randomValue(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 0 ? 9 : 7));
  switch (pick) {
    case 0: return randomString(r);
    case 1: return randomUint(r);
    case 2: return -1 - Math.floor(r() * 2 ** 40);
    case 3: return r() * 1000 + 0.5;
    case 4: return r() < 0.5;
    case 5: return randomBytes(r);
    case 6: return null;
    case 7: return randomMap(r, depth - 1);
    default: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth - 1));
  }
}

function randomMap(r: () => number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) out[`k${i}${randomString(r)}`] = randomValue(r, depth);
  return out;
}

function randomField(kind: Kind, r: () => number): unknown {
  switch (kind) {
    case 'uint': return randomUint(r);
    case 'int': return r() < 0.5 ? randomUint(r) : randomNegative(r);
    case 'num': return r() * 1e6;
    case 'str': return randomString(r);
    case 'bool': return r() < 0.5;
    case 'bin': return randomBytes(r);
    case 'map': return randomMap(r, 3);
    case 'maps': return Array.from({ length: Math.floor(r() * 4) }, () => randomMap(r, 2));
    case 'any': { const v = randomValue(r, 3); return v === null ? 0 : v; }
    case 'uints': return Array.from({ length: Math.floor(r() * 6) }, () => randomUint(r));
    case 'strs': return Array.from({ length: Math.floor(r() * 6) }, () => randomString(r));
    case 'tag': return r() < 0.5 ? randomUint(r) : Array.from({ length: 1 + Math.floor(r() * 5) }, () => randomUint(r));
    case 'nullint': return r() < 0.3 ? null : r() < 0.5 ? randomUint(r) : randomNegative(r);
  }
}

function randomFrame(op: number, r: () => number): Frame {
  const frame: Record<string, unknown> = { op };
  for (const [name, kind, optional] of LAYOUT[op]!) {
    if (optional && r() < 0.35) continue;
    frame[name] = randomField(kind, r);
  }
  return frame as unknown as Frame;
}

t.test('random round trips of every opcode', async (t) => {
  const seed = Number(process.env.CODEC_SEED ?? Date.now() % 1_000_000);
  t.comment(`seed ${seed} (replay with CODEC_SEED=${seed})`);
  const r = rng(seed);
  const ops = Object.values(OP);
  for (const op of ops) {
    let failures = 0;
    for (let i = 0; i < 200 && failures < 3; i++) {
      const frame = randomFrame(op, r);
      const decoded = codec.decode(codec.encode(frame));
      const ok = t.strictSame(decoded, [frame], `opcode ${op} round trip`, { diagnostic: false });
      if (!ok) failures++;
    }
  }
  // Batches mix opcodes in one message, as the broker sends deliveries and confirms.
  for (let i = 0; i < 50; i++) {
    const batch = Array.from({ length: 2 + Math.floor(r() * 20) }, () => randomFrame(ops[Math.floor(r() * ops.length)]!, r));
    t.strictSame(codec.decode(codec.encode(batch)), batch, 'batch round trip');
  }
});

// Deliver frames are written field by field (msgpack-writer.ts), not through the encoder: the bytes
// must be the encoder's all the same, for every size class of every field.
t.test('deliver frames written field by field are the encoder\'s bytes', async (t) => {
  const seed = Number(process.env.CODEC_SEED ?? Date.now() % 1_000_000);
  t.comment(`seed ${seed} (replay with CODEC_SEED=${seed})`);
  const r = rng(seed);
  const encoder = new Encoder({ ignoreUndefined: true });
  const sized = [0, 31, 32, 255, 256, 65_535, 65_536];
  const text = (n: number): string => (r() < 0.3 ? 'é' : 'a').repeat(n);
  let mismatches = 0;
  for (let i = 0; i < 300; i++) {
    const frame = randomFrame(OP.deliver, r) as Extract<Frame, { op: typeof OP.deliver }>;
    if (i % 3 === 0) frame.consumerTag = text(sized[i % sized.length]!);
    if (i % 3 === 1) frame.body = new Uint8Array(sized[i % sized.length]!);
    if (i % 5 === 0) frame.deliveryTag = [0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER][i % 10]!;
    if (hex(codec.encode(frame)) !== hex(encoder.encode(frameToArray(frame)))) mismatches++;
    const batch = [frame, { op: OP.confirm, ids: [i] } as Frame, frame];
    if (hex(codec.encode(batch)) !== hex(encoder.encode(batch.map(frameToArray)))) mismatches++;
  }
  t.equal(mismatches, 0, 'every deliver frame and batch has the encoder\'s bytes');
});

// Every other frame goes through MsgpackWriter.value: the same bytes as the encoder for every
// opcode and for the values an application may put in props and headers, the odd ones included.
t.test('every frame and value written by MsgpackWriter.value is the encoder\'s bytes', async (t) => {
  const seed = Number(process.env.CODEC_SEED ?? Date.now() % 1_000_000);
  t.comment(`seed ${seed} (replay with CODEC_SEED=${seed})`);
  const r = rng(seed);
  const encoder = new Encoder({ ignoreUndefined: true });
  const bytesOf = (v: unknown): string => hex(encoder.encode(v));
  let mismatches = 0;
  for (const op of Object.values(OP)) {
    for (let i = 0; i < 100; i++) {
      const frame = randomFrame(op, r);
      if (hex(codec.encode(frame)) !== bytesOf(frameToArray(frame))) mismatches++;
    }
  }
  t.equal(mismatches, 0, 'every opcode\'s frames have the encoder\'s bytes');
  const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: undefined, c: 'x' });
  class Point { x = 1; y = -2; }
  const odd: unknown[] = [
    0, -0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2,
    -1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31), -(2 ** 31) - 1, Number.MIN_SAFE_INTEGER,
    0.5, -1.25, 1e300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
    '', 'a'.repeat(31), 'a'.repeat(32), 'a'.repeat(255), 'a'.repeat(256), 'a'.repeat(65_536), 'é', '日本', 'x\ud800y', '\udfff', '😀'.repeat(40),
    new Date(1_700_000_000_123), Buffer.from('buf'), new Uint8Array(300), new Int16Array([1, -1]),
    [undefined, null, [1, [2, [3]]]], { a: undefined, b: null, 'ключ': 1, [String.fromCharCode(0x7f)]: 2 }, nullProto, new Point(),
    Array.from({ length: 16 }, (_, i) => i), Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
  ];
  for (const [i, v] of odd.entries()) {
    const frame = { op: OP.publish, id: 1, exchange: '', routingKey: 'q', body: Uint8Array.of(1), props: { headers: { v } } } as Frame;
    t.equal(hex(codec.encode(frame)), bytesOf(frameToArray(frame)), `odd value ${i} (${typeof v})`);
  }
  let deep: unknown = 1;
  for (let i = 0; i < 120; i++) deep = [deep];
  t.throws(() => codec.encode({ op: OP.publish, id: 1, exchange: '', routingKey: 'q', body: Uint8Array.of(1), props: { headers: { deep } } } as Frame), /Too deep/, 'too deep is refused as the encoder refuses it');
  t.throws(() => codec.encode({ op: OP.publish, id: 1, exchange: '', routingKey: 'q', body: Uint8Array.of(1), props: { headers: { f: () => 1 } } } as unknown as Frame), /Unrecognized object/, 'a function is refused as the encoder refuses it');
});

t.test('a codec keeping props bytes delivers a publish\'s props as they came', async (t) => {
  const broker = new FrameCodec({}, { keepPropsBytes: true });
  // priority 3 as a uint16 and persistent before it: an encoder would write 03, and no other order.
  const props = '82' + 'aa' + hexOf('persistent') + 'c3' + 'a8' + hexOf('priority') + 'cd0003';
  const [frame] = broker.decode(new Uint8Array(Buffer.from('96' + '14' + '01' + 'a0' + 'a171' + 'c4026869' + props, 'hex')));
  t.ok(frame !== undefined && frame.op === OP.publish);
  const p = (frame as Extract<Frame, { op: typeof OP.publish }>).props!;
  t.same(p, { persistent: true, priority: 3 });
  t.ok(Object.isFrozen(p), 'kept props are frozen: their bytes must stay true to them');
  const deliver: Frame = { op: OP.deliver, consumerTag: 'c', deliveryTag: 1, redelivered: false, deliveryCount: 1, exchange: '', routingKey: 'q', props: p, body: Uint8Array.of(1) };
  t.ok(hex(broker.encode(deliver)).includes(props), 'the deliver frame carries the publisher\'s bytes');
  t.notOk(hex(new Encoder({ ignoreUndefined: true }).encode(frameToArray(deliver))).includes(props), 'which an encoder would not have written');
  const plain = codec.decode(codec.encode({ op: OP.publish, id: 1, exchange: '', routingKey: 'q', body: Uint8Array.of(1), props: { priority: 3 } }))[0] as Extract<Frame, { op: typeof OP.publish }>;
  t.notOk(Object.isFrozen(plain.props), 'a codec without the option keeps nothing');
});

// ---------------------------------------------------------------- malformed input

t.test('malformed frames are ERR_MALFORMED_FRAME', async (t) => {
  const bad: [string, unknown][] = [
    ['an empty array', []],
    ['a map', { op: 4 }],
    ['a string', 'hello'],
    ['a number', 42],
    ['nil', null],
    ['a string opcode', ['ok', 1]],
    ['a missing required field', [OP.ok]],
    ['a negative id', [OP.ok, -1]],
    ['a fractional id', [OP.ok, 1.5]],
    ['a string id', [OP.ok, '1']],
    ['a string body', [OP.publish, 1, '', 'q', 'not binary']],
    ['a map field given an array', [OP.declareQueue, 1, 'q', [1, 2]]],
    ['a map field given binary', [OP.declareQueue, 1, 'q', Uint8Array.of(1)]],
    ['a bool field given a number', [OP.flow, 1]],
    ['ids with a string', [OP.confirm, [1, 'x']]],
    ['a tag list with a negative', [OP.ack, [1, -2]]],
    ['a batch with one bad frame', [[OP.heartbeat], [OP.ok]]],
    ['a batch with a non-array member', [[OP.heartbeat], 5]],
    ['a required nullint left out', [OP.beatAdvance, 1, 'l', 'h', 1, 'e', 1]],
    ['a required nullint sent as nil', [OP.beatAdvance, 1, 'l', 'h', 1, 'e', 1, null]],
    ['a nullint given true', [OP.beatAdvance, 1, 'l', 'h', 1, 'e', 1, true]],
    ['a nullint given a fraction', [OP.scheduleUpsert, 1, 'n', '{}', null, 1.5]],
    ['a fire with a fractional scheduledAt', [OP.beatFire, 1, 'l', 'h', 1, 'e', 1, 1.5, false, []]],
  ];
  for (const [name, value] of bad) {
    t.equal(codeOf(() => codec.decode(raw.encode(value))), 'ERR_MALFORMED_FRAME', name);
  }
  const good = codec.encode({ op: OP.ok, id: 1 });
  t.equal(codeOf(() => codec.decode(new Uint8Array(0))), 'ERR_MALFORMED_FRAME', 'no bytes at all');
  t.equal(codeOf(() => codec.decode(Uint8Array.of(...good, 0x01))), 'ERR_MALFORMED_FRAME', 'trailing bytes after a frame');
  t.equal(codeOf(() => codec.decode(Uint8Array.of(0xc1))), 'ERR_MALFORMED_FRAME', 'the never-used byte 0xc1');
  t.equal(codeOf(() => codec.decode(Uint8Array.of(0x92, 0x04, 0xd4, 0x01, 0x00))), 'ERR_MALFORMED_FRAME', 'an extension type');

  const err = (() => { try { codec.decode(Uint8Array.of(0xc1)); } catch (e) { return e as CeleriacError; } return undefined; })();
  t.equal(err?.scope, 'connection', 'a malformed frame ends the connection');
  t.equal(err?.closeCode, 1002, 'with close code 1002 (protocol error)');
});

t.test('every truncation of a valid message is malformed', async (t) => {
  const r = rng(7);
  for (const op of Object.values(OP)) {
    const bytes = codec.encode(randomFrame(op, r));
    let wrong = 0;
    for (let n = 0; n < bytes.length; n++) if (codeOf(() => codec.decode(bytes.subarray(0, n))) !== 'ERR_MALFORMED_FRAME') wrong++;
    t.equal(wrong, 0, `opcode ${op}: all ${bytes.length} prefixes rejected`);
  }
});

t.test('unknown opcodes are ERR_UNKNOWN_OPCODE with the opcode in details', async (t) => {
  for (const op of [0, 8, 9, 17, 99, 255, 70_000]) {
    let caught: unknown;
    try { codec.decode(raw.encode([op, 1])); } catch (e) { caught = e; }
    t.ok(caught instanceof CeleriacError, `opcode ${op} rejected`);
    t.equal((caught as CeleriacError).code, 'ERR_UNKNOWN_OPCODE');
    t.equal((caught as CeleriacError).details?.opcode, op);
  }
});

t.test('random bytes never escape as anything but a coded error', async (t) => {
  const r = rng(Number(process.env.CODEC_SEED ?? 1234));
  const counts: Record<string, number> = {};
  for (let i = 0; i < 3000; i++) {
    const bytes = randomBytes(r);
    // Bias half the inputs to look like a frame so the decoder gets past the first byte.
    if (i % 2 === 0 && bytes.length > 2) { bytes[0] = 0x90 | (bytes[0]! & 0x0f); bytes[1] = bytes[1]! % 30; }
    const code = codeOf(() => codec.decode(bytes)) ?? 'decoded';
    counts[code] = (counts[code] ?? 0) + 1;
  }
  t.strictSame(Object.keys(counts).filter((k) => !['ERR_MALFORMED_FRAME', 'ERR_UNKNOWN_OPCODE', 'decoded'].includes(k)), [], JSON.stringify(counts));
});

// ---------------------------------------------------------------- limits

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < depth; i++) v = { n: v };
  return v;
}

t.test('nesting deeper than maxDepth is refused', async (t) => {
  const small = new FrameCodec({ maxDepth: 4 });
  const publish = (headers: Record<string, unknown>): Uint8Array =>
    raw.encode([OP.publish, 1, 'x', 'k', Uint8Array.of(1), { headers }]);
  t.equal(codeOf(() => small.decode(publish(nested(2)))), undefined, 'props -> headers -> 2 levels fits in 4');
  t.equal(codeOf(() => small.decode(publish(nested(4)))), 'ERR_MALFORMED_FRAME', 'props -> headers -> 4 levels does not');
  t.equal(codeOf(() => codec.decode(publish(nested(20)))), undefined, 'the default limit takes 20 levels');
  t.equal(codeOf(() => codec.decode(publish(nested(40)))), 'ERR_MALFORMED_FRAME', 'but not 40');

  // 200,000 nested one-element arrays: must be a coded error, not a stack overflow.
  const deep = new Uint8Array(200_001).fill(0x91);
  deep[deep.length - 1] = 0xc0;
  t.equal(codeOf(() => codec.decode(deep)), 'ERR_MALFORMED_FRAME', 'very deep arrays');
});

t.test('strings, arrays, maps and binaries longer than the limits are refused', async (t) => {
  const small = new FrameCodec({ maxCollectionLength: 16, maxBodySize: 32 });
  const ok = (v: unknown): string | undefined => codeOf(() => small.decode(raw.encode(v)));
  t.equal(ok([OP.declareQueue, 1, 'q'.repeat(16)]), undefined, 'a 16-char name fits');
  t.equal(ok([OP.declareQueue, 1, 'q'.repeat(17)]), 'ERR_MALFORMED_FRAME', 'a 17-char name does not');
  t.equal(ok([OP.confirm, Array.from({ length: 16 }, (_, i) => i)]), undefined, '16 ids fit');
  t.equal(ok([OP.confirm, Array.from({ length: 17 }, (_, i) => i)]), 'ERR_MALFORMED_FRAME', '17 ids do not');
  const map = (n: number): Record<string, number> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
  t.equal(ok([OP.declareQueue, 1, 'q', map(16)]), undefined, 'a map of 16 entries fits');
  t.equal(ok([OP.declareQueue, 1, 'q', map(17)]), 'ERR_MALFORMED_FRAME', 'a map of 17 does not');
  t.equal(ok([OP.publish, 1, '', 'q', new Uint8Array(32)]), undefined, 'a body of maxBodySize fits');
  t.equal(ok([OP.publish, 1, '', 'q', new Uint8Array(33)]), 'ERR_MALFORMED_FRAME', 'a body one byte over does not');
  t.equal(ok(Array.from({ length: 17 }, () => [OP.heartbeat])), 'ERR_MALFORMED_FRAME', 'a batch longer than the limit');
});
