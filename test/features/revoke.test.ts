// Revoke end to end: a revoked task's message is never handed out (consume or get), its waiters
// are pushed REVOKED, the revocation survives a restart, and holders of its delivery are told.
import t from 'tap';
import type { Connection, Message, RevokedInfo } from '../../client/index.js';
import { bodies, brokerAndClient, brokersOnOneFile, collect, unique, until } from './feature-helpers.js';

/** Publishes a task message the way the task layer does: correlationId and track name the task. */
function publishTask(conn: Connection, queue: string, taskId: string, body = taskId): Promise<void> {
  return conn.publish('', queue, body, { persistent: true, correlationId: taskId, track: { taskId } });
}

t.test('a task revoked before delivery is never delivered; its waiter is pushed REVOKED', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const q = unique('tasks');
  await conn.assertQueue(q, { durable: true });
  const id = unique('task');
  await publishTask(conn, q, id, 'revoked-one');
  const waiting = conn.waitResult(id, 10_000);
  t.same(await conn.revoke(id), { revoked: 1 });
  const rec = await waiting;
  t.equal(rec?.state, 'REVOKED', 'the waiter hears REVOKED');
  t.equal(rec?.body, undefined, 'no body');
  t.equal((await conn.getResult(id))?.state, 'REVOKED');

  // A worker started later: only the message published after, never the revoked one.
  await publishTask(conn, q, unique('task'), 'kept');
  const worker = await open();
  const got = await collect(worker, q);
  // The revoked message was ahead of 'kept' in the queue: once 'kept' is here, it had its turn.
  await until(() => got.msgs.some((m) => m.body.toString() === 'kept'), 10_000, "'kept'");
  t.same(bodies(got.msgs), ['kept']);
  await worker.cancel(got.tag);

  // The get path too; and a message published after the revoke with the revoked id is dropped.
  await publishTask(conn, q, id, 'again');
  t.equal(await conn.get(q), null, 'get skips the revoked task');
  t.equal((await conn.checkQueue(q)).messageCount, 0, 'removed as if acked');
});

t.test('revoke leaves a final result alone, counts distinct ids, and revokedCheck reports', async (t) => {
  const { conn } = await brokerAndClient(t);
  const done = unique('done');
  await conn.storeResult(done, 'SUCCESS', Buffer.from('42'));
  const other = unique('other');
  t.same(await conn.revoke([done, other, other], { expires: 60_000 }), { revoked: 2 });
  t.equal((await conn.getResult(done))?.state, 'SUCCESS', 'a final result is not overwritten');
  t.equal((await conn.getResult(other))?.state, 'REVOKED', 'an id nobody published is stored REVOKED');
  t.equal(await conn.isRevoked(done), true);
  t.equal(await conn.isRevoked(other), true);
  t.equal(await conn.isRevoked(unique('never')), false);
  t.same(await conn.revokedAmong([other, unique('never')]), [other]);
});

t.test('a revoke is pushed to the connection holding the delivery; a terminate to every connection', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const q = unique('tasks');
  await conn.assertQueue(q);
  const a = await open();
  const b = await open();
  const id = unique('task');
  const otherId = unique('task');
  const heldA: Message[] = [];
  const heldB: Message[] = [];
  const pushedA: RevokedInfo[] = [];
  const pushedB: RevokedInfo[] = [];
  a.on('revoked', (info) => pushedA.push(info));
  b.on('revoked', (info) => pushedB.push(info));
  await a.consume(q, (m) => { heldA.push(m); }, { prefetch: 1 });
  await publishTask(conn, q, id);
  await until(() => heldA.length === 1);
  await b.consume(q, (m) => { heldB.push(m); }, { prefetch: 1 });
  await publishTask(conn, q, otherId);
  await until(() => heldB.length === 1);

  // Without terminate only the holder is told (to skip it), with terminate false.
  const notHeld = unique('not-held');
  await conn.revoke(otherId);
  await until(() => pushedB.length === 1);
  t.same(pushedB[0], { taskIds: [otherId], terminate: false });
  // The broker pushes revokes while it handles the revoke, before its reply; a round trip on `a`
  // after that reply would come back behind any push meant for `a`.
  await a.checkQueue(q);
  t.same(pushedA, [], 'a connection holding other tasks is not told');

  // A terminate reaches every connection of the vhost: a task acked early is running somewhere the
  // broker can no longer trace, and only its worker recognises the id.
  await conn.revoke([id, notHeld], { terminate: true, signal: 'SIGKILL' });
  await until(() => pushedA.length === 1 && pushedB.length === 2);
  t.same(pushedA[0], { taskIds: [id, notHeld], terminate: true, signal: 'SIGKILL' });
  t.same(pushedB[1], { taskIds: [id, notHeld], terminate: true, signal: 'SIGKILL' });
});

