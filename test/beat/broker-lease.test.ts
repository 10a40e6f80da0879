// The leader lease through real sockets: one of two racing beats wins and the other sees it, a
// renewal keeps the epoch, expiry and release hand it over with epoch + 1, and a fire under the
// old epoch after a takeover is refused ERR_STALE_LEASE with nothing published.
import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { untilAsync } from '../helpers/wait.js';
import { codeOf, fireOf, messageCount, openClient, unique } from './broker-helpers.js';

const spec = JSON.stringify({ task: 't.tick', schedule: { kind: 'interval', every: 1_000 } });

t.test('two beats race for a lease: one wins, the other sees who holds it', async (t) => {
  const broker = await startTestBroker(t);
  const a = await openClient(t, broker);
  const b = await openClient(t, broker);
  const name = unique('beat');
  const [ra, rb] = await Promise.all([a.acquireLease(name, 'beat-a', 30_000), b.acquireLease(name, 'beat-b', 30_000)]);
  t.equal([ra, rb].filter((r) => r.acquired).length, 1, 'exactly one acquired');
  const winner = ra.acquired ? 'beat-a' : 'beat-b';
  t.equal(ra.lease.holder, winner, 'a sees the winner');
  t.equal(rb.lease.holder, winner, 'b sees the winner');
  t.equal(ra.lease.epoch, 1, 'the first holder has epoch 1');
  t.ok(ra.lease.expiresAt > Date.now(), 'expires in the future');

  // The loser asking again is refused again; the winner renewing keeps its epoch.
  const loser = ra.acquired ? b : a;
  const loserName = ra.acquired ? 'beat-b' : 'beat-a';
  const winnerConn = ra.acquired ? a : b;
  t.match(await loser.acquireLease(name, loserName, 30_000), { acquired: false, lease: { holder: winner, epoch: 1 } });
  const before = (await winnerConn.listSchedules()).leases.find((l) => l.name === name)!;
  const renewed = await winnerConn.acquireLease(name, winner, 60_000);
  t.match(renewed, { acquired: true, lease: { holder: winner, epoch: 1 } }, 'renewed at the same epoch');
  t.ok(renewed.lease.expiresAt > before.expiresAt, 'for longer');
  t.match((await loser.listSchedules()).leases, [{ name, holder: winner, epoch: 1, expiresAt: renewed.lease.expiresAt }], 'listed with the entries');
});

t.test('an expired lease goes to the next beat with epoch + 1; a stale fire publishes nothing', async (t) => {
  const broker = await startTestBroker(t);
  const a = await openClient(t, broker);
  const b = await openClient(t, broker);
  const lease = unique('beat');
  const entry = unique('tick');
  const queue = unique('q');
  await a.assertQueue(queue, { durable: true });
  const { revision } = await a.upsertSchedule(entry, spec);
  const first = await a.acquireLease(lease, 'a', 1_000); // the shortest lease: it lapses quickly
  t.match(first, { acquired: true, lease: { epoch: 1 } });
  t.match(await a.fireSchedule(fireOf({ lease, holder: 'a', epoch: 1, entry, revision, scheduledAt: 1_000, queue, taskId: unique('id') })), { fired: true });

  // b asks until a's lease has lapsed (the broker's clock decides): then it is b's, one epoch on.
  let taken: Awaited<ReturnType<typeof b.acquireLease>> | undefined;
  await untilAsync(async () => (taken = await b.acquireLease(lease, 'b', 60_000)).acquired, 10_000, 'the lapsed lease');
  t.match(taken, { acquired: true, lease: { holder: 'b', epoch: 2 } });

  const stale = fireOf({ lease, holder: 'a', epoch: 1, entry, revision, scheduledAt: 2_000, queue, taskId: unique('id') });
  const err = await a.fireSchedule(stale).then(() => undefined, (e: unknown) => e);
  t.match(err, { code: 'ERR_STALE_LEASE', details: { lease, holder: 'a', epoch: 1, currentHolder: 'b', currentEpoch: 2 } });
  t.equal(await codeOf(a.advanceSchedule({ lease, holder: 'a', epoch: 1, entry, revision, nextRunAt: 9_000 })), 'ERR_STALE_LEASE', 'nor may it advance');
  t.equal(await messageCount(a, queue), 1, 'only the fire made under the lease was published');
  t.match((await a.listSchedules([entry])).entries, [{ lastRunAt: 1_000, runCount: 1, nextRunAt: 2_000 }], 'the entry is as the last good fire left it');

  // a comes back: b holds it now, and a cannot take it while b renews.
  t.match(await a.acquireLease(lease, 'a', 60_000), { acquired: false, lease: { holder: 'b', epoch: 2 } });
  t.match(await b.fireSchedule({ ...stale, holder: 'b', epoch: 2 }), { fired: true, record: { lastRunAt: 2_000, runCount: 2 } }, 'the new leader fires the same time');
  t.equal(await messageCount(a, queue), 2);
});

t.test('a release frees the lease at once; the next holder gets epoch + 1', async (t) => {
  const broker = await startTestBroker(t);
  const a = await openClient(t, broker);
  const b = await openClient(t, broker);
  const lease = unique('beat');
  t.match(await a.acquireLease(lease, 'a', 60_000), { acquired: true, lease: { epoch: 1 } });
  t.equal(await b.releaseLease(lease, 'b', 1), false, 'not the holder');
  t.equal(await a.releaseLease(lease, 'a', 7), false, 'not at that epoch');
  t.equal(await a.releaseLease(lease, 'a', 1), true);
  t.match((await a.listSchedules()).leases, [{ name: lease, holder: null, epoch: 1 }], 'free, the epoch kept');
  t.equal(await a.releaseLease(lease, 'a', 1), false, 'released already');
  t.equal(await codeOf(a.advanceSchedule({ lease, holder: 'a', epoch: 1, entry: 'x', revision: 1, nextRunAt: null })), 'ERR_STALE_LEASE', 'a released lease is stale');
  t.match(await b.acquireLease(lease, 'b', 60_000), { acquired: true, lease: { holder: 'b', epoch: 2 } }, 'taken at once, one epoch on');
  t.equal(await b.releaseLease(lease, 'b', 2), true);
  t.match(await a.acquireLease(lease, 'a', 60_000), { acquired: true, lease: { holder: 'a', epoch: 3 } }, 'the old holder again: still a change of hands');
  t.match(await b.acquireLease(unique('beat'), 'b', 60_000), { acquired: true, lease: { epoch: 1 } }, 'leases are apart by name');
});
