// Delayed delivery on the AMQP transport is held by RabbitMQ (delay-level queues with per-message
// TTL dead-lettering back to the target): a countdown sits in its delay queue, not in the target
// queue nor in any client, arrives no earlier than its delay, routes back through a named exchange
// or the default one, keeps its properties, is not held up by a longer delay, reaches a queue deleted
// and declared again (by this transport, or by another client from under its consumer), and survives the consumer (and the transport that published it) going away
// before it is due.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { openAmqpTransport, type AmqpTransport } from '../../client/transport/amqp/transport.js';
import { delayLevel, delayQueueName } from '../../client/transport/amqp/delay.js';
import type { Delivery } from '../../client/transport/transport.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { until, untilAsync } from '../helpers/wait.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

const rabbit = await startRabbit(t);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);

async function open(tt: Test): Promise<AmqpTransport> {
  const tr = await openAmqpTransport(rabbit.url, { reconnect: false });
  tt.teardown(() => tr.close());
  return tr;
}

/** Messages ready in a queue (queue.declare-ok's count, passive: it only looks). */
async function depth(tr: AmqpTransport, queue: string): Promise<number> {
  return (await tr.assertQueue(queue, { passive: true })).messageCount;
}

t.test('a countdown through a direct exchange waits in its delay queue and arrives no earlier than its delay', async (t) => {
  const tr = await open(t);
  const ex = unique('ex');
  const q = unique('q');
  await tr.assertExchange(ex, 'direct');
  await tr.assertQueue(q, { maxPriority: 5 });
  await tr.bindQueue(q, ex, q);
  const got: Array<{ m: Delivery; at: number }> = [];
  await tr.consume(q, (m) => { got.push({ m, at: Date.now() }); m.ack(); });
  const delay = 2_500;
  const sent = Date.now();
  await tr.publish(ex, q, 'later', { delay, priority: 3, headers: { task: 'add' }, contentType: 'application/json' });
  // Confirmed: RabbitMQ holds it in the level's queue, the target queue has nothing.
  t.equal(got.length, 0, 'not delivered at the confirm');
  t.equal(await depth(tr, delayQueueName(delayLevel(delay))), 1, 'RabbitMQ holds it in the delay queue');
  t.equal(await depth(tr, q), 0, 'the target queue does not have it yet');
  await until(() => got.length === 1, 20_000, 'the delayed delivery');
  const { m, at } = got[0]!;
  t.ok(at - sent >= delay, `never early: arrived ${at - sent} ms after the publish, delay ${delay} ms`);
  t.equal(m.body.toString(), 'later');
  t.equal(m.fields.exchange, ex, 'delivered through the target exchange');
  t.equal(m.fields.routingKey, q, 'with its routing key');
  t.equal(m.properties.priority, 3);
  t.equal(m.properties.contentType, 'application/json');
  t.same(m.properties.headers, { task: 'add' }, 'its own headers, without the delay route\'s');
  t.equal(m.properties.expiration, undefined, 'the delay TTL does not follow the message');
});

t.test('a short delay is not held behind a longer one; the default exchange works as a target', async (t) => {
  const tr = await open(t);
  const q = unique('q-default');
  await tr.assertQueue(q);
  const order: string[] = [];
  await tr.consume(q, (m) => { order.push(m.body.toString()); m.ack(); });
  await tr.publish('', q, 'long', { delay: 4_000 });
  await tr.publish('', q, 'short', { delay: 300 });
  await until(() => order.length === 2, 20_000, 'both delayed deliveries');
  t.same(order, ['short', 'long']);
});

t.test('a queue deleted and declared again through the same transport still gets its countdowns: the way back is bound again', async (t) => {
  const tr = await open(t);
  const q = unique('q-again');
  await tr.assertQueue(q);
  await tr.publish('', q, 'first', { delay: 200 });
  await untilAsync(async () => (await depth(tr, q)) === 1, 10_000, 'the first countdown');
  // Deleting the queue takes its binding to the delay route with it.
  await tr.deleteQueue(q);
  await tr.assertQueue(q);
  await tr.publish('', q, 'second', { delay: 200 });
  await untilAsync(async () => (await depth(tr, q)) === 1, 10_000, 'the second countdown, not dropped by RabbitMQ for want of a route');
});

t.test('a queue deleted from outside (its consumer cancelled) and declared again still gets its countdowns', async (t) => {
  const tr = await open(t);
  const admin = await open(t);
  const q = unique('q-outside');
  await tr.assertQueue(q);
  const got: string[] = [];
  await tr.consume(q, (m) => { got.push(m.body.toString()); m.ack(); });
  await tr.publish('', q, 'first', { delay: 200 });
  await until(() => got.length === 1, 10_000, 'the first countdown');
  // Another client deletes it: this transport hears only basic.cancel, and the queue's binding to
  // the delay route is gone with it.
  const cancelled = new Promise<void>((resolve) => tr.once('cancel', () => resolve()));
  await admin.deleteQueue(q);
  await cancelled;
  await tr.assertQueue(q);
  await tr.consume(q, (m) => { got.push(m.body.toString()); m.ack(); });
  await tr.publish('', q, 'second', { delay: 200 });
  await until(() => got.length === 2, 10_000, 'the second countdown, not dropped by RabbitMQ for want of a route');
  t.same(got, ['first', 'second']);
});

t.test('a countdown survives its consumer and publisher going away: RabbitMQ holds it, not a worker', async (t) => {
  const q = unique('q-restart');
  const delay = 2_000;
  const first = await openAmqpTransport(rabbit.url, { reconnect: false });
  await first.assertQueue(q);
  const early: Delivery[] = [];
  await first.consume(q, (m) => { early.push(m); });
  const sent = Date.now();
  await first.publish('', q, 'countdown', { delay });
  // The worker stops before the countdown is due.
  await first.close();
  t.equal(early.length, 0, 'nothing arrived before the worker stopped');
  const second = await open(t);
  t.equal(await depth(second, delayQueueName(delayLevel(delay))), 1, 'RabbitMQ holds the countdown while no worker runs');

  const got: Array<{ m: Delivery; at: number }> = [];
  await second.consume(q, (m) => { got.push({ m, at: Date.now() }); m.ack(); });
  await until(() => got.length === 1, 20_000, 'the countdown on the new worker');
  t.equal(got[0]!.m.body.toString(), 'countdown');
  t.ok(got[0]!.at - sent >= delay, 'not before its delay');
});

t.test('delay with an expiration is refused; the levels never round a delay down', async (t) => {
  const tr = await open(t);
  await t.rejects(tr.publish('', unique('q'), 'x', { delay: 1_000, expiration: 5_000 }), { code: 'ERR_INVALID_ARGUMENT' });
  for (const ms of [1, 99, 100, 101, 1_000, 59_999, 3_600_000, 86_400_000 * 30]) {
    const level = delayLevel(ms);
    const bound = (l: number): number => Math.ceil(100 * 2 ** (l / 8));
    t.ok(bound(level) >= ms && (level === 0 || bound(level - 1) < ms), `${ms} ms -> level ${level}`);
    t.ok(level === 0 || bound(level) - ms < ms * 0.0906 + 1, `${ms} ms: at most ~9% late`);
  }
});
