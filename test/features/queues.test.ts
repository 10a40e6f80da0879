// Queue arguments end to end: TTL, expiration, expires, max length + overflow, dead-lettering
// with reasons, priority, delivery limit, delayed delivery, exclusive, auto-delete.
import t from 'tap';
import { bodies, brokerAndClient, collect, listedQueues, unique, until, untilAsync } from './feature-helpers.js';

function deathOf(headers: Record<string, unknown> | undefined): { reason: string; queue: string; count: number } {
  const deaths = (headers?.['x-death'] ?? []) as { reason: string; queue: string; count: number }[];
  return deaths[0]!;
}

t.test('message TTL and per-message expiration dead-letter with reason expired', async (t) => {
  const { conn } = await brokerAndClient(t);
  const dlx = unique('dlx');
  const dead = unique('dead');
  const q = unique('ttl');
  await conn.assertExchange(dlx, 'fanout');
  await conn.assertQueue(dead);
  await conn.bindQueue(dead, dlx, '');
  await conn.assertQueue(q, { messageTtl: 150, deadLetterExchange: dlx });
  await conn.publish('', q, Buffer.from('queue-ttl'));
  const q2 = unique('exp');
  await conn.assertQueue(q2, { deadLetterExchange: dlx });
  await conn.publish('', q2, Buffer.from('msg-exp'), { expiration: 100 });
  await conn.publish('', q2, Buffer.from('lives'));
  const d = await collect(conn, dead);
  await until(() => d.msgs.length === 2, 5_000, 'two expired messages');
  t.same(bodies(d.msgs).sort(), ['msg-exp', 'queue-ttl']);
  for (const m of d.msgs) t.equal(deathOf(m.properties.headers).reason, 'expired');
  t.equal(d.msgs.find((m) => m.body.toString() === 'queue-ttl')!.properties.headers!['x-first-death-queue'], q);
  t.equal((await conn.checkQueue(q2)).messageCount, 1, 'the expired head left; the message without expiration stays');
});

t.test('queue expires: an unused queue is deleted', async (t) => {
  const { broker, conn } = await brokerAndClient(t);
  const q = unique('gone');
  await conn.assertQueue(q, { expires: 200 });
  // Watched through the management API: a passive declare would count as a use and keep it alive.
  await untilAsync(async () => !(await listedQueues(broker)).includes(q), 15_000, 'the unused queue to expire');
  await t.rejects(conn.checkQueue(q), { code: 'ERR_NOT_FOUND' });
});

t.test('maxLength drop-head dead-letters the oldest with reason maxlen; reject-publish refuses', async (t) => {
  const { conn } = await brokerAndClient(t);
  const dead = unique('dead');
  await conn.assertQueue(dead);
  const q = unique('cap');
  await conn.assertQueue(q, { maxLength: 2, deadLetterExchange: '', deadLetterRoutingKey: dead });
  for (const b of ['1', '2', '3']) await conn.publish('', q, Buffer.from(b));
  t.equal((await conn.checkQueue(q)).messageCount, 2);
  const got = await conn.get(dead);
  t.equal(got?.body.toString(), '1');
  t.equal(deathOf(got?.properties.headers).reason, 'maxlen');
  got?.ack();
  const r = unique('reject');
  await conn.assertQueue(r, { maxLength: 1, overflow: 'reject-publish' });
  await conn.publish('', r, Buffer.from('a'));
  await t.rejects(conn.publish('', r, Buffer.from('b')), { code: 'ERR_QUEUE_FULL' });
  t.equal((await conn.checkQueue(r)).messageCount, 1);
});

t.test('reject without requeue dead-letters with reason rejected and the DLX routing key', async (t) => {
  const { conn } = await brokerAndClient(t);
  const dlx = unique('dlx');
  const dead = unique('dead');
  await conn.assertExchange(dlx, 'direct');
  await conn.assertQueue(dead);
  await conn.bindQueue(dead, dlx, 'dead.key');
  const q = unique('work');
  await conn.assertQueue(q, { deadLetterExchange: dlx, deadLetterRoutingKey: 'dead.key' });
  await conn.publish('', q, Buffer.from('bad'), { headers: { keep: 'me' } });
  const m = await conn.get(q);
  m!.reject();
  const d = await collect(conn, dead);
  await until(() => d.msgs.length === 1);
  const got = d.msgs[0]!;
  t.equal(got.fields.routingKey, 'dead.key');
  t.equal(got.properties.headers!['keep'], 'me');
  t.equal(deathOf(got.properties.headers).reason, 'rejected');
  t.equal(deathOf(got.properties.headers).queue, q);
  const time = (got.properties.headers!['x-death'] as { time: number }[])[0]!.time;
  t.ok(Math.abs(time - Date.now() / 1000) < 60, 'x-death time is in seconds, as RabbitMQ writes it');
});

