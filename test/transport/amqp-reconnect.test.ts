// The AMQP transport across a RabbitMQ restart: it reports the drop, reconnects with backoff,
// declares again and re-subscribes; nothing is lost — the unacked delivery comes back, a publish
// made while RabbitMQ was down is confirmed after it returns, a countdown held by RabbitMQ arrives —
// and a delivery of the dead channel is never settled on the new one. Meanwhile a new transport
// opened while RabbitMQ is down fails as unreachable and the app's retry gets it through.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { retryUnreachable } from '../../client/app/broker-retry.js';
import { openAmqpTransport } from '../../client/transport/amqp/transport.js';
import type { Delivery, TransportReconnecting } from '../../client/transport/transport.js';
import type { CeleriacError } from '../../shared/errors.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { until } from '../helpers/wait.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

const rabbit = await startRabbit(t);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);

t.test('a RabbitMQ restart loses nothing: redelivery, publishes made while down, a countdown; stale tags are not acked on the new channel', async (t) => {
  const tr = await openAmqpTransport(rabbit.url, { reconnectBackoff: { initial: 200, max: 1_000 } });
  t.teardown(() => tr.close());
  const ex = unique('ex');
  const q = unique('q');
  await tr.assertExchange(ex, 'direct', { durable: true });
  await tr.assertQueue(q, { durable: true });
  await tr.bindQueue(q, ex, 'work');

  const got: Delivery[] = [];
  const body = (m: Delivery): string => m.body.toString();
  // 'held' is kept unacked, both times it comes; everything else is acked on arrival.
  await tr.consume(q, (m) => {
    got.push(m);
    if (body(m) !== 'held') m.ack();
  }, { prefetch: 10 });
  await tr.publish(ex, 'work', 'held', { persistent: true });
  await until(() => got.length === 1, 10_000, 'the first delivery');
  const stale = got[0]!;
  await tr.publish(ex, 'work', 'countdown', { persistent: true, delay: 3_000 });

  const drops: TransportReconnecting[] = [];
  tr.on('reconnecting', (info) => drops.push(info));
  const reconnected = new Promise<void>((resolve) => tr.once('reconnected', resolve));
  const restarted = rabbit.restart();
  await until(() => drops.length > 0, 30_000, 'the transport to see the drop');
  t.notOk(tr.connected, 'down while RabbitMQ is');
  t.match(drops[0]!.error.code, /^ERR_(SERVER_SHUTDOWN|CONNECTION_CLOSED)$/, `the drop is coded: ${drops[0]!.error.message}`);
  t.notOk(stale.deliveryLive, 'the delivery of the dead channel is not live');

  // Published while RabbitMQ is down: held by the transport, confirmed after the reconnect.
  const during = tr.publish(ex, 'work', 'during', { persistent: true });
  // A new client opened now finds RabbitMQ unreachable and retries until it is back.
  const retries: CeleriacError[] = [];
  const late = retryUnreachable(() => openAmqpTransport(rabbit.url, { reconnect: false }), {
    maxRetries: null,
    delay: () => 300,
    onRetry: (err) => retries.push(err),
  });

  await restarted;
  await reconnected;
  t.ok(tr.connected, 'reconnected by itself');
  await during;
  t.pass('the publish made while down is confirmed');
  const other = await late;
  t.teardown(() => other.close());
  t.ok(retries.length > 0 && retries.every((e) => e.code === 'ERR_CONNECTION_CLOSED'), `the new client retried ${retries.length} time(s) on ERR_CONNECTION_CLOSED`);

  await until(() => got.some((m) => m !== stale && body(m) === 'held'), 20_000, 'the unacked message again');
  const copy = got.find((m) => m !== stale && body(m) === 'held')!;
  t.ok(copy.fields.redelivered, 'redelivered after the restart');
  // Settling the dead channel's delivery sends nothing: its tag on the new channel would name another delivery.
  t.doesNotThrow(() => stale.ack());
  t.ok(copy.deliveryLive, 'the new copy is still unacked');
  copy.ack();
  await tr.publish(ex, 'work', 'after', { persistent: true });
  await until(() => ['during', 'countdown', 'after'].every((b) => got.some((m) => body(m) === b)), 20_000, 'during, countdown and after');
  t.equal(got.filter((m) => body(m) === 'countdown').length, 1, 'the countdown arrived once');
  // Had the stale ack gone out on the new channel, acking the copy would have failed the channel and 'after' would never come.
  t.equal((await tr.assertQueue(q, { passive: true })).messageCount, 0, 'the queue is empty: everything delivered and acked');
});
