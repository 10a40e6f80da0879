// Groups and chords end to end: the broker counts members' final results as they are stored
// (finish, resultStore, revoke), publishes the chord callback exactly once, and survives a restart.
import t from 'tap';
import { encode } from '@msgpack/msgpack';
import type { FinishPublish, Message } from '../../client/index.js';
import { openSqliteStore } from '../../server/store/index.js';
import { bodies, brokerAndClient, brokersOnOneFile, collect, unique, until } from './feature-helpers.js';

/** A chord body publish to `queue`, tracked as task `taskId`. */
function callbackTo(queue: string, taskId: string): FinishPublish {
  return { exchange: '', routingKey: queue, body: Buffer.from(`callback ${taskId}`), props: { persistent: true, correlationId: taskId }, track: { taskId } };
}

t.test('members finishing through finish() advance the counter; the callback is published once', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const tasks = unique('tasks');
  const cbq = unique('chord');
  await conn.assertQueue(tasks, { durable: true });
  await conn.assertQueue(cbq, { durable: true });
  const groupId = unique('group');
  const members = [unique('m0'), unique('m1'), unique('m2')];
  const cbId = unique('cb');
  await conn.declareGroup(groupId, members, { callback: callbackTo(cbq, cbId), expires: 60_000 });
  t.equal((await conn.getResult(cbId))?.state, 'PENDING', 'the callback task id is known from the declare');
  // Published in reverse so members finish out of group order.
  for (const id of [...members].reverse()) await conn.publish('', tasks, id, { persistent: true, correlationId: id, track: { taskId: id } });

  const worker = await open();
  const held: Message[] = [];
  await worker.consume(tasks, (m) => { held.push(m); }, { prefetch: 10 });
  await until(() => held.length === 3);
  for (const m of held.slice(0, 2)) {
    const id = m.body.toString();
    await worker.finish({ ack: m, result: { taskId: id, state: 'SUCCESS', body: Buffer.from(`r-${id}`) } });
  }
  const partway = await conn.getGroup(groupId);
  t.equal(partway?.done, 2);
  t.equal((await conn.checkQueue(cbq)).messageCount, 0, 'no callback before the last member');

  const last = held[2]!;
  await worker.finish({ ack: last, result: { taskId: last.body.toString(), state: 'FAILURE', body: Buffer.from('boom') } });
  const cb = await collect(conn, cbq);
  await until(() => cb.msgs.length === 1);
  t.same(bodies(cb.msgs), [`callback ${cbId}`]);
  t.equal(cb.msgs[0]!.properties.correlationId, cbId);

  const g = await conn.getGroup(groupId);
  t.equal(g?.groupId, groupId);
  t.same(g?.members, members, 'members in group order');
  t.equal(g?.done, 3);
  t.same(g?.results.map((r) => r?.taskId), members, 'results in member order');
  const failed = last.body.toString();
  t.same(g?.results.map((r) => r?.state), members.map((id) => (id === failed ? 'FAILURE' : 'SUCCESS')));
  t.same(g?.results.map((r) => Buffer.from(r!.body!).toString()), members.map((id) => (id === failed ? 'boom' : `r-${id}`)));

  // A member stored final again counts once, and the callback does not fire again.
  await conn.storeResult(members[0]!, 'SUCCESS', Buffer.from('again'));
  // A second callback would be published in the commit of that store: a marker published after it
  // queues behind it, so once the marker is here, nothing else came.
  await conn.publish('', cbq, 'marker');
  await until(() => cb.msgs.length >= 2, 10_000, 'the marker');
  t.equal((await conn.getGroup(groupId))?.done, 3);
  t.same(bodies(cb.msgs), [`callback ${cbId}`, 'marker'], 'published exactly once');
});

t.test('a duplicate final store counts once; non-final states do not count', async (t) => {
  const { conn } = await brokerAndClient(t);
  const members = [unique('a'), unique('b')];
  const groupId = unique('group');
  await conn.declareGroup(groupId, members);
  await conn.storeResult(members[0]!, 'STARTED');
  t.equal((await conn.getGroup(groupId))?.done, 0, 'STARTED is not final');
  await Promise.all([conn.storeResult(members[0]!, 'SUCCESS'), conn.storeResult(members[0]!, 'SUCCESS')]);
  await conn.storeResult(members[0]!, 'FAILURE');
  t.equal((await conn.getGroup(groupId))?.done, 1, 'three final stores of one member count once');
  const g = await conn.getGroup(groupId);
  t.same(g?.results.map((r) => r?.state ?? null), ['FAILURE', null], 'an unknown member reads as null');
});

