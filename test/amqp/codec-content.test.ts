// AMQP 0-9-1 content: bodies split into body frames by frame-max, the basic.deliver writer against the
// generic one, the per-channel assembler (bodies as views when they came in one frame, the frame order
// rules as coded errors), and the writer's slabs (views handed out are never written again).
import t from 'tap';
import { ContentAssembler, type ChannelFrame, type ContentCommand } from '../../server/amqp/codec/assembler.js';
import { ByteWriter } from '../../server/amqp/codec/bytes.js';
import { bodyFrameCount, encodeContentCommand, encodeMethodFrame, writeContent, writeDeliver, writeMethodFrame } from '../../server/amqp/codec/encode.js';
import { FieldTable } from '../../server/amqp/codec/field-table.js';
import { decodeFrames, type Frame } from '../../server/amqp/codec/frames.js';
import { decodeProperties, decodePropertiesBySpec, writeProperties } from '../../server/amqp/codec/properties.js';
import { rng } from '../helpers/rng.js';
import { codeOf, comparableFields, int, randomBytes, randomProperties } from './codec-helpers.js';

function decodeAll(bytes: Buffer, frameMax = 0): Frame[] {
  const res = decodeFrames(bytes, { frameMax });
  if (res.error) throw res.error;
  if (res.consumed !== bytes.length) throw new Error('bytes left over');
  return res.frames;
}

function channelFrames(frames: Frame[]): ChannelFrame[] {
  return frames.filter((f): f is ChannelFrame => f.type !== 'heartbeat');
}

t.test('bodies split by frame-max: at most frame-max - 8 bytes per body frame, none for an empty body', async (t) => {
  for (const frameMax of [9, 10, 100, 4096, 131072, 0]) {
    const chunk = frameMax === 0 ? Infinity : frameMax - 8;
    const sizes = [0, 1, 2, 99, 4087, 4088, 4089, 3 * 4088, 131064, 200_000].concat(Number.isFinite(chunk) ? [chunk - 1, chunk, chunk + 1, 3 * chunk] : []);
    for (const size of sizes) {
      if (frameMax !== 0 && frameMax < 100 && size > 5000) continue;
      const big = Buffer.alloc(size, 0);
      for (let i = 0; i < size; i += 997) big[i] = i & 0xff;
      const bytes = encodeContentCommand(5, { name: 'basic.publish', routingKey: 'k' }, { deliveryMode: 2 }, big, frameMax);
      // Below frame-min-size the method and header frames themselves pass frame-max: decode those unlimited.
      const frames = decodeAll(bytes, frameMax >= 4096 ? frameMax : 0);
      const bodies = frames.filter((f) => f.type === 'body');
      const want = size === 0 ? 0 : Number.isFinite(chunk) ? Math.ceil(size / chunk) : 1;
      t.equal(bodies.length, want, `frame-max ${frameMax}, body ${size}: ${want} body frames`);
      t.equal(bodyFrameCount(size, frameMax), want);
      t.ok(bodies.every((f) => f.payload.length <= chunk && f.payload.length > 0), 'each within frame-max, none empty');
      t.ok(Buffer.concat(bodies.map((f) => (f.type === 'body' ? f.payload : Buffer.alloc(0)))).equals(big), 'together, the body');
      const header = frames[1]!;
      t.equal(header.type === 'header' && header.bodySize, size, 'the header announces the size');
    }
  }
  t.equal(codeOf(() => bodyFrameCount(10, 8)), 'ERR_INVALID_ARGUMENT', 'frame-max 8 leaves no room for a body byte');
  t.equal(codeOf(() => writeContent(new ByteWriter(), 1, {}, Buffer.from('x'), -1)), 'ERR_INVALID_ARGUMENT');
});

t.test('writeDeliver writes what the generic writers write, from properties or from raw properties', async (t) => {
  const r = rng(11);
  for (let i = 0; i < 200; i++) {
    const props = randomProperties(r);
    const body = randomBytes(r, 9000);
    const frameMax = [0, 4096, 131072][i % 3]!;
    const [ctag, tag, redelivered, ex, rk] = ['ctag-' + i, int(r, 1, Number.MAX_SAFE_INTEGER), r() < 0.5, i % 4 === 0 ? '' : 'amq.topic', 'a.b.' + i];
    const generic = new ByteWriter(128);
    writeMethodFrame(generic, 7, { name: 'basic.deliver', consumerTag: ctag, deliveryTag: tag, redelivered, exchange: ex, routingKey: rk });
    writeContent(generic, 7, props, body, frameMax);
    const expected = generic.take();
    const fast = new ByteWriter(128);
    writeDeliver(fast, 7, ctag, tag, redelivered, ex, rk, props, body, frameMax);
    if (!t.equal(fast.take().toString('hex'), expected.toString('hex'), `#${i}: same bytes`)) return;
    // Forwarding: the raw properties of the decoded header give the same bytes again.
    const header = decodeAll(expected, frameMax)[1]!;
    if (header.type !== 'header') return t.fail('no header');
    writeDeliver(fast, 7, ctag, tag, redelivered, ex, rk, header.propertiesRaw, body, frameMax);
    if (!t.equal(fast.take().toString('hex'), expected.toString('hex'), `#${i}: same bytes from raw properties`)) return;
  }
  t.equal(codeOf(() => writeDeliver(new ByteWriter(), 1, 'c'.repeat(256), 1, false, '', 'k', {}, Buffer.alloc(0), 0)), 'ERR_INVALID_ARGUMENT', 'a consumer tag past 255 bytes');
  t.equal(codeOf(() => writeDeliver(new ByteWriter(), 1, 'c', 2 ** 53, false, '', 'k', {}, Buffer.alloc(0), 0)), 'ERR_INVALID_ARGUMENT', 'a tag past 2^53 - 1');
});

