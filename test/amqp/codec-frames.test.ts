// The AMQP 0-9-1 frame decoder: the protocol header, heartbeats and content headers from known bytes,
// input cut at every byte (the decoder asks for more, never throws), frame-max, and garbage: each
// malformed frame a coded error with its reply code, after the good frames before it.
import t from 'tap';
import { CeleriacError } from '../../shared/errors.js';
import { ByteWriter } from '../../server/amqp/codec/bytes.js';
import { HEARTBEAT_FRAME, encodeMethodFrame, writeContent, writeDeliver, writeHeartbeat, writeMethodFrame } from '../../server/amqp/codec/encode.js';
import { FieldTable } from '../../server/amqp/codec/field-table.js';
import { PROTOCOL_HEADER, decodeFrames, readProtocolHeader, type Frame } from '../../server/amqp/codec/frames.js';
import { METHODS } from '../../server/amqp/codec/spec.js';
import { rng } from '../helpers/rng.js';
import { comparableFields, int, pick, randomBytes, randomMethod, randomProperties } from './codec-helpers.js';

const h = (spaced: string): Buffer => Buffer.from(spaced.replace(/ /g, ''), 'hex');
const AMQP_CODES = ['ERR_AMQP_FRAME', 'ERR_AMQP_SYNTAX', 'ERR_AMQP_COMMAND_INVALID', 'ERR_AMQP_UNEXPECTED_FRAME', 'ERR_AMQP_NOT_IMPLEMENTED'];

/** Frames made comparable: tables and buffers as hex. */
function view(frames: readonly Frame[]): unknown[] {
  return frames.map((f) => {
    switch (f.type) {
      case 'method': return { type: f.type, channel: f.channel, method: comparableFields(f.method) };
      case 'header': return { type: f.type, channel: f.channel, bodySize: f.bodySize, properties: comparableFields(f.properties), raw: f.propertiesRaw.toString('hex') };
      case 'body': return { type: f.type, channel: f.channel, payload: f.payload.toString('hex') };
      case 'heartbeat': return f;
    }
  });
}

/** A stream of random frames of every kind, written as a connection would. */
function randomStream(r: () => number, frames: number): Buffer {
  const w = new ByteWriter(1024);
  for (let i = 0; i < frames; i++) {
    const roll = r();
    const channel = int(r, 1, 3);
    if (roll < 0.15) writeHeartbeat(w);
    else if (roll < 0.4) writeDeliver(w, channel, 'ctag', int(r, 1, 1e9), r() < 0.5, 'ex', 'rk', randomProperties(r), randomBytes(r, 300), pick(r, [0, 4096, 100]));
    else if (roll < 0.6) {
      writeMethodFrame(w, channel, { name: 'basic.publish', exchange: 'ex', routingKey: 'k' });
      writeContent(w, channel, randomProperties(r), randomBytes(r, 100), 64);
    } else writeMethodFrame(w, channel, randomMethod(r, pick(r, METHODS)));
  }
  return Buffer.from(w.take());
}