t.test('members final before the declare count at once; revoke counts as final', async (t) => {
  const { conn } = await brokerAndClient(t);
  const cbq = unique('chord');
  await conn.assertQueue(cbq);
  const members = [unique('a'), unique('b'), unique('c')];
  await conn.storeResult(members[0]!, 'SUCCESS');
  const groupId = unique('group');
  await conn.declareGroup(groupId, members, { callback: callbackTo(cbq, unique('cb')) });
  t.equal((await conn.getGroup(groupId))?.done, 1, 'the member already done counts');
  await conn.revoke(members[1]!);
  t.equal((await conn.getGroup(groupId))?.done, 2, 'a revoked member is final');
  await conn.storeResult(members[2]!, 'SUCCESS');
  const cb = await collect(conn, cbq);
  await until(() => cb.msgs.length === 1);

  // A group whose members are all final already fires at its declare.
  const cbq2 = unique('chord');
  await conn.assertQueue(cbq2);
  await conn.declareGroup(unique('group'), [members[0]!, members[2]!], { callback: callbackTo(cbq2, unique('cb')) });
  const cb2 = await collect(conn, cbq2);
  await until(() => cb2.msgs.length === 1);
  t.pass('fired at declare');
});

t.test('bad declares and unknown groups', async (t) => {
  const { conn } = await brokerAndClient(t);
  const groupId = unique('group');
  await conn.declareGroup(groupId, ['x1']);
  await t.rejects(conn.declareGroup(groupId, ['x2']), { code: 'ERR_PRECONDITION_FAILED' }, 'declared twice');
  await t.rejects(conn.declareGroup(unique('g'), []), { code: 'ERR_INVALID_ARGUMENT' }, 'no members');
  await t.rejects(conn.declareGroup(unique('g'), ['a', 'a']), { code: 'ERR_INVALID_ARGUMENT' }, 'a member twice');
  await t.rejects(conn.declareGroup('', ['a']), { code: 'ERR_INVALID_ARGUMENT' }, 'an empty group id');
  await t.rejects(conn.declareGroup(unique('g'), ['a'], { callback: { exchange: unique('no-such'), routingKey: 'k', body: Buffer.from('x') } }), { code: 'ERR_NOT_FOUND' }, 'a callback to an unknown exchange');
  t.equal(await conn.getGroup(unique('never')), null, 'an unknown group reads as null');
  await t.rejects(conn.getGroup(''), { code: 'ERR_INVALID_ARGUMENT' });
  t.equal(conn.connected, true, 'the connection goes on');
});


t.test('the callback survives a restart between declare and completion', async (t) => {
  const { startAndOpen: start, stopLast: stop } = brokersOnOneFile(t);
  const cbq = unique('chord');
  const groupId = unique('group');
  const members = [unique('a'), unique('b')];
  const cbId = unique('cb');
  const before = await start();
  await before.assertQueue(cbq, { durable: true });
  await before.declareGroup(groupId, members, { callback: callbackTo(cbq, cbId) });
  await before.storeResult(members[0]!, 'SUCCESS');
  await stop();

  const after = await start();
  t.equal((await after.getGroup(groupId))?.done, 1, 'the counter survived');
  t.equal((await after.getResult(cbId))?.state, 'PENDING');
  await after.storeResult(members[1]!, 'SUCCESS');
  const cb = await collect(after, cbq);
  await until(() => cb.msgs.length === 1, 10_000, 'the callback');
  // A marker queues behind any second callback: once it is here, none came.
  await after.publish('', cbq, 'marker');
  await until(() => cb.msgs.length >= 2, 10_000, 'the marker');
  t.same(bodies(cb.msgs), [`callback ${cbId}`, 'marker'], 'published once, after the restart');
  t.equal((await after.getGroup(groupId))?.done, 2);
});

t.test('a complete group whose callback never left (a commit split before it) fires at recovery', async (t) => {
  const { file, startAndOpen: start } = brokersOnOneFile(t);
  const cbq = unique('chord');
  const groupId = unique('group');
  const cbId = unique('cb');
  // What the disk holds after a crash between the commit of the last result and the callback's.
  const store = openSqliteStore({ file, durability: 'full' });
  store.saveQueue({ id: 0, vhost: '/', name: cbq, autoDelete: false, options: { durable: true } });
  store.applyBatch({
    inserts: [], counts: [], deletes: [],
    results: [{ vhost: '/', taskId: 'm1', state: 'SUCCESS', body: null, contentType: null, dateDone: Date.now(), expiresAt: 0 }],
    groups: [{ vhost: '/', groupId, members: ['m1'], done: 1, callback: encode(callbackTo(cbq, cbId), { ignoreUndefined: true }), fired: false, expiresAt: 0 }],
  });
  store.close();

  const conn = await start();
  const cb = await collect(conn, cbq);
  await until(() => cb.msgs.length === 1);
  t.same(bodies(cb.msgs), [`callback ${cbId}`]);
  t.equal((await conn.getGroup(groupId))?.done, 1);
});
