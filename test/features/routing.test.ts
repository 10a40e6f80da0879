// Exchanges end to end: direct, fanout, topic, headers and the default exchange, through sockets.
import t from 'tap';
import { bodies, brokerAndClient, collect, unique, until } from './feature-helpers.js';

t.test('topic exchange: *, # and a queue bound twice gets one copy', async (t) => {
  const { conn } = await brokerAndClient(t);
  const ex = unique('tasks');
  await conn.assertExchange(ex, 'topic', { durable: true });
  const q1 = unique('default');
  const q2 = unique('web');
  await conn.assertQueue(q1, { durable: true });
  await conn.assertQueue(q2, { durable: true });
  await conn.bindQueue(q1, ex, 'task.#');
  await conn.bindQueue(q2, ex, 'web.*');
  await conn.bindQueue(q2, ex, 'web.#'); // overlaps web.*: still one copy
  const a = await collect(conn, q1);
  const b = await collect(conn, q2);
  await conn.publish(ex, 'task.default', Buffer.from('t1'));
  await conn.publish(ex, 'web.add', Buffer.from('w1'));
  await conn.publish(ex, 'web.add.more', Buffer.from('w2'));
  await conn.publish(ex, 'other', Buffer.from('nobody'));
  await until(() => a.msgs.length === 1 && b.msgs.length === 2);
  t.same(bodies(a.msgs), ['t1']);
  t.same(bodies(b.msgs), ['w1', 'w2']);
  t.equal(b.msgs[0]!.fields.routingKey, 'web.add');
  t.equal(b.msgs[0]!.fields.exchange, ex);
});

t.test('direct, fanout and the default exchange', async (t) => {
  const { conn } = await brokerAndClient(t);
  const direct = unique('direct');
  const fan = unique('fan');
  await conn.assertExchange(direct, 'direct');
  await conn.assertExchange(fan, 'fanout');
  const q1 = (await conn.assertQueue('', { exclusive: true })).queue;
  const q2 = (await conn.assertQueue('', { exclusive: true })).queue;
  t.match(q1, /^amq\.gen-/, 'server-named queue');
  t.not(q1, q2);
  await conn.bindQueue(q1, direct, 'red');
  await conn.bindQueue(q1, fan, '');
  await conn.bindQueue(q2, fan, 'ignored');
  const a = await collect(conn, q1);
  const b = await collect(conn, q2);
  await conn.publish(direct, 'red', Buffer.from('d-red'));
  await conn.publish(direct, 'blue', Buffer.from('d-blue'));
  await conn.publish(fan, 'x', Buffer.from('f'));
  await conn.publish('', q2, Buffer.from('default-exchange'));
  await conn.publish('amq.default', q2, Buffer.from('by-its-other-name'));
  await until(() => a.msgs.length === 2 && b.msgs.length === 3);
  t.same(bodies(a.msgs), ['d-red', 'f']);
  t.same(bodies(b.msgs), ['f', 'default-exchange', 'by-its-other-name']);
});

t.test('mandatory unroutable publish is rejected with ERR_NO_ROUTE; unknown exchange ERR_NOT_FOUND', async (t) => {
  const { conn } = await brokerAndClient(t);
  const ex = unique('ex');
  await conn.assertExchange(ex, 'topic');
  await t.rejects(conn.publish(ex, 'no.one', Buffer.from('x'), { mandatory: true }), { code: 'ERR_NO_ROUTE' });
  await conn.publish(ex, 'no.one', Buffer.from('x')); // not mandatory: dropped, confirmed
  await t.rejects(conn.publish(unique('missing'), 'k', Buffer.from('x')), { code: 'ERR_NOT_FOUND' });
  await t.rejects(conn.assertExchange(ex, 'direct'), { code: 'ERR_PRECONDITION_FAILED' });
  await t.rejects(conn.assertExchange('amq.mine', 'direct'), { code: 'ERR_ACCESS_DENIED' });
  // the connection is still usable after request-scoped errors
  const q = unique('q');
  await conn.assertQueue(q);
  await conn.publish('', q, Buffer.from('ok'));
  t.equal((await conn.checkQueue(q)).messageCount, 1);
});

t.test('headers exchange: x-match all and any', async (t) => {
  const { conn } = await brokerAndClient(t);
  const ex = unique('hdr');
  await conn.assertExchange(ex, 'headers');
  const all = unique('all');
  const any = unique('any');
  await conn.assertQueue(all);
  await conn.assertQueue(any);
  await conn.bindQueue(all, ex, '', { 'x-match': 'all', kind: 'a', level: 1 });
  await conn.bindQueue(any, ex, '', { 'x-match': 'any', kind: 'a', level: 1 });
  await conn.publish(ex, '', Buffer.from('both'), { headers: { kind: 'a', level: 1 } });
  await conn.publish(ex, '', Buffer.from('one'), { headers: { kind: 'a' } });
  t.equal((await conn.checkQueue(all)).messageCount, 1);
  t.equal((await conn.checkQueue(any)).messageCount, 2);
});

t.test('unbind stops routing; deleteExchange ifUnused', async (t) => {
  const { conn } = await brokerAndClient(t);
  const ex = unique('ex');
  const q = unique('q');
  await conn.assertExchange(ex, 'direct');
  await conn.assertQueue(q);
  await conn.bindQueue(q, ex, 'k');
  await t.rejects(conn.deleteExchange(ex, { ifUnused: true }), { code: 'ERR_PRECONDITION_FAILED' });
  await conn.publish(ex, 'k', Buffer.from('1'));
  await conn.unbindQueue(q, ex, 'k');
  await conn.publish(ex, 'k', Buffer.from('2'));
  t.equal((await conn.checkQueue(q)).messageCount, 1);
  await conn.deleteExchange(ex, { ifUnused: true });
  await t.rejects(conn.publish(ex, 'k', Buffer.from('3')), { code: 'ERR_NOT_FOUND' });
});
