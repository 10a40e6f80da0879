// Fires through real sockets: the task message lands in its queue with its task id PENDING, a
// scheduled time fires once (a repeat or an earlier time is a duplicate, with no second message),
// a fire planned from an old revision, a paused entry or a removed one (even once re-created) is
// 'changed', and advance moves nextRunAt.
import t, { type Test } from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { codeOf, fireOf, messageCount, openClient, unique } from './broker-helpers.js';

const spec = JSON.stringify({ task: 't.add', schedule: { kind: 'interval', every: 10_000 }, args: [16, 16] });

async function setup(t: Test) {
  const broker = await startTestBroker(t);
  const conn = await openClient(t, broker);
  const lease = unique('beat');
  const entry = unique('add');
  const queue = unique('q');
  await conn.assertQueue(queue, { durable: true });
  const { revision: first } = await conn.upsertSchedule(entry, spec);
  const { lease: held } = await conn.acquireLease(lease, 'me', 60_000);
  // Times of today: the fire log keeps a week of fires.
  const base = Math.floor(Date.now() / 60_000) * 60_000;
  const at = (offset: number): number => base + offset;
  const fire = (offset: number, taskId = unique('id'), revision = first) => fireOf({ lease, holder: 'me', epoch: held.epoch, entry, revision, scheduledAt: at(offset), queue, taskId });
  return { broker, conn, lease, entry, queue, epoch: held.epoch, fire, at, first };
}

t.test('a fire publishes the task message and registers its id PENDING, in one commit', async (t) => {
  const { conn, queue, entry, fire, at, first } = await setup(t);
  const taskId = unique('id');
  const res = await conn.fireSchedule({ ...fire(10_000, taskId), nextRunAt: at(20_000) });
  t.match(res, { fired: true, record: { name: entry, lastRunAt: at(10_000), nextRunAt: at(20_000), runCount: 1, revision: first } });
  t.match(await conn.getResult(taskId), { taskId, state: 'PENDING' }, 'the task id is known at once');
  const msg = await conn.get(queue, { noAck: true });
  t.ok(msg, 'the message is in its queue');
  t.equal(msg!.properties.correlationId, taskId);
  t.same(JSON.parse(msg!.body.toString()), [[16, 16], {}, {}]);
  t.match((await conn.listSchedules([entry])).entries, [{ lastRunAt: at(10_000), nextRunAt: at(20_000), runCount: 1 }]);
});

t.test('each scheduled time fires once: a repeat or an earlier time is a duplicate, with no message', async (t) => {
  const { conn, queue, entry, fire, at, first } = await setup(t);
  t.match(await conn.fireSchedule(fire(10_000)), { fired: true });
  t.same(await conn.fireSchedule(fire(10_000)), { fired: false, reason: 'duplicate' }, 'the same time again');
  t.same(await conn.fireSchedule(fire(5_000)), { fired: false, reason: 'duplicate' }, 'a time before the last run');
  t.equal(await messageCount(conn, queue), 1, 'one message');
  // Two beats' worth of the same fire in flight at once: still one.
  const both = await Promise.all([conn.fireSchedule(fire(20_000)), conn.fireSchedule(fire(20_000))]);
  t.same(both.map((r) => r.fired).sort(), [false, true]);
  t.equal(await messageCount(conn, queue), 2);

  // After a reset the run state no longer refuses old times; the fire log still does.
  t.same(await conn.upsertSchedule(entry, spec, { resetState: true }), { created: false, revision: first + 1 });
  t.same(await conn.fireSchedule(fire(10_000, unique('id'), first + 1)), { fired: false, reason: 'duplicate' }, 'fired before the reset');
  t.match(await conn.fireSchedule(fire(15_000, unique('id'), first + 1)), { fired: true, record: { lastRunAt: at(15_000), runCount: 1 } }, 'a time never fired');
  t.equal(await messageCount(conn, queue), 3);
});

