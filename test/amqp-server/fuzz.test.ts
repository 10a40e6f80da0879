// Garbage, truncated and malformed frames on raw sockets: each is answered with the spec's reply code
// (501 frame-error, 502 syntax-error, 503 command-invalid, 505 unexpected-frame, 540 not-implemented)
// or a channel error, never an internal error, and the broker goes on serving every other connection.
import t from 'tap';
import { ByteWriter, FieldTable, encodeContentCommand, encodeMethodFrame, type MethodInput } from '../../server/amqp/codec/index.js';
import { AmqpRawClient } from '../helpers/amqp-raw-client.js';
import { rng } from '../helpers/rng.js';
import { startAmqpBroker } from './amqp-helpers.js';

/** A frame of `type` on `channel` with `payload`, and the frame-end octet given (0xce is right). */
function frame(type: number, channel: number, payload: Buffer, end = 0xce): Buffer {
  const head = Buffer.alloc(7);
  head[0] = type;
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([end])]);
}

const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };

t.test('malformed frames get the spec\'s reply code and name the method; the broker stays up', async (t) => {
  const errors: string[] = [];
  const broker = await startAmqpBroker(t, { log: (level, msg) => { if (level === 'error') errors.push(msg); } });
  const declare = encodeMethodFrame(1, { name: 'queue.declare', queue: 'q' });
  const cases: [string, Buffer, number, number?, number?][] = [
    ['a bad frame-end octet', Buffer.concat([declare.subarray(0, -1), Buffer.from([0x00])]), 501],
    ['an unknown frame type', frame(9, 1, Buffer.alloc(4)), 501],
    ['a heartbeat on channel 1', frame(8, 1, Buffer.alloc(0)), 501],
    ['a frame larger than frame-max', Buffer.concat([Buffer.from([1, 0, 1]), u32(200_000)]), 501],
    ['a method frame too short for its id', frame(1, 1, Buffer.from([0, 50])), 501],
    ['an unknown class', frame(1, 1, u32((999 << 16) | 10)), 540, 999, 10],
    ['an unknown method of a known class', frame(1, 1, u32((50 << 16) | 99)), 503, 50, 99],
    ['arguments running past the frame', frame(1, 1, Buffer.concat([u32((50 << 16) | 10), Buffer.from([0, 0, 200])])), 501, 50, 10],
    ['bytes after the last argument', frame(1, 1, Buffer.concat([declare.subarray(7, -1), Buffer.from([1, 2, 3])])), 501, 50, 10],
    ['an unknown field-table tag', frame(1, 1, Buffer.concat([u32((50 << 16) | 10), Buffer.from([0, 0, 1, 0x71, 0]), u32(3), Buffer.from([1, 0x6b, 0x3f])])), 502, 50, 10],
    ['a content header with a weight', Buffer.concat([encodeMethodFrame(1, { name: 'basic.publish', routingKey: 'q' }), frame(2, 1, Buffer.from([0, 60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]))]), 502],
    ['a content header of another class', Buffer.concat([encodeMethodFrame(1, { name: 'basic.publish', routingKey: 'q' }), frame(2, 1, Buffer.from([0, 50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]))]), 505],
    ['a method where the content header must come', Buffer.concat([encodeMethodFrame(1, { name: 'basic.publish', routingKey: 'q' }), declare]), 505, 60, 40],
    ['more body than announced', Buffer.concat([encodeMethodFrame(1, { name: 'basic.publish', routingKey: 'q' }), frame(2, 1, Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0])), frame(3, 1, Buffer.from('toolong'))]), 501, 60, 40],
    ['a content header on channel 0', frame(2, 0, Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0])), 505],
  ];
  for (const [what, bytes, code, classId, methodId] of cases) {
    const c = await AmqpRawClient.connect(broker.amqpPort!);
    await c.openChannel(1);
    c.send(bytes);
    const close = await c.expect('connection.close', 0);
    t.equal(close.replyCode, code, `${what}: ${close.replyText}`);
    if (classId !== undefined) t.same([close.classId, close.methodId], [classId, methodId], `${what}: ids`);
    c.method(0, { name: 'connection.close-ok' });
    await c.whenClosed();
  }
  t.same(errors, [], 'no internal error logged');
});