t.test('deliveryLimit sends a poison message to the DLX with reason delivery-limit', async (t) => {
  const { conn } = await brokerAndClient(t);
  const dead = unique('dead');
  await conn.assertQueue(dead);
  const q = unique('poison');
  await conn.assertQueue(q, { deliveryLimit: 2, deadLetterExchange: '', deadLetterRoutingKey: dead });
  await conn.publish('', q, Buffer.from('poison'));
  const counts: number[] = [];
  await conn.consume(q, (m) => { counts.push(m.fields.deliveryCount); m.nack({ requeue: true }); }, { prefetch: 1 });
  const d = await collect(conn, dead);
  await until(() => d.msgs.length === 1);
  t.same(counts, [1, 2, 3], 'delivered limit + 1 times, then dead-lettered');
  t.equal(deathOf(d.msgs[0]!.properties.headers).reason, 'delivery-limit');
});

t.test('maxPriority: higher priority first', async (t) => {
  const { conn } = await brokerAndClient(t);
  const q = unique('prio');
  await conn.assertQueue(q, { maxPriority: 10 });
  for (const [b, p] of [['low', 1], ['none', 0], ['high', 9], ['mid', 5], ['over', 200]] as const) await conn.publish('', q, Buffer.from(b), { priority: p });
  const got: string[] = [];
  for (let m = await conn.get(q, { noAck: true }); m !== null; m = await conn.get(q, { noAck: true })) got.push(m.body.toString());
  t.same(got, ['over', 'high', 'mid', 'low', 'none'], 'priority 200 counts as maxPriority 10, above 9');
});

t.test('delayed delivery: the broker holds the message until due', async (t) => {
  const { conn } = await brokerAndClient(t);
  const q = unique('delay');
  await conn.assertQueue(q, { durable: true });
  const sent = Date.now();
  await conn.publish('', q, Buffer.from('later'), { delay: 400, persistent: true });
  await conn.publish('', q, Buffer.from('now'));
  const c = await collect(conn, q);
  await until(() => c.msgs.length === 2, 5_000);
  t.same(bodies(c.msgs), ['now', 'later']);
  t.ok(Date.now() - sent >= 390, 'not delivered before its delay');
});

t.test('exclusive queues belong to their connection and die with it', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const q = unique('mine');
  await conn.assertQueue(q, { exclusive: true });
  const other = await open();
  await t.rejects(other.consume(q, () => undefined), { code: 'ERR_RESOURCE_LOCKED' });
  await conn.close();
  // The broker removes it while handling the close or the socket's end: polled, bounded.
  await untilAsync(async () => other.checkQueue(q).then(() => false, (e: { code?: string }) => e.code === 'ERR_NOT_FOUND'), 10_000, 'the exclusive queue to go');
  t.pass('the exclusive queue died with its connection');
});

t.test('auto-delete queue goes when its last consumer is cancelled; redeclare must agree', async (t) => {
  const { conn } = await brokerAndClient(t);
  const q = unique('auto');
  await conn.assertQueue(q, { autoDelete: true });
  await t.rejects(conn.assertQueue(q, { durable: true }), { code: 'ERR_PRECONDITION_FAILED' });
  const { consumerTag } = await conn.consume(q, () => undefined);
  t.equal((await conn.checkQueue(q)).consumerCount, 1);
  await conn.cancel(consumerTag);
  await t.rejects(conn.checkQueue(q), { code: 'ERR_NOT_FOUND' });
});

t.test('bad queue options are refused with a clear error', async (t) => {
  const { conn } = await brokerAndClient(t);
  await t.rejects(conn.assertQueue(unique('q'), { maxLength: -1 }), { code: 'ERR_INVALID_ARGUMENT', message: /maxLength/ });
  await t.rejects(conn.assertQueue(unique('q'), { overflow: 'nope' as 'drop-head' }), { code: 'ERR_INVALID_ARGUMENT', message: /overflow/ });
  await t.rejects(conn.publish('', 'x', Buffer.from('x'), { priority: -3 }), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test("RabbitMQ's x-arguments: those of a named option are honoured as it, any other is refused, not dropped", async (t) => {
  const { conn } = await brokerAndClient(t);
  const q = unique('xargs');
  await conn.assertQueue(q, { arguments: { 'x-max-priority': 5, 'x-message-ttl': 60_000 } });
  t.equal((await conn.assertQueue(q, { maxPriority: 5, messageTtl: 60_000 })).queue, q, 'the same queue as one declared with the named options');
  await t.rejects(conn.assertQueue(q, { arguments: { 'x-max-priority': 6, 'x-message-ttl': 60_000 } }), { code: 'ERR_PRECONDITION_FAILED' });
  for (const [b, p] of [['low', 1], ['high', 5]] as const) await conn.publish('', q, Buffer.from(b), { priority: p });
  const got: string[] = [];
  for (let m = await conn.get(q, { noAck: true }); m !== null; m = await conn.get(q, { noAck: true })) got.push(m.body.toString());
  t.same(got, ['high', 'low'], 'x-max-priority made it a priority queue');
  const quorum = unique('quorum');
  await t.rejects(conn.assertQueue(quorum, { durable: true, arguments: { 'x-queue-type': 'quorum' } }), { code: 'ERR_INVALID_ARGUMENT', message: /'x-queue-type' is not supported by broker-server/ });
  await t.rejects(conn.checkQueue(quorum), { code: 'ERR_NOT_FOUND' }, 'nothing was declared');
  await t.rejects(conn.assertQueue(unique('q'), { maxPriority: 5, arguments: { 'x-max-priority': 9 } }), { code: 'ERR_INVALID_ARGUMENT', message: /disagrees with option 'maxPriority'/ });
});
