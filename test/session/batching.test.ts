// Many frames per WebSocket message, both ways: a batch of publishes is answered by one confirm
// frame listing every id; deliveries travel many to a message; request errors inside a batch stay local.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import type { ConfirmFrame, ErrorFrame, Frame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const uniq = (tag: string): string => `${tag}-${randomUUID().slice(0, 8)}`;

t.test('a batch of durable publishes gets one confirm frame with every id', async (t) => {
  const broker = await startTestBroker(t);
  const c = await RawClient.connect(broker.url);
  t.teardown(() => c.close());
  const queue = uniq('batch');
  await c.ok({ op: OP.declareQueue, id: c.id(), name: queue, options: { durable: true } });
  const ids = Array.from({ length: 200 }, (_, i) => 1000 + i);
  const before = c.messages.length;
  c.send(ids.map((id): Frame => ({ op: OP.publish, id, exchange: '', routingKey: queue, body: new Uint8Array([id & 0xff]), props: { persistent: true } })));
  const confirm = (await c.next((f) => f.op === OP.confirm)) as ConfirmFrame;
  t.same([...confirm.ids].sort((a, b) => a - b), ids, 'one confirm frame lists all 200 ids');
  // A marker publish commits after the batch: once its confirm is here, any other confirm of the
  // batch would have come before it.
  c.send({ op: OP.publish, id: 5000, exchange: '', routingKey: queue, body: new Uint8Array([0]), props: { persistent: true } });
  await c.next((f) => f.op === OP.confirm && (f as ConfirmFrame).ids.includes(5000));
  const confirmFrames = c.messages.slice(before).flat().filter((f): f is ConfirmFrame => f.op === OP.confirm);
  t.same(confirmFrames.map((f) => f.ids.length), [200, 1], 'and no other confirm frame came');
});

t.test('publishes with id 0 are not confirmed', async (t) => {
  const broker = await startTestBroker(t);
  const c = await RawClient.connect(broker.url);
  t.teardown(() => c.close());
  const queue = uniq('noconfirm');
  await c.ok({ op: OP.declareQueue, id: c.id(), name: queue, options: {} });
  c.send([
    { op: OP.publish, id: 0, exchange: '', routingKey: queue, body: new Uint8Array([1]) },
    { op: OP.publish, id: 5, exchange: '', routingKey: queue, body: new Uint8Array([2]) },
  ]);
  const confirm = (await c.next((f) => f.op === OP.confirm)) as ConfirmFrame;
  t.same(confirm.ids, [5]);
  const info = await c.ok({ op: OP.declareQueue, id: c.id(), name: queue, options: { passive: true } }) as { messageCount: number };
  t.equal(info.messageCount, 2, 'both were taken');
});

t.test('deliveries of one turn travel in one WebSocket message', async (t) => {
  const broker = await startTestBroker(t);
  const c = await RawClient.connect(broker.url);
  t.teardown(() => c.close());
  const queue = uniq('deliver');
  await c.ok({ op: OP.declareQueue, id: c.id(), name: queue, options: {} });
  c.send(Array.from({ length: 50 }, (_, i): Frame => ({ op: OP.publish, id: i + 1, exchange: '', routingKey: queue, body: new Uint8Array([i]) })));
  await c.next((f) => f.op === OP.confirm);
  const before = c.messages.length;
  await c.ok({ op: OP.consume, id: c.id(), queue, options: { prefetch: 100 } });
  const got: number[] = [];
  while (got.length < 50) {
    const d = await c.next((f) => f.op === OP.deliver);
    if (d.op === OP.deliver) got.push(d.body[0]!);
  }
  t.same(got, Array.from({ length: 50 }, (_, i) => i), 'in order');
  const carrying = c.messages.slice(before).filter((m) => m.some((f) => f.op === OP.deliver));
  t.ok(carrying.length < 5, `50 deliveries arrived in ${carrying.length} message(s)`);
});

t.test('a request error inside a batch answers that request; the rest goes on', async (t) => {
  const broker = await startTestBroker(t, { limits: { maxBodySize: 100 } });
  const c = await RawClient.connect(broker.url);
  t.teardown(() => c.close());
  const queue = uniq('mixed');
  c.send([
    { op: OP.declareQueue, id: 1, name: queue, options: {} },
    { op: OP.publish, id: 2, exchange: 'no-such-exchange', routingKey: queue, body: new Uint8Array([1]) },
    { op: OP.publish, id: 3, exchange: '', routingKey: queue, body: new Uint8Array(101) },
    { op: OP.publish, id: 4, exchange: '', routingKey: queue, body: new Uint8Array(100) },
    { op: OP.declareQueue, id: 5, name: queue, options: { passive: true } },
  ]);
  t.equal((await c.next((f) => f.op === OP.ok && f.id === 1)).op, OP.ok);
  const e2 = (await c.next((f) => f.op === OP.error && f.id === 2)) as ErrorFrame;
  t.equal(e2.code, 'ERR_NOT_FOUND');
  const e3 = (await c.next((f) => f.op === OP.error && f.id === 3)) as ErrorFrame;
  t.equal(e3.code, 'ERR_MESSAGE_TOO_LARGE', 'a body over maxBodySize is refused, request-scoped');
  const confirm = (await c.next((f) => f.op === OP.confirm)) as ConfirmFrame;
  t.same(confirm.ids, [4]);
  const info = await c.next((f) => f.op === OP.ok && f.id === 5);
  t.match(info, { result: { messageCount: 1 } });
  t.equal(c.closed, null, 'the connection is still open');
});