t.test('properties round trip, every one of them, and headers are forwarded byte for byte', async (t) => {
  const r = rng(5);
  for (let i = 0; i < 300; i++) {
    const props = randomProperties(r);
    const frames = decodeAll(encodeContentCommand(1, { name: 'basic.publish' }, props, Buffer.alloc(0), 0));
    const header = frames[1]!;
    if (header.type !== 'header') return t.fail('no header');
    if (!t.strictSame(comparableFields(header.properties), comparableFields(props), `#${i}`)) return;
  }
  const headers = FieldTable.decode(Buffer.from([4, 0x66, 0x6c, 0x61, 0x67, 0x74, 0x02])); // flag: t with octet 2
  const frames = decodeAll(encodeContentCommand(1, { name: 'basic.publish' }, { headers }, Buffer.alloc(0), 0));
  t.equal(frames[1]!.type === 'header' && frames[1]!.properties.headers!.raw.toString('hex'), headers.raw.toString('hex'), 'a non-canonical boolean octet survives');
});

t.test("the unrolled properties decoder gives exactly the table decoder's result, or the same error", async (t) => {
  const r = rng(6);
  let faults = 0;
  for (let i = 0; i < 2000; i++) {
    const w = new ByteWriter(256);
    writeProperties(w, randomProperties(r));
    let raw = Buffer.from(w.take());
    if (i % 2 === 1) {
      // Cut, flip or extend: both decoders must agree on the outcome.
      const roll = r();
      if (roll < 0.4) raw = raw.subarray(0, int(r, 0, raw.length));
      else if (roll < 0.8 && raw.length > 0) raw[int(r, 0, raw.length - 1)] = int(r, 0, 255);
      else raw = Buffer.concat([raw, Buffer.from([int(r, 0, 255)])]);
    }
    const outcome = (f: typeof decodeProperties): unknown => {
      try {
        return comparableFields(f(raw, 0, raw.length, 32));
      } catch (err) {
        return codeOf(() => { throw err; });
      }
    };
    const fast = outcome(decodeProperties);
    if (typeof fast === 'string') faults++;
    if (!t.strictSame(fast, outcome(decodePropertiesBySpec), `#${i}: ${raw.toString('hex')}`)) return;
  }
  t.ok(faults > 100, `${faults} malformed property lists refused alike`);
});

t.test('the properties encoder refuses ill-typed properties with ERR_INVALID_ARGUMENT', async (t) => {
  const bad: [string, object][] = [
    ['a number for a string', { contentType: 5 }],
    ['a delivery mode past an octet', { deliveryMode: 256 }],
    ['a plain object for headers', { headers: { a: 1 } }],
    ['a negative timestamp', { timestamp: -1 }],
    ['a timestamp past 2^64', { timestamp: 2n ** 64n }],
    ['a message id past 255 bytes', { messageId: 'm'.repeat(256) }],
  ];
  for (const [name, props] of bad) t.equal(codeOf(() => writeProperties(new ByteWriter(), props)), 'ERR_INVALID_ARGUMENT', name);
});