t.test('the protocol header [AMQP 0-9-1 §4.2.2]', async (t) => {
  t.equal(PROTOCOL_HEADER.toString('latin1'), 'AMQP\x00\x00\x09\x01');
  t.strictSame(readProtocolHeader(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')), { status: 'ok' });
  t.strictSame(readProtocolHeader(Buffer.from('AMQP\x00\x00\x09\x01 and frames after', 'latin1')), { status: 'ok' }, 'bytes after the header are the caller\'s');
  t.strictSame(readProtocolHeader(Buffer.from('AMQP\x01\x01\x00\x09', 'latin1')), { status: 'ok' }, '0-9, served as 0-9-1 as RabbitMQ does');
  for (let n = 0; n < 8; n++) t.strictSame(readProtocolHeader(PROTOCOL_HEADER.subarray(0, n)), { status: 'more' }, `${n} bytes of it: wait`);
  const refused: [string, string, RegExp][] = [
    ['HTTP', 'GET / HTTP/1.1\r\n', /not AMQP/],
    ['one wrong byte', 'X', /not AMQP/],
    ['AMQP 1.0', 'AMQP\x00\x01\x00\x00', /1\.0/],
    ['AMQP 1.0 SASL', 'AMQP\x03\x01\x00\x00', /1\.0/],
    ['AMQP 0-8', 'AMQP\x01\x01\x08\x00', /0-8/],
    ['AMQP 0-8 as py-amqplib sends it', 'AMQP\x01\x01\x09\x01', /0-8/],
    ['AMQP 0-10', 'AMQP\x01\x01\x00\x0a', /1-1-0-10/],
  ];
  for (const [name, bytes, reason] of refused) {
    const res = readProtocolHeader(Buffer.from(bytes, 'latin1'));
    t.equal(res.status, 'refuse', `${name}: refused`);
    if (res.status === 'refuse') t.match(res.reason, reason, `${name}: named`);
  }
});

t.test('known bytes: heartbeats and a content header', async (t) => {
  // amqp-node/amqplib test/frame.test.js: [FRAME_HEARTBEAT, 0, 0 (channel), 0, 0, 0, 0 (size), FRAME_END].
  const hb = Buffer.from([8, 0, 0, 0, 0, 0, 0, 206]);
  t.strictSame(decodeFrames(hb), { frames: [{ type: 'heartbeat', channel: 0 }], consumed: 8, needed: 0, error: undefined });
  t.equal(HEARTBEAT_FRAME.toString('hex'), hb.toString('hex'));
  // A content header by hand [§4.2.6.1]: class 60, weight 0, body size 5, flags content-type (bit 15)
  // and delivery-mode (bit 12), 'text/plain', 2.
  const header = h('02 0001 0000001a 003c 0000 0000000000000005 9000 0a746578742f706c61696e 02 ce');
  const res = decodeFrames(header);
  t.equal(res.error, undefined);
  const f = res.frames[0]!;
  if (f.type !== 'header') return t.fail('not a header');
  t.equal(f.bodySize, 5);
  t.equal(f.properties.contentType, 'text/plain');
  t.equal(f.properties.deliveryMode, 2);
  t.strictSame(Object.keys(f.properties).length, 14, 'every property key is there (one object shape)');
  t.equal(f.propertiesRaw.toString('hex'), '90000a746578742f706c61696e02', 'the flags and list as they came');
  t.equal(f.propertiesRaw.buffer, header.buffer, 'a view of the input');
  const w = new ByteWriter();
  writeContent(w, 1, { contentType: 'text/plain', deliveryMode: 2 }, Buffer.from('hello'), 4096);
  t.equal(w.take().toString('hex'), header.toString('hex') + '03000100000005' + Buffer.from('hello').toString('hex') + 'ce', 'the encoder writes the same header, then one body frame');
});

t.test('a stream cut anywhere: whole frames out, the rest asked for, never an error', async (t) => {
  const r = rng(1234);
  for (let round = 0; round < 30; round++) {
    const stream = randomStream(r, 12);
    const whole = decodeFrames(stream, { frameMax: 0 });
    if (!t.equal(whole.error, undefined, `round ${round}: the stream decodes`)) return;
    t.equal(whole.consumed, stream.length);
    // Feed it in random chunks, keeping the leftover as a socket reader would.
    const got: Frame[] = [];
    let pending = Buffer.alloc(0);
    for (let at = 0; at < stream.length;) {
      const n = int(r, 1, 64);
      pending = Buffer.concat([pending, stream.subarray(at, at + n)]);
      at += n;
      const res = decodeFrames(pending, { frameMax: 0 });
      if (res.error) return t.fail(`round ${round}: ${res.error.message}`);
      got.push(...res.frames);
      pending = pending.subarray(res.consumed);
      // needed is exactly what the frame in progress still lacks (its header first).
      const lacking = pending.length === 0 ? 0 : pending.length < 7 ? 7 - pending.length : pending.readUInt32BE(3) + 8 - pending.length;
      if (res.needed !== lacking) return t.fail(`needed ${res.needed}, the frame in progress lacks ${lacking}`);
    }
    t.strictSame(view(got), view(whole.frames), `round ${round}: chunked = whole`);
    // Every prefix: only whole frames, no error, consumed on a frame boundary.
    for (let cut = 1; cut < stream.length; cut += int(r, 1, 9)) {
      const res = decodeFrames(stream.subarray(0, cut), { frameMax: 0 });
      if (res.error) return t.fail(`prefix ${cut}: ${res.error.message}`);
      if ((res.consumed === cut) !== (res.needed === 0)) return t.fail(`prefix ${cut}: bytes are asked for exactly when a frame was cut`);
    }
  }
});

t.test('frame-max: a frame over it is refused from its 7-byte header, before its payload arrives', async (t) => {
  const frame = encodeMethodFrame(1, { name: 'queue.declare', queue: 'q'.repeat(200), arguments: FieldTable.fromObject({ pad: 'x'.repeat(4000) }) });
  const payload = frame.length - 8;
  t.equal(decodeFrames(frame, { frameMax: payload }).error, undefined, 'a payload up to frame-max passes (RabbitMQ allows the 8-byte slack)');
  for (const input of [frame, frame.subarray(0, 7)]) {
    const res = decodeFrames(input, { frameMax: payload - 1 });
    t.equal(res.error?.code, 'ERR_AMQP_FRAME', `${input.length} bytes in: 501`);
    t.equal(res.consumed, 0);
  }
  t.equal(decodeFrames(frame).error?.code, 'ERR_AMQP_FRAME', 'before tuning, the limit is frame-min-size (4096)');
  t.equal(decodeFrames(frame, { frameMax: 0 }).error, undefined, 'frame-max 0: no limit');
});

t.test('malformed frames: a coded error with the reply code, after the frames before them', async (t) => {
  const good = encodeMethodFrame(1, { name: 'basic.ack', deliveryTag: 1 });
  const cases: [string, Buffer, string, number][] = [
    ['frame-end not 0xCE', h('08 0000 00000000 00'), 'ERR_AMQP_FRAME', 501],
    ['unknown frame type 4', h('04 0001 00000000 ce'), 'ERR_AMQP_FRAME', 501],
    ['heartbeat on channel 1', h('08 0001 00000000 ce'), 'ERR_AMQP_FRAME', 501],
    ['heartbeat with a payload', h('08 0000 00000001 00 ce'), 'ERR_AMQP_FRAME', 501],
    ['method frame shorter than an id', h('01 0001 00000003 003c00 ce'), 'ERR_AMQP_FRAME', 501],
    ['content header too short', h('02 0001 00000004 003c0000 ce'), 'ERR_AMQP_FRAME', 501],
    ['content header for class queue', h('02 0001 0000000e 0032 0000 0000000000000000 0000 ce'), 'ERR_AMQP_UNEXPECTED_FRAME', 505],
    ['content header with weight 1', h('02 0001 0000000e 003c 0001 0000000000000000 0000 ce'), 'ERR_AMQP_SYNTAX', 502],
    ['body size past 2^53', h('02 0001 0000000e 003c 0000 0020000000000000 0000 ce'), 'ERR_AMQP_FRAME', 501],
    ['property flag bit 0 (a second flags word)', h('02 0001 0000000e 003c 0000 0000000000000000 0001 ce'), 'ERR_AMQP_SYNTAX', 502],
    ['property flag bit 1', h('02 0001 0000000e 003c 0000 0000000000000000 0002 ce'), 'ERR_AMQP_SYNTAX', 502],
    ['a property cut short', h('02 0001 0000000f 003c 0000 0000000000000000 8000 05 ce'), 'ERR_AMQP_FRAME', 501],
    ['bytes after the properties', h('02 0001 0000000f 003c 0000 0000000000000000 0000 00 ce'), 'ERR_AMQP_FRAME', 501],
    ['headers with an unknown tag', h('02 0001 00000017 003c 0000 0000000000000000 2000 00000005 0161 51 0000 ce'), 'ERR_AMQP_SYNTAX', 502],
  ];
  for (const [name, bad, code, wire] of cases) {
    const res = decodeFrames(Buffer.concat([good, bad, good]));
    t.equal(res.error?.code, code, `${name}: ${code}`);
    t.equal(res.error?.wireCode, wire, `${name}: reply code ${wire}`);
    t.equal(res.frames.length, 1, `${name}: the frame before it is returned`);
    t.equal(res.consumed, good.length, `${name}: consumed stops before it`);
    t.equal(typeof res.error?.details?.channel, 'number', `${name}: details name the channel`);
  }
});

t.test('garbage and mutated streams: coded errors only, never a throw', async (t) => {
  const r = rng(99);
  const seen = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    let input: Buffer;
    if (i % 3 === 0) input = randomBytes(r, 80);
    else {
      input = Buffer.from(randomStream(r, 4));
      for (let k = int(r, 1, 3); k > 0; k--) input[int(r, 0, input.length - 1)] = int(r, 0, 255);
      input = input.subarray(0, int(r, 0, input.length));
    }
    let res;
    try {
      res = decodeFrames(input, { frameMax: pick(r, [0, 4096, 131072]) });
      for (const f of res.frames) if (f.type === 'header') f.properties.headers?.toObject();
      for (const f of res.frames) if (f.type === 'method') for (const v of Object.values(f.method)) if (v instanceof FieldTable) v.toObject();
    } catch (err) {
      return t.fail(`input ${input.toString('hex')} threw ${String(err)}`);
    }
    const code = res.error === undefined ? 'none' : res.error.code;
    if (res.error !== undefined && (!(res.error instanceof CeleriacError) || !AMQP_CODES.includes(code))) return t.fail(`unexpected ${code}`);
    seen.set(code, (seen.get(code) ?? 0) + 1);
  }
  t.ok(seen.get('none')! > 0 && seen.get('ERR_AMQP_FRAME')! > 0 && seen.get('ERR_AMQP_NOT_IMPLEMENTED')! > 0, `outcomes: ${JSON.stringify([...seen])}`);
});
