// celeriac's own amqp:// transport (client/transport/amqp/, written against RabbitMQ) on broker-server's
// AMQP listener: declares as kombu does, publishes with confirms (ERR_NO_ROUTE, ERR_QUEUE_FULL from a
// nack), consumes with prefetch, nack/reject, priorities, and countdowns through its delay queues
// (classic queues, per-message TTL dead-lettering to a headers exchange bound exchange-to-exchange).
import t, { type Test } from 'tap';
import { openAmqpTransport, type AmqpTransport } from '../../client/transport/amqp/transport.js';
import { delayLevel, delayQueueName } from '../../client/transport/amqp/delay.js';
import type { Delivery } from '../../client/transport/transport.js';
import { until } from '../helpers/wait.js';
import { startAmqpBroker, unique } from './amqp-helpers.js';

const broker = await startAmqpBroker(t);

async function open(tt: Test): Promise<AmqpTransport> {
  const tr = await openAmqpTransport(broker.amqpUrl, { reconnect: false });
  tt.teardown(() => tr.close());
  return tr;
}

t.test('declares, topic routing, confirms; mandatory with no route is ERR_NO_ROUTE; a full reject-publish queue is ERR_QUEUE_FULL', async (t) => {
  const tr = await open(t);
  const ex = unique('tr-topic');
  t.same(await tr.assertExchange(ex, 'topic', { durable: true }), { exchange: ex });
  const q = unique('tr-q');
  t.match(await tr.assertQueue(q, { durable: true, maxPriority: 9 }), { queue: q, messageCount: 0 });
  await tr.bindQueue(q, ex, 'task.#');
  await tr.publish(ex, 'task.add', 'routed', { persistent: true });
  t.equal((await tr.assertQueue(q, { passive: true })).messageCount, 1);
  await t.rejects(tr.publish(ex, 'nothing.here', 'lost', { mandatory: true }), { code: 'ERR_NO_ROUTE' });
  const full = unique('tr-full');
  await tr.assertQueue(full, { maxLength: 1, overflow: 'reject-publish' });
  await tr.publish('', full, 'one');
  await t.rejects(tr.publish('', full, 'two'), { code: 'ERR_QUEUE_FULL' });
  await t.rejects(tr.assertQueue(q, { durable: true, maxPriority: 5 }), { code: 'ERR_PRECONDITION_FAILED' }, 'a disagreeing declare');
  t.match(await tr.assertQueue(unique('after')), { messageCount: 0 }, 'the link goes on');
});

t.test('prefetch holds deliveries back; nack requeues as redelivered; reject drops; priorities first', async (t) => {
  const tr = await open(t);
  const q = unique('tr-prefetch');
  await tr.assertQueue(q);
  for (let i = 0; i < 5; i++) await tr.publish('', q, `m${i}`);
  const held: Delivery[] = [];
  const later: Delivery[] = [];
  let autoAck = false;
  await tr.consume(q, (m) => {
    if (!autoAck) { held.push(m); return; }
    later.push(m);
    m.ack();
  }, { prefetch: 2 });
  await until(() => held.length === 2, 5_000, 'two deliveries');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(held.length, 2, 'nothing more while both are unacked');
  autoAck = true;
  held[0]!.nack({ requeue: true });
  held[1]!.reject();
  await until(() => later.length === 4, 5_000, 'the rest');
  t.ok(later.find((m) => m.body.toString() === 'm0')?.fields.redelivered, 'the requeued one is redelivered');
  t.same(later.map((m) => m.body.toString()).sort(), ['m0', 'm2', 'm3', 'm4']);

  const pq = unique('tr-prio');
  await tr.assertQueue(pq, { maxPriority: 9 });
  for (const [body, priority] of [['low', 1], ['mid', 5], ['high', 9]] as const) await tr.publish('', pq, body, { priority });
  const order: string[] = [];
  await tr.consume(pq, (m) => { order.push(m.body.toString()); m.ack(); }, { prefetch: 1 });
  await until(() => order.length === 3, 5_000, 'three deliveries');
  t.same(order, ['high', 'mid', 'low']);
});

t.test('a countdown waits in its delay queue and comes back through the target exchange, never early', async (t) => {
  const tr = await open(t);
  const ex = unique('tr-direct');
  const q = unique('tr-later');
  await tr.assertExchange(ex, 'direct');
  await tr.assertQueue(q, { maxPriority: 5 });
  await tr.bindQueue(q, ex, q);
  const got: { m: Delivery; at: number }[] = [];
  await tr.consume(q, (m) => { got.push({ m, at: Date.now() }); m.ack(); });
  const delay = 600;
  const sent = Date.now();
  await tr.publish(ex, q, 'later', { delay, priority: 3, headers: { task: 'add' }, contentType: 'application/json' });
  t.equal((await tr.assertQueue(delayQueueName(delayLevel(delay)), { passive: true })).messageCount, 1, 'held in the delay queue');
  t.equal(got.length, 0);
  await until(() => got.length === 1, 10_000, 'the delayed delivery');
  const { m, at } = got[0]!;
  t.ok(at - sent >= delay, `arrived ${at - sent} ms after a delay of ${delay} ms`);
  t.match(m.fields, { exchange: ex, routingKey: q });
  t.match(m.properties, { priority: 3, contentType: 'application/json' });
  t.same(m.properties.headers, { task: 'add' }, 'its own headers, without the delay route\'s');
  // The default exchange as a target: routed back by the queue bound on the route exchange's headers.
  const direct = unique('tr-default');
  await tr.assertQueue(direct);
  const back: Delivery[] = [];
  await tr.consume(direct, (d) => { back.push(d); d.ack(); });
  await tr.publish('', direct, 'via default', { delay: 200 });
  await until(() => back.length === 1, 10_000, 'the delayed delivery through the default exchange');
  t.equal(back[0]!.body.toString(), 'via default');
});