t.test('truncated frames and sockets cut mid-frame leave nothing behind', async (t) => {
  const broker = await startAmqpBroker(t);
  const body = Buffer.alloc(10_000, 0x61);
  const publish = encodeContentCommand(1, { name: 'basic.publish', routingKey: 'cut' }, {}, body, 4096);
  for (const cut of [1, 5, 7, 12, 20, publish.length - 1]) {
    const c = await AmqpRawClient.connect(broker.amqpPort!);
    await c.openChannel(1);
    c.method(1, { name: 'queue.declare', queue: 'cut' });
    await c.expect('queue.declare-ok', 1);
    c.send(publish.subarray(0, cut));
    await new Promise((r) => setTimeout(r, 20));
    c.destroy();
    await c.whenClosed();
  }
  // A truncated protocol header, then silence and a cut.
  const h = await AmqpRawClient.open(broker.amqpPort!);
  h.send(Buffer.from('AMQ'));
  h.destroy();
  const probe = await AmqpRawClient.connect(broker.amqpPort!);
  await probe.openChannel(1);
  probe.method(1, { name: 'queue.declare', queue: 'cut', passive: true });
  const ok = await probe.expect('queue.declare-ok', 1);
  t.equal(ok.messageCount, 0, 'no partial message was taken');
  probe.destroy();
});

t.test('seeded random garbage and mutated frames: a spec reply code or a channel error, never 541; others unaffected', async (t) => {
  const seed = Number(process.env.AMQP_FUZZ_SEED ?? 12);
  const r = rng(seed);
  const errors: string[] = [];
  const broker = await startAmqpBroker(t, { log: (level, msg) => { if (level === 'error') errors.push(msg); } });
  // A bystander with a consumer: it must see every message published to it, whatever the others do.
  const bystander = await AmqpRawClient.connect(broker.amqpPort!);
  await bystander.openChannel(1);
  bystander.method(1, { name: 'queue.declare', queue: 'bystander' });
  await bystander.expect('queue.declare-ok', 1);
  bystander.method(1, { name: 'basic.consume', queue: 'bystander', consumerTag: 'b', noAck: true });
  await bystander.expect('basic.consume-ok', 1);
  const templates: MethodInput[] = [
    { name: 'queue.declare', queue: 'fz', arguments: FieldTable.fromObject({ 'x-max-length': 5 }) },
    { name: 'exchange.declare', exchange: 'fzx', type: 'topic' },
    { name: 'queue.bind', queue: 'fz', exchange: 'fzx', routingKey: 'a.#' },
    { name: 'basic.consume', queue: 'fz', consumerTag: 'c' },
    { name: 'basic.ack', deliveryTag: 1 },
    { name: 'basic.qos', prefetchCount: 3 },
    { name: 'confirm.select' },
  ];
  const rounds = 40;
  let answered = 0;
  for (let i = 0; i < rounds; i++) {
    const c = await AmqpRawClient.connect(broker.amqpPort!);
    await c.openChannel(1);
    const w = new ByteWriter();
    for (let k = 0; k < 3; k++) {
      const m = templates[Math.floor(r() * templates.length)]!;
      const bytes = r() < 0.3
        ? encodeContentCommand(1, { name: 'basic.publish', exchange: 'fzx', routingKey: 'a.b' }, { headers: FieldTable.fromObject({ k }) }, Buffer.from('payload'), 4096)
        : encodeMethodFrame(1, m);
      w.bytes(bytes);
    }
    const bytes = Buffer.from(w.take());
    const mode = r();
    if (mode < 0.5) {
      for (let k = 0; k < 1 + Math.floor(r() * 4); k++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
    } else if (mode < 0.7) {
      c.send(bytes.subarray(0, Math.floor(r() * bytes.length)));
    } else {
      c.send(Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256))));
    }
    if (mode < 0.5) c.send(bytes);
    // Whatever happened, a close (if any) carries a code of the spec, and never 541 internal-error.
    const close = await c.next((f) => f.type === 'method' && (f.method.name === 'connection.close' || f.method.name === 'channel.close'), 300).catch(() => null);
    if (close !== null && close.type === 'method' && (close.method.name === 'connection.close' || close.method.name === 'channel.close')) {
      answered++;
      t.not(close.method.replyCode, 541, `seed ${seed} round ${i}: ${close.method.replyText}`);
      t.ok([403, 404, 405, 406, 501, 502, 503, 504, 505, 530, 540].includes(close.method.replyCode), `seed ${seed} round ${i}: ${close.method.replyCode} is a spec code`);
    }
    c.destroy();
    await c.whenClosed();
  }
  t.ok(answered > rounds / 3, `most rounds were answered with an error (${answered} of ${rounds})`);
  // The bystander still gets what is published to it, and new connections are served.
  const pub = await AmqpRawClient.connect(broker.amqpPort!);
  await pub.openChannel(1);
  pub.content(1, { name: 'basic.publish', routingKey: 'bystander' }, {}, Buffer.from('still here'));
  await bystander.expect('basic.deliver', 1);
  t.same(errors, [], 'no internal error logged');
  pub.destroy();
  bystander.destroy();
});
