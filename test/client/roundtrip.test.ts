// The broker-level API end to end over real sockets: declare, bind, publish, consume, get,
// cancel, purge, delete, server-named queues and the coded errors publish() rejects with.
import t, { type Test } from 'tap';
import { connect, type Connection, type Message } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';

/** Collects messages until `n` arrived, failing after `ms`. */
function collector(n: number, ms = 5_000, settle: (m: Message) => void = (m) => m.ack()) {
  const got: Message[] = [];
  let done!: () => void;
  let fail!: (e: Error) => void;
  const all = new Promise<Message[]>((resolve, reject) => {
    done = () => resolve(got);
    fail = reject;
  });
  const timer = setTimeout(() => fail(new Error(`only ${got.length} of ${n} messages within ${ms} ms`)), ms);
  const handler = (m: Message): void => {
    got.push(m);
    settle(m);
    if (got.length === n) {
      clearTimeout(timer);
      done();
    }
  };
  return { handler, all, got };
}

async function open(t: Test): Promise<Connection> {
  const broker = await startTestBroker(t);
  const conn = await connect(broker.url);
  t.teardown(() => conn.close());
  return conn;
}

t.test('topic exchange round trip: bindings route, fields and properties arrive', async (t) => {
  const conn = await open(t);
  t.same(await conn.assertExchange('rt-tasks', 'topic', { durable: true }), { exchange: 'rt-tasks' });
  t.same(await conn.assertQueue('rt-web', { durable: true }), { queue: 'rt-web', messageCount: 0, consumerCount: 0 });
  await conn.assertQueue('rt-all', { durable: true });
  await conn.bindQueue('rt-web', 'rt-tasks', 'web.*');
  await conn.bindQueue('rt-all', 'rt-tasks', '#');

  const web = collector(2);
  const all = collector(3);
  const { consumerTag } = await conn.consume('rt-web', web.handler, { prefetch: 10 });
  await conn.consume('rt-all', all.handler, { prefetch: 10, consumerTag: 'all-consumer' });

  await Promise.all([
    conn.publish('rt-tasks', 'web.add', Buffer.from('one'), { persistent: true, headers: { n: 1 }, messageId: 'm-1', contentType: 'text/plain' }),
    conn.publish('rt-tasks', 'web.mul', 'two'),
    conn.publish('rt-tasks', 'batch.x.y', new Uint8Array([1, 2, 3])),
  ]);
  const webGot = await web.all;
  const allGot = await all.all;
  // Sorted: order across persistent and transient messages is the engine's business, not this test's.
  t.same(webGot.map((m) => m.body.toString()).sort(), ['one', 'two']);
  t.same(allGot.map((m) => m.fields.routingKey).sort(), ['batch.x.y', 'web.add', 'web.mul']);
  const first = webGot.find((m) => m.fields.routingKey === 'web.add')!;
  t.match(first.fields, { redelivered: false, deliveryCount: 1, exchange: 'rt-tasks', routingKey: 'web.add', consumerTag });
  t.match(first.properties, { persistent: true, headers: { n: 1 }, messageId: 'm-1', contentType: 'text/plain' });
  t.ok(allGot.every((m) => m.fields.consumerTag === 'all-consumer'));
  t.same([...allGot.find((m) => m.fields.routingKey === 'batch.x.y')!.body], [1, 2, 3]);
});

t.test('publish() rejects with the coded error: ERR_NO_ROUTE, ERR_NOT_FOUND, ERR_QUEUE_FULL', async (t) => {
  const conn = await open(t);
  await conn.assertExchange('rt-direct', 'direct');
  await t.rejects(conn.publish('rt-direct', 'nobody', 'x', { mandatory: true }), { code: 'ERR_NO_ROUTE' });
  await conn.publish('rt-direct', 'nobody', 'x'); // not mandatory: dropped, still confirmed
  await t.rejects(conn.publish('rt-no-such-exchange', 'k', 'x'), { code: 'ERR_NOT_FOUND' });
  await conn.assertQueue('rt-full', { maxLength: 1, overflow: 'reject-publish' });
  await conn.sendToQueue('rt-full', 'first');
  await t.rejects(conn.sendToQueue('rt-full', 'second'), { code: 'ERR_QUEUE_FULL' });
  // The connection is unharmed by request-scope errors.
  t.equal((await conn.checkQueue('rt-full')).messageCount, 1);
});

