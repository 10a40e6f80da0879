// The AMQP property mapping's sharing of repeated property blocks: a publisher that sends the same
// small block with every message (amqplib's `{ persistent: true }`) gets one frozen properties
// object, whose bytes still reach AMQP consumers as they came; blocks that name one message or a
// user are never shared, so the user-id check runs for every publish. Unit tests, no sockets.
import t from 'tap';
import { ByteWriter, FieldTable, decodeProperties, writeProperties, type BasicProperties } from '../../server/amqp/codec/index.js';
import { PropertyMapping } from '../../server/amqp/message-properties.js';

/** The property flags and list of `p`, and their decoding, as a content header carries them. */
function block(p: BasicProperties): { raw: Buffer; props: BasicProperties } {
  const w = new ByteWriter(64);
  writeProperties(w, p);
  const raw = Buffer.from(w.take());
  return { raw, props: decodeProperties(raw, 0, raw.length, 10) };
}

const AMQPLIB_PERSISTENT: BasicProperties = { deliveryMode: 2, headers: FieldTable.fromObject({ a: 1 }) };

t.test('a repeated small property block gives one frozen properties object, its bytes forwarded as they came', async (t) => {
  const mapping = new PropertyMapping();
  // Two publishes' blocks: equal bytes, separate buffers (each a view of its own socket input).
  const one = block(AMQPLIB_PERSISTENT);
  const two = block(AMQPLIB_PERSISTENT);
  const a = mapping.fromAmqp(one.props, one.raw, 'guest');
  const b = mapping.fromAmqp(two.props, two.raw, 'guest');
  t.ok(a !== undefined);
  t.equal(a, b, 'the same object for the same bytes');
  t.ok(Object.isFrozen(a), 'frozen: shared by many messages');
  t.ok(Object.isFrozen(a!.headers), 'its headers too');
  t.same(a, { persistent: true, headers: { a: 1 } });
  t.same(mapping.toAmqp(b), one.raw, 'a delivery carries the bytes as published');
  // The input buffer may be reused by the socket: the kept bytes are a copy.
  one.raw.fill(0);
  t.same(mapping.toAmqp(a), two.raw);
});

t.test('blocks that name one message are not shared', async (t) => {
  const mapping = new PropertyMapping();
  for (const p of [{ messageId: 'm-1' }, { correlationId: 'c-1' }, { timestamp: 1_700_000_000 }] as BasicProperties[]) {
    const one = block({ ...p, deliveryMode: 2 });
    const a = mapping.fromAmqp(one.props, one.raw, 'guest');
    const b = mapping.fromAmqp(one.props, one.raw, 'guest');
    t.not(a, b, `${Object.keys(p)[0]}: an object per message`);
    t.same(mapping.toAmqp(b), one.raw);
  }
});

t.test('a block with user-id is checked against each connection\'s user, never taken from a shared object', async (t) => {
  const mapping = new PropertyMapping();
  const one = block({ userId: 'alice', deliveryMode: 2 });
  t.same(mapping.fromAmqp(one.props, one.raw, 'alice'), { userId: 'alice', persistent: true });
  t.throws(() => mapping.fromAmqp(one.props, one.raw, 'bob'), { code: 'ERR_PRECONDITION_FAILED' });
});

t.test('an invalid expiration is refused every time, not only the first', async (t) => {
  const mapping = new PropertyMapping();
  const bad = block({ expiration: 'soon', deliveryMode: 2 });
  for (let i = 0; i < 2; i++) {
    t.throws(() => mapping.fromAmqp(bad.props, bad.raw, 'guest'), { code: 'ERR_PRECONDITION_FAILED' });
  }
});

t.test('a copy the engine changes (a dead-lettered message) is encoded afresh, the shared object untouched', async (t) => {
  const mapping = new PropertyMapping();
  const one = block(AMQPLIB_PERSISTENT);
  const shared = mapping.fromAmqp(one.props, one.raw, 'guest')!;
  const copy = { ...shared, headers: { ...shared.headers, 'x-death': [{ queue: 'q', reason: 'rejected', count: 1 }] } };
  const bytes = mapping.toAmqp(copy);
  t.notSame(bytes, one.raw);
  const back = decodeProperties(bytes, 0, bytes.length, 10);
  t.same(Object.keys(back.headers!.toObject()).sort(), ['a', 'x-death']);
  t.same(mapping.toAmqp(shared), one.raw, 'the shared object still maps to the published bytes');
  t.same(shared.headers, { a: 1 });
});

t.test('many different small blocks: each still maps to its own bytes (the shared table starts again when full)', async (t) => {
  const mapping = new PropertyMapping();
  const blocks = Array.from({ length: 600 }, (_, i) => block({ deliveryMode: 2, priority: i % 256, type: `t${i}` }));
  const props = blocks.map((b) => mapping.fromAmqp(b.props, b.raw, 'guest')!);
  for (let i = 0; i < blocks.length; i++) {
    t.equal(props[i]!.type, `t${i}`);
    if (!Buffer.from(mapping.toAmqp(props[i])).equals(blocks[i]!.raw)) t.fail(`block ${i}: bytes differ`);
  }
  const last = blocks[599]!;
  t.equal(mapping.fromAmqp(last.props, last.raw, 'guest'), mapping.fromAmqp(last.props, last.raw, 'guest'), 'still shared after the table started again');
});