t.test('the assembler: a publish becomes one command, its body a view of the input when it came in one frame', async (t) => {
  const asm = new ContentAssembler(1 << 20);
  const input = encodeContentCommand(3, { name: 'basic.publish', exchange: 'ex', routingKey: 'rk' }, { contentType: 'application/json' }, Buffer.from('{"a":1}'), 4096);
  const frames = channelFrames(decodeAll(input, 4096));
  t.equal(asm.push(frames[0]!), undefined);
  t.ok(asm.busy);
  t.equal(asm.push(frames[1]!), undefined);
  const cmd = asm.push(frames[2]!) as ContentCommand;
  t.equal(cmd.type, 'content');
  t.equal(cmd.channel, 3);
  t.match(cmd.method, { name: 'basic.publish', exchange: 'ex', routingKey: 'rk' });
  t.equal(cmd.properties.contentType, 'application/json');
  t.equal(cmd.body.toString(), '{"a":1}');
  t.equal(cmd.body.buffer, input.buffer, 'the body is a view of the input (no copy)');
  t.notOk(asm.busy);
  // A method without content passes through as its own frame.
  const ack = channelFrames(decodeAll(encodeMethodFrame(3, { name: 'basic.ack', deliveryTag: 9 })))[0]!;
  t.equal(asm.push(ack), ack);
  // A body over many frames is joined once; an empty body completes at the header.
  const long = Buffer.alloc(10_000, 7);
  const many = channelFrames(decodeAll(encodeContentCommand(3, { name: 'basic.publish' }, {}, long, 4096), 4096));
  t.equal(many.length, 2 + 3);
  let done: unknown;
  for (const f of many) done = asm.push(f);
  t.ok((done as ContentCommand).body.equals(long), 'joined');
  const empty = channelFrames(decodeAll(encodeContentCommand(3, { name: 'basic.publish' }, {}, Buffer.alloc(0), 4096)));
  t.equal(empty.length, 2);
  asm.push(empty[0]!);
  t.equal((asm.push(empty[1]!) as ContentCommand).body.length, 0, 'completed at the header');
});

t.test('the assembler refuses frames out of order (505) and bodies longer than announced or allowed (501)', async (t) => {
  const publish = channelFrames(decodeAll(encodeContentCommand(1, { name: 'basic.publish' }, {}, Buffer.from('abcdef'), 11)));
  const [method, header, body1] = [publish[0]!, publish[1]!, publish[2]!];
  const ack = channelFrames(decodeAll(encodeMethodFrame(1, { name: 'basic.ack', deliveryTag: 1 })))[0]!;
  const cases: [string, ChannelFrame[], string][] = [
    ['a header with no method before it', [header], 'ERR_AMQP_UNEXPECTED_FRAME'],
    ['a body with no method before it', [body1], 'ERR_AMQP_UNEXPECTED_FRAME'],
    ['a method where the header must come', [method, ack], 'ERR_AMQP_UNEXPECTED_FRAME'],
    ['a body where the header must come', [method, body1], 'ERR_AMQP_UNEXPECTED_FRAME'],
    ['a method between body frames', [method, header, body1, ack], 'ERR_AMQP_UNEXPECTED_FRAME'],
    ['a second header', [method, header, header], 'ERR_AMQP_UNEXPECTED_FRAME'],
  ];
  for (const [name, frames, code] of cases) {
    const asm = new ContentAssembler(1000);
    const last = frames.length - 1;
    for (let i = 0; i < last; i++) asm.push(frames[i]!);
    t.equal(codeOf(() => asm.push(frames[last]!)), code, name);
    t.notOk(asm.busy, `${name}: back at rest`);
  }
  // A body frame larger than what is left: the header says 2, a frame brings 3.
  const shortHeader = channelFrames(decodeAll(encodeContentCommand(1, { name: 'basic.publish' }, {}, Buffer.from('ab'), 0)))[1]!;
  const long = channelFrames(decodeAll(encodeContentCommand(1, { name: 'basic.publish' }, {}, Buffer.from('abc'), 0)))[2]!;
  const asm = new ContentAssembler(1000);
  asm.push(method);
  asm.push(shortHeader);
  t.equal(codeOf(() => asm.push(long)), 'ERR_AMQP_FRAME', 'a body longer than announced');
  const small = new ContentAssembler(5);
  small.push(method);
  t.equal(codeOf(() => small.push(header)), 'ERR_AMQP_FRAME', 'a body size over maxBodySize');
  small.push(ack);
  t.pass('after an error the assembler takes the next command');
});

t.test('the writer: views handed out stay intact while it goes on, across slabs and growth', async (t) => {
  const w = new ByteWriter(64);
  const taken: [Buffer, string][] = [];
  const r = rng(8);
  for (let i = 0; i < 300; i++) {
    // A table big enough to move the pending bytes to a new slab in the middle of a frame.
    const args = i % 10 === 0 ? FieldTable.fromObject({ pad: 'p'.repeat(int(r, 10, 300)) }) : FieldTable.EMPTY;
    writeMethodFrame(w, 1, { name: 'queue.declare', queue: `q${i}`, arguments: args });
    if (i % 3 === 0) {
      const b = w.take();
      taken.push([b, Buffer.from(b).toString('hex')]);
    }
  }
  taken.push([w.take(), '']);
  taken[taken.length - 1]![1] = taken[taken.length - 1]![0].toString('hex');
  t.ok(taken.every(([b, hex]) => b.toString('hex') === hex), 'no view was written over');
  const frames = decodeAll(Buffer.concat(taken.map(([b]) => b)));
  t.equal(frames.length, 300);
  t.ok(frames.every((f, i) => f.type === 'method' && f.method.name === 'queue.declare' && f.method.queue === `q${i}`), 'every frame decodes, in order');
  t.equal(w.length, 0);
});
