// The AMQP transport's consumers against a real RabbitMQ when RabbitMQ ends them, and the link's
// edges: a consumer whose queue is deleted (basic.cancel) is reported and its channel closed; a
// consumer channel RabbitMQ closes (a delivery unacked past consumer_timeout) is reported too,
// not left silent; ack / nack with `multiple` settle every earlier delivery, so none is acked twice
// (RabbitMQ would close the channel: 406 unknown delivery tag) and close() does not overtake the last
// acks; a connection attempt that never gets an answer fails within requestTimeout; close() during a
// reconnect attempt leaves no connection open.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { isUnreachable } from '../../client/unreachable.js';
import { openAmqpTransport, type AmqpTransport, type AmqpTransportOptions } from '../../client/transport/amqp/transport.js';
import type { Delivery } from '../../client/transport/transport.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { startTcpGate } from '../helpers/tcp-gate.js';
import { until, untilAsync } from '../helpers/wait.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

const rabbit = await startRabbit(t);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);

async function open(tt: Test, options: AmqpTransportOptions = {}): Promise<AmqpTransport> {
  const tr = await openAmqpTransport(rabbit.url, { reconnect: false, ...options });
  tt.teardown(() => tr.close());
  return tr;
}

/** The channels RabbitMQ holds open for the connection named `clientName`. */
async function channelsOf(clientName: string): Promise<number> {
  // RabbitMQ 3.10 has no user_provided_name column: the name is in the client properties.
  const listed = await rabbit.ctl(['list_connections', '--quiet', '--no-table-headers', 'client_properties', 'channels']);
  const m = new RegExp(`^.*"${clientName}".*\\s(\\d+)\\s*$`, 'm').exec(listed);
  if (m === null) throw new Error(`no connection '${clientName}' in:\n${listed}`);
  return Number(m[1]);
}