t.test('get: null when empty, a message with messageCount, ack and noAck', async (t) => {
  const conn = await open(t);
  await conn.assertQueue('rt-get');
  t.equal(await conn.get('rt-get'), null);
  await conn.sendToQueue('rt-get', 'a');
  await conn.sendToQueue('rt-get', 'b');
  const a = await conn.get('rt-get');
  t.ok(a !== null);
  t.equal(a!.body.toString(), 'a');
  t.match(a!.fields, { consumerTag: '', messageCount: 1, redelivered: false, routingKey: 'rt-get' });
  a!.ack();
  const b = await conn.get('rt-get', { noAck: true });
  t.equal(b!.body.toString(), 'b');
  t.throws(() => b!.ack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' });
  t.equal(await conn.get('rt-get'), null);
  t.equal((await conn.checkQueue('rt-get')).messageCount, 0, 'the ack went through');
});

t.test('cancel stops deliveries; cancel of an unknown tag is ERR_NOT_FOUND', async (t) => {
  const conn = await open(t);
  await conn.assertQueue('rt-cancel');
  const c = collector(1);
  const { consumerTag } = await conn.consume('rt-cancel', c.handler);
  await conn.sendToQueue('rt-cancel', 'before');
  await c.all;
  await conn.cancel(consumerTag);
  await conn.sendToQueue('rt-cancel', 'after');
  // The broker's count is the proof: 'after' waits ready, no consumer took it.
  t.equal((await conn.checkQueue('rt-cancel')).messageCount, 1);
  t.equal(c.got.length, 1, 'nothing delivered after cancel');
  await t.rejects(conn.cancel(consumerTag), { code: 'ERR_NOT_FOUND' });
  await t.rejects(conn.consume('rt-missing-queue', () => {}), { code: 'ERR_NOT_FOUND' });
});

t.test('purge and delete report counts; deleting a consumed queue emits cancel', async (t) => {
  const conn = await open(t);
  await conn.assertExchange('rt-del-x', 'fanout');
  await conn.assertQueue('rt-del');
  await conn.bindQueue('rt-del', 'rt-del-x', '');
  for (let i = 0; i < 3; i++) await conn.publish('rt-del-x', '', `m${i}`);
  t.same(await conn.purgeQueue('rt-del'), { messageCount: 3 });
  await conn.publish('rt-del-x', '', 'again');
  await conn.unbindQueue('rt-del', 'rt-del-x', '');
  await t.rejects(conn.publish('rt-del-x', '', 'unbound', { mandatory: true }), { code: 'ERR_NO_ROUTE' });

  const cancelled = new Promise<[string, string]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no cancel event')), 5_000);
    conn.once('cancel', (tag, reason) => { clearTimeout(timer); resolve([tag, reason]); });
  });
  const { consumerTag } = await conn.consume('rt-del', () => {}, { prefetch: 1 });
  const deleted = await conn.deleteQueue('rt-del');
  t.ok(deleted.messageCount <= 1);
  const [tag] = await cancelled;
  t.equal(tag, consumerTag);
  await t.rejects(conn.checkQueue('rt-del'), { code: 'ERR_NOT_FOUND' });
  await conn.deleteExchange('rt-del-x');
  await t.rejects(conn.publish('rt-del-x', '', 'x'), { code: 'ERR_NOT_FOUND' });
});

t.test('server-named queue: the reply gives the name', async (t) => {
  const conn = await open(t);
  const info = await conn.assertQueue('', { exclusive: true });
  t.ok(info.queue.length > 0);
  await conn.sendToQueue(info.queue, 'to-generated');
  const m = await conn.get(info.queue);
  t.equal(m?.body.toString(), 'to-generated');
  m?.ack();
});

t.test('bad arguments reject locally with ERR_INVALID_ARGUMENT', async (t) => {
  const conn = await open(t);
  await t.rejects(conn.publish('x', 'k', 42 as unknown as string), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(conn.consume('q', 'not a function' as unknown as () => void), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(conn.assertExchange('x', 'nonsense' as 'topic'), { code: 'ERR_INVALID_ARGUMENT' });
});