t.test('bad revokes get coded errors and change nothing', async (t) => {
  const { conn } = await brokerAndClient(t);
  await t.rejects(conn.revoke([]), { code: 'ERR_INVALID_ARGUMENT' }, 'no ids');
  await t.rejects(conn.revoke(Array.from({ length: 10_001 }, (_, i) => `t${i}`)), { code: 'ERR_INVALID_ARGUMENT' }, 'too many ids');
  await t.rejects(conn.revoke(['ok', '']), { code: 'ERR_INVALID_ARGUMENT' }, 'an empty id');
  await t.rejects(conn.revoke('x', { expires: -1 }), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(conn.revokedAmong([]), { code: 'ERR_INVALID_ARGUMENT' });
  t.equal(await conn.isRevoked('ok'), false, 'a refused revoke revoked nothing');
  t.equal(conn.connected, true, 'the connection stays open');
});

t.test('a revocation survives a broker restart', async (t) => {
  const { startAndOpen: start, stopLast } = brokersOnOneFile(t);
  const q = unique('tasks');
  const id = unique('task');
  const before = await start();
  await before.assertQueue(q, { durable: true });
  await publishTask(before, q, id, 'revoked-one');
  await before.revoke(id);
  await stopLast();

  const after = await start();
  t.equal(await after.isRevoked(id), true, 'remembered');
  t.equal((await after.getResult(id))?.state, 'REVOKED');
  await publishTask(after, q, unique('task'), 'kept');
  const got = await collect(after, q);
  // The revoked message was ahead of 'kept' in the queue: once 'kept' is here, it had its turn.
  await until(() => got.msgs.some((m) => m.body.toString() === 'kept'), 10_000, "'kept'");
  t.same(bodies(got.msgs), ['kept'], 'the recovered revoked message is never delivered');
});

t.test('a revocation shorter than the countdown of its task is kept until the task is due', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const q = unique('tasks');
  await conn.assertQueue(q, { durable: true });
  const early = unique('task');
  const late = unique('task');
  // Held for 1.5 s; revoked for 200 ms only: before the revoke (found among the held messages)...
  await conn.publish('', q, 'revoked-before', { persistent: true, correlationId: early, delay: 1_500 });
  await conn.revoke([early, late], { expires: 200 });
  // ... and after it (a retry with a countdown, published while the revocation lives).
  await conn.publish('', q, 'revoked-after', { persistent: true, correlationId: late, delay: 1_500 });
  // Due last: once it arrives, the revoked ones had their turn.
  await conn.publish('', q, 'kept', { persistent: true, correlationId: unique('task'), delay: 1_600 });
  const worker = await open();
  const got = await collect(worker, q);
  await until(() => got.msgs.length >= 1, 10_000, 'the kept message');
  t.same(bodies(got.msgs), ['kept'], 'neither revoked task was handed out when due');
  t.equal(await conn.isRevoked(early), true, 'still revoked after its own 200 ms');
  t.equal(await conn.isRevoked(late), true);
});