t.test('a fire planned from another revision, or of a paused or removed entry, is changed', async (t) => {
  const { conn, queue, entry, fire, first } = await setup(t);
  t.same(await conn.upsertSchedule(entry, spec), { created: false, revision: first + 1 });
  t.same(await conn.fireSchedule(fire(10_000)), { fired: false, reason: 'changed' }, 'planned from the first revision');
  t.match(await conn.pauseSchedule(entry, true), { revision: first + 2 });
  t.same(await conn.fireSchedule(fire(10_000, unique('id'), first + 2)), { fired: false, reason: 'changed' }, 'paused');
  t.match(await conn.pauseSchedule(entry, false), { revision: first + 3 });
  t.match(await conn.fireSchedule(fire(10_000, unique('id'), first + 3)), { fired: true });
  await conn.removeSchedule(entry);
  t.same(await conn.fireSchedule(fire(20_000, unique('id'), first + 3)), { fired: false, reason: 'changed' }, 'removed');
  t.equal(await messageCount(conn, queue), 1, 'only the one fire published');
});

t.test('a refused publish fires nothing', async (t) => {
  const { conn, queue, entry, fire } = await setup(t);
  const full = unique('full');
  await conn.assertQueue(full, { maxLength: 0, overflow: 'reject-publish' });
  const req = fire(10_000);
  t.equal(await codeOf(conn.fireSchedule({ ...req, publishes: [...req.publishes, { ...req.publishes[0]!, routingKey: full }] })), 'ERR_QUEUE_FULL');
  t.equal(await messageCount(conn, queue), 0, 'not even to the queue with room');
  t.match((await conn.listSchedules([entry])).entries, [{ lastRunAt: null, runCount: 0 }], 'the entry did not run');
  t.match(await conn.fireSchedule(req), { fired: true }, 'the same time fires once the publish can go');
});

t.test('advance moves nextRunAt without a fire', async (t) => {
  const { conn, queue, entry, lease, epoch, fire, at, first } = await setup(t);
  t.match(await conn.fireSchedule(fire(10_000)), { fired: true });
  const moved = await conn.advanceSchedule({ lease, holder: 'me', epoch, entry, revision: first, nextRunAt: at(50_000) });
  t.match(moved, { advanced: true, record: { lastRunAt: at(10_000), nextRunAt: at(50_000), runCount: 1 } });
  t.match(await conn.advanceSchedule({ lease, holder: 'me', epoch, entry, revision: first, nextRunAt: null }), { advanced: true, record: { nextRunAt: null } }, 'to no next run');
  t.match(await conn.advanceSchedule({ lease, holder: 'me', epoch, entry, revision: first + 8, nextRunAt: 1 }), { advanced: false, record: { revision: first, nextRunAt: null } }, 'another revision');
  t.same(await conn.advanceSchedule({ lease, holder: 'me', epoch, entry: 'nobody', revision: first, nextRunAt: 1 }), { advanced: false, record: null }, 'no such entry');
  t.equal(await messageCount(conn, queue), 1, 'nothing published');
});

t.test('a fire planned from a removed entry does not fire its re-creation under the same name', async (t) => {
  const { conn, queue, entry, fire, first } = await setup(t);
  t.equal(await conn.removeSchedule(entry), true);
  const again = await conn.upsertSchedule(entry, spec);
  t.equal(again.created, true, 'created anew');
  t.not(again.revision, first, 'at a revision the removed entry never had');
  t.same(await conn.fireSchedule(fire(10_000)), { fired: false, reason: 'changed' }, 'the old plan is refused');
  t.equal(await messageCount(conn, queue), 0, 'nothing published');
  t.match((await conn.listSchedules([entry])).entries, [{ lastRunAt: null, runCount: 0, revision: again.revision }], 'the new entry did not run');
  t.match(await conn.fireSchedule(fire(10_000, unique('id'), again.revision)), { fired: true }, 'a plan from the new entry fires');
  t.equal(await messageCount(conn, queue), 1);
});