/** Resolves with the next 'cancel' of `tr`, or rejects after `ms`. */
function nextCancel(tr: AmqpTransport, ms: number): Promise<{ tag: string; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 'cancel' within ${ms} ms`)), ms);
    tr.once('cancel', (tag, reason) => {
      clearTimeout(timer);
      resolve({ tag, reason });
    });
  });
}

const body = (m: Delivery): string => m.body.toString();

t.test('a consumer whose queue is deleted: cancel reported, its channel closed, consuming the queue declared again works', async (t) => {
  const name = unique('deleted-conn');
  const tr = await open(t, { clientName: name });
  const admin = await open(t);
  const q = unique('q-deleted');
  await tr.assertQueue(q);
  await tr.publish('', q, 'held');
  const got: Delivery[] = [];
  const { consumerTag } = await tr.consume(q, (m) => { got.push(m); }, { prefetch: 5 });
  await until(() => got.length === 1, 10_000, 'the delivery');
  t.equal(await channelsOf(name), 3, 'declarations, publishes, and the consumer\'s own channel');

  const cancelled = nextCancel(tr, 20_000);
  await admin.deleteQueue(q);
  const { tag, reason } = await cancelled;
  t.equal(tag, consumerTag, 'the task layer is told which consumer ended');
  t.match(reason, /deleted/);
  t.notOk(got[0]!.deliveryLive, 'its unsettled delivery is not live any more');
  got[0]!.ack(); // settles locally; nothing is sent on the closed channel
  await untilAsync(async () => (await channelsOf(name)) === 2, 30_000, 'the consumer channel to close on RabbitMQ');
  await t.rejects(tr.cancel(consumerTag), { code: 'ERR_NOT_FOUND' }, 'the consumer is forgotten');

  await tr.assertQueue(q);
  const again: string[] = [];
  await tr.consume(q, (m) => { again.push(body(m)); m.ack(); });
  await tr.publish('', q, 'after');
  await until(() => again.length === 1, 10_000, 'a delivery to the new consumer');
  t.same(again, ['after']);
  t.ok(tr.connected, 'the link went on throughout');
});

t.test('ack and nack with multiple settle every earlier delivery: acking one of them again is refused here, never sent; an ack just before close() is not lost', async (t) => {
  const tr = await open(t);
  const q = unique('q-multiple');
  await tr.assertQueue(q);
  const cancels: string[] = [];
  tr.on('cancel', (tag) => cancels.push(tag));
  const got: Delivery[] = [];
  await tr.consume(q, (m) => { got.push(m); }, { prefetch: 10 });
  for (let i = 0; i < 4; i++) await tr.publish('', q, `m${i}`);
  await until(() => got.length === 4, 10_000, 'four deliveries');
  const [m0, m1, m2, m3] = got as [Delivery, Delivery, Delivery, Delivery];
  m2.ack({ multiple: true });
  t.ok(m0.settled && m1.settled && m2.settled, 'one ack with multiple settled m0, m1 and m2');
  t.notOk(m0.deliveryLive);
  t.notOk(m3.settled, 'a later delivery is not touched');
  t.throws(() => m1.ack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' }, 'an earlier one acked again is refused locally');

  await tr.publish('', q, 'm4');
  await until(() => got.length === 5, 10_000, 'the fifth delivery');
  got[4]!.nack({ multiple: true, requeue: true });
  t.ok(m3.settled, 'nack with multiple settled m3 too');
  t.throws(() => m3.reject(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' });
  await until(() => got.length === 7, 10_000, 'the two requeued ones back');
  t.same(got.slice(5).map(body), ['m3', 'm4'], 'both came back, in queue order');
  t.ok(got[5]!.fields.redelivered);
  got[5]!.ack();
  got[6]!.ack();
  // Had a tag gone to RabbitMQ twice, it would have closed the consumer's channel (406).
  await tr.publish('', q, 'm5');
  await until(() => got.length === 8, 10_000, 'a delivery after all that');
  got[7]!.ack();
  t.same(cancels, [], 'the consumer lived on');
  // Closed right after that last ack: it must still reach RabbitMQ before the connection goes.
  await tr.close();
  const listed = await rabbit.ctl(['list_queues', '--quiet', '--no-table-headers', 'name', 'messages']);
  t.match(listed, new RegExp(`^${q}\\s+0$`, 'm'), 'every ack reached RabbitMQ (ready and unacked messages count here): nothing is requeued, nothing runs twice');
});

t.test('a consumer channel RabbitMQ closes (a delivery unacked past consumer_timeout) is reported, and consuming again gets the delivery back', async (t) => {
  // consumer_timeout and the channel tick that checks it, for channels opened from now on.
  await rabbit.ctl(['eval', 'application:set_env(rabbit, consumer_timeout, 1000), application:set_env(rabbit, channel_tick_interval, 250).']);
  t.teardown(() => rabbit.ctl(['eval', 'application:set_env(rabbit, consumer_timeout, 1800000), application:set_env(rabbit, channel_tick_interval, 60000).']));
  const tr = await open(t);
  const q = unique('q-timeout');
  await tr.assertQueue(q);
  await tr.publish('', q, 'slow');
  const held: Delivery[] = [];
  const { consumerTag } = await tr.consume(q, (m) => { held.push(m); }, { prefetch: 1 });
  await until(() => held.length === 1, 10_000, 'the delivery');
  const { tag, reason } = await nextCancel(tr, 30_000);
  t.equal(tag, consumerTag);
  t.match(reason, /PRECONDITION|timed out/, `reason: ${reason}`);
  t.notOk(held[0]!.deliveryLive, 'the delivery went back to the queue with the channel');
  t.ok(tr.connected, 'only the channel closed');
  const again: Delivery[] = [];
  await tr.consume(q, (m) => { again.push(m); m.ack(); });
  await until(() => again.length === 1, 10_000, 'the redelivery');
  t.equal(body(again[0]!), 'slow');
  t.ok(again[0]!.fields.redelivered);
});

t.test('a connection attempt that gets no answer fails within requestTimeout, as worth a retry', async (t) => {
  const gate = await startTcpGate(t, rabbit.port);
  gate.hold();
  const attempt = openAmqpTransport(`amqp://guest:guest@127.0.0.1:${gate.port}`, { reconnect: false, requestTimeout: 300 });
  const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000).unref());
  const err = await Promise.race([attempt.then((tr) => tr.close().then(() => 'connected'), (e: unknown) => e), hung]);
  t.match(err, { code: 'ERR_TIMEOUT' }, `no handshake: ${String(err)}`);
  t.ok(isUnreachable(err), 'the app\'s broker retry tries again');
});

t.test('close() while a reconnect attempt is under way: the connection that attempt opens is closed, not kept', async (t) => {
  const gate = await startTcpGate(t, rabbit.port);
  const tr = await openAmqpTransport(`amqp://guest:guest@127.0.0.1:${gate.port}`, { reconnectBackoff: { initial: 20, max: 20 } });
  t.teardown(() => tr.close());
  let reconnected = false;
  tr.on('reconnected', () => { reconnected = true; });
  gate.hold();
  gate.cut();
  await until(() => gate.held() === 1, 10_000, 'a reconnect attempt held at the gate');
  await tr.close();
  t.notOk(tr.connected);
  gate.open(); // the held attempt now gets its handshake
  await until(() => gate.held() === 0, 5_000, 'the held attempt forwarded');
  await until(() => gate.forwarded() === 0, 20_000, 'the late connection to be closed');
  t.notOk(tr.connected, 'still closed');
  t.notOk(reconnected, 'no reconnected after close');
});
