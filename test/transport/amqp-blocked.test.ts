// RabbitMQ's flow control through the AMQP transport: with a memory alarm raised, RabbitMQ blocks
// the publishing connection (connection.blocked); the transport reports it ('blocked', `blocked`),
// holds later publishes, and once the alarm clears ('unblocked') every publish is confirmed and
// delivered. Nothing is lost and nothing is refused while blocked; close() of a blocked transport
// (RabbitMQ reads nothing from it, so never answers) still returns, its unconfirmed publish rejected.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { openAmqpTransport } from '../../client/transport/amqp/transport.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { until } from '../helpers/wait.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

const rabbit = await startRabbit(t);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);

t.test('blocked by a memory alarm: publishes are held, then confirmed and delivered once unblocked', async (t) => {
  const tr = await openAmqpTransport(rabbit.url, { reconnect: false });
  t.teardown(() => tr.close());
  const q = unique('q-blocked');
  await tr.assertQueue(q);
  const got: string[] = [];
  await tr.consume(q, (m) => { got.push(m.body.toString()); m.ack(); });
  const events: string[] = [];
  tr.on('blocked', () => events.push('blocked'));
  tr.on('unblocked', () => events.push('unblocked'));

  // Any use of memory is over a 1-byte watermark: the alarm goes off at once.
  await rabbit.ctl(['set_vm_memory_high_watermark', 'absolute', '1']);
  t.teardown(() => rabbit.ctl(['set_vm_memory_high_watermark', '0.4']).then(() => undefined, () => undefined));
  let firstDone = false;
  // RabbitMQ blocks a connection when it publishes during an alarm.
  const first = tr.publish('', q, 'first').then(() => { firstDone = true; });
  await until(() => tr.blocked, 20_000, "the transport's blocked flag");
  t.same(events, ['blocked']);
  const second = tr.publish('', q, 'second');
  t.notOk(firstDone, 'not confirmed while blocked');

  // A blocked connection is not read by RabbitMQ, so it never answers a close: close() is bounded
  // by requestTimeout and the publish it could not confirm is rejected, not left hanging.
  const other = await openAmqpTransport(rabbit.url, { reconnect: false, requestTimeout: 1_000 });
  const elsewhere = unique('q-given-up');
  await other.assertQueue(elsewhere);
  const cut = other.publish('', elsewhere, 'given up').then(() => 'confirmed', (e: unknown) => e);
  await until(() => other.blocked, 20_000, 'the second transport blocked too');
  const closed = await Promise.race([other.close().then(() => 'closed'), new Promise((r) => setTimeout(r, 15_000, 'hung'))]);
  t.equal(closed, 'closed', 'close() returns while RabbitMQ blocks the connection');
  t.match(await cut, { code: 'ERR_CONNECTION_CLOSED' }, 'the unconfirmed publish is rejected');

  await rabbit.ctl(['set_vm_memory_high_watermark', '0.4']);
  await Promise.all([first, second]);
  t.same(events, ['blocked', 'unblocked']);
  t.notOk(tr.blocked);
  await until(() => got.length === 2, 10_000, 'both deliveries');
  t.same(got.sort(), ['first', 'second']);
});
