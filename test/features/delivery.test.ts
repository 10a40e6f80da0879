// Delivery end to end: prefetch, round-robin, ack/nack/reject, multiple, redelivery on a dropped
// connection, the consumer ack timeout, cancel and the cancel notice, get.
import t from 'tap';
import type { Message } from '../../client/index.js';
import { bodies, brokerAndClient, collect, unique, until, untilAsync } from './feature-helpers.js';

t.test('prefetch bounds unacked deliveries per consumer', async (t) => {
  const { conn } = await brokerAndClient(t);
  const q = unique('pf');
  await conn.assertQueue(q);
  for (let i = 0; i < 10; i++) await conn.publish('', q, Buffer.from(String(i)));
  const held: Message[] = [];
  await conn.consume(q, (m) => { held.push(m); }, { prefetch: 3 });
  await until(() => held.length === 3);
  // The broker's own count is the proof: seven held back as ready, not a pause that hopes to see a fourth.
  t.equal((await conn.checkQueue(q)).messageCount, 7, 'the other seven stay ready while three are unacked');
  t.equal(held.length, 3, 'no fourth delivery while three are unacked');
  held[0]!.ack();
  await until(() => held.length === 4);
  t.same(bodies(held), ['0', '1', '2', '3']);
});

t.test('fair round-robin between consumers', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const other = await open();
  const q = unique('rr');
  await conn.assertQueue(q);
  const a = await collect(conn, q, { prefetch: 1 });
  const b = await collect(other, q, { prefetch: 1 });
  for (let i = 0; i < 20; i++) await conn.publish('', q, Buffer.from(String(i)));
  await until(() => a.msgs.length + b.msgs.length === 20);
  t.ok(Math.abs(a.msgs.length - b.msgs.length) <= 2, `balanced: ${a.msgs.length} vs ${b.msgs.length}`);
});

t.test('nack with requeue redelivers flagged, with the delivery count', async (t) => {
  const { conn } = await brokerAndClient(t);
  const q = unique('nack');
  await conn.assertQueue(q);
  await conn.publish('', q, Buffer.from('x'));
  const seen: { redelivered: boolean; count: number }[] = [];
  await conn.consume(q, (m) => {
    seen.push({ redelivered: m.fields.redelivered, count: m.fields.deliveryCount });
    if (seen.length === 1) m.nack({ requeue: true });
    else m.ack();
  }, { prefetch: 1 });
  await until(() => seen.length === 2);
  t.same(seen, [{ redelivered: false, count: 1 }, { redelivered: true, count: 2 }]);
  await untilAsync(async () => (await conn.checkQueue(q)).messageCount === 0, 10_000, 'the queue to be empty after the ack');
});

t.test('reject without requeue and no DLX drops the message', async (t) => {
  const { conn } = await brokerAndClient(t);
  const q = unique('rej');
  await conn.assertQueue(q);
  await conn.publish('', q, Buffer.from('x'));
  const m = await conn.get(q);
  m!.reject({ requeue: false });
  // The reject leaves before the next request on this socket (the outbox writes settlements first);
  // a bounded poll still covers a broker that applied it later.
  await untilAsync(async () => (await conn.checkQueue(q)).messageCount === 0, 10_000, 'the rejected message to be dropped');
  t.equal(await conn.get(q), null, 'not requeued');
});

t.test('unacked messages are requeued the moment the connection drops', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const q = unique('drop');
  await conn.assertQueue(q, { durable: true });
  for (let i = 0; i < 5; i++) await conn.publish('', q, Buffer.from(String(i)), { persistent: true });
  const flaky = await open();
  const held: Message[] = [];
  await flaky.consume(q, (m) => { held.push(m); }, { prefetch: 5 });
  await until(() => held.length === 5);
  held[0]!.ack();
  // No pause needed: the outbox writes the pending ack before the close frame.
  await flaky.close();
  const c = await collect(conn, q);
  await until(() => c.msgs.length === 4);
  t.same(bodies(c.msgs), ['1', '2', '3', '4'], 'in their original order');
  t.ok(c.msgs.every((m) => m.fields.redelivered));
});

t.test('consumer ack timeout cancels the consumer and requeues', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const q = unique('slow');
  await conn.assertQueue(q, { consumerTimeout: 200 });
  await conn.publish('', q, Buffer.from('x'));
  const slow = await open();
  const cancels: [string, string][] = [];
  slow.on('cancel', (tag: string, reason: string) => cancels.push([tag, reason]));
  const held: Message[] = [];
  const { consumerTag } = await slow.consume(q, (m) => { held.push(m); }, { prefetch: 1 });
  await until(() => cancels.length === 1, 5_000, 'cancel notice');
  t.equal(cancels[0]![0], consumerTag);
  t.match(cancels[0]![1], /ACK_TIMEOUT/);
  const c = await collect(conn, q);
  await until(() => c.msgs.length === 1);
  t.ok(c.msgs[0]!.fields.redelivered);
});

t.test('deleting a queue sends consumers a cancel notice', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const q = unique('del');
  await conn.assertQueue(q);
  const sub = await open();
  const cancels: string[] = [];
  sub.on('cancel', (tag: string) => cancels.push(tag));
  const { consumerTag } = await sub.consume(q, () => undefined);
  await conn.publish('', q, Buffer.from('x'));
  const r = await conn.deleteQueue(q);
  t.type(r.messageCount, 'number');
  await until(() => cancels.length === 1);
  t.same(cancels, [consumerTag]);
});

t.test('ack multiple, cancel, purge and get', async (t) => {
  const { conn } = await brokerAndClient(t);
  const q = unique('multi');
  await conn.assertQueue(q);
  for (let i = 0; i < 6; i++) await conn.publish('', q, Buffer.from(String(i)));
  t.equal(await conn.get(unique('empty-never-declared')).catch((e: { code: string }) => e.code), 'ERR_NOT_FOUND');
  const first = await conn.get(q);
  t.equal(first!.body.toString(), '0');
  t.equal(first!.fields.deliveryCount, 1);
  first!.ack();
  const held: Message[] = [];
  const { consumerTag } = await conn.consume(q, (m) => { held.push(m); }, { prefetch: 3 });
  await until(() => held.length === 3);
  await conn.cancel(consumerTag);
  held[2]!.ack({ multiple: true });
  t.ok(held[0]!.settled && held[1]!.settled, 'the earlier deliveries are settled by the multiple ack');
  t.throws(() => held[0]!.ack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' }, 'acking an earlier one again throws');
  t.throws(() => held[1]!.ack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' });
  // The multiple ack leaves before the next request on this socket (the outbox writes settlements first).
  await untilAsync(async () => (await conn.checkQueue(q)).messageCount === 2, 10_000, 'two messages left ready');
  const info = await conn.checkQueue(q);
  t.equal(info.messageCount, 2, 'three settled by one multiple ack; two left ready');
  t.equal(info.consumerCount, 0);
  t.equal((await conn.purgeQueue(q)).messageCount, 2);
  t.equal(await conn.get(q), null);
});
