// Beat's state across a broker restart on one data file: entries with their run state, leases with
// their epochs (never handed out twice), the fire log's de-duplication, and the fired message with
// its PENDING id; an entry removed takes its fire log with it, on disk too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startBroker, type Broker } from '../../server/index.js';
import { openSqliteStore } from '../../server/store/index.js';
import { fireOf, messageCount, openClient, unique } from './broker-helpers.js';

const spec = JSON.stringify({ task: 't.add', schedule: { kind: 'interval', every: 10_000 }, args: [16, 16] });

/** Brokers started one after another on one data file, each closed before the next starts. */
function onOneFile(t: Test): { file: string; start(): Promise<Broker>; stop(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-beat-'));
  const file = join(dir, 'b.db');
  let current: Broker | undefined;
  t.teardown(async () => {
    await current?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    file,
    async start() {
      await current?.close();
      current = await startBroker({ port: 0, host: '127.0.0.1', dataFile: file });
      return current;
    },
    async stop() {
      await current?.close();
    },
  };
}

t.test('entries, run state, lease epochs and the fire log survive a restart', async (t) => {
  const brokers = onOneFile(t);
  const base = Math.floor(Date.now() / 60_000) * 60_000;
  const lease = unique('beat');
  const entry = unique('add');
  const paused = unique('paused');
  const queue = unique('q');
  const taskId = unique('id');

  let conn = await openClient(t, await brokers.start());
  await conn.assertQueue(queue, { durable: true });
  const { revision } = await conn.upsertSchedule(entry, spec, { source: 'settings' });
  await conn.upsertSchedule(paused, spec);
  const { revision: pausedAt } = await conn.pauseSchedule(paused, true);
  const a = await conn.acquireLease(lease, 'beat-a', 60_000);
  t.match(a, { acquired: true, lease: { epoch: 1 } });
  await conn.fireSchedule(fireOf({ lease, holder: 'beat-a', epoch: 1, entry, revision, scheduledAt: base, queue, taskId: unique('id') }));
  await conn.fireSchedule(fireOf({ lease, holder: 'beat-a', epoch: 1, entry, revision, scheduledAt: base + 10_000, nextRunAt: base + 20_000, queue, taskId }));
  const before = await conn.listSchedules();

  conn = await openClient(t, await brokers.start());
  const after = await conn.listSchedules();
  t.same(after, before, 'entries and leases as they were');
  t.match(after.entries.find((e) => e.name === entry), { source: 'settings', lastRunAt: base + 10_000, nextRunAt: base + 20_000, runCount: 2, revision });
  t.match(after.entries.find((e) => e.name === paused), { paused: true, revision: pausedAt });
  t.equal(await messageCount(conn, queue), 2, 'the fired messages are on disk');
  t.match(await conn.getResult(taskId), { state: 'PENDING' }, 'with their ids known');

  // The lease is still beat-a's (its time runs on the broker's clock); another beat waits.
  t.match(await conn.acquireLease(lease, 'beat-b', 60_000), { acquired: false, lease: { holder: 'beat-a', epoch: 1 } });
  t.match(await conn.acquireLease(lease, 'beat-a', 60_000), { acquired: true, lease: { epoch: 1 } }, 'its holder renews it');
  t.equal(await conn.releaseLease(lease, 'beat-a', 1), true);
  t.match(await conn.acquireLease(lease, 'beat-b', 60_000), { acquired: true, lease: { holder: 'beat-b', epoch: 2 } });

  // A reset clears the run state; the kept fire log still refuses the times fired before the restart.
  t.same(await conn.upsertSchedule(entry, spec, { resetState: true }), { created: false, revision: revision + 1 }, 'the revision goes on from the stored one');
  const again = fireOf({ lease, holder: 'beat-b', epoch: 2, entry, revision: revision + 1, scheduledAt: base, queue, taskId: unique('id') });
  t.same(await conn.fireSchedule(again), { fired: false, reason: 'duplicate' });
  t.equal(await messageCount(conn, queue), 2);

  conn = await openClient(t, await brokers.start());
  t.match((await conn.listSchedules()).leases, [{ name: lease, holder: 'beat-b', epoch: 2 }], 'the new epoch is on disk');
  t.equal(await conn.releaseLease(lease, 'beat-b', 2), true);
  t.match(await conn.acquireLease(lease, 'beat-a', 60_000), { acquired: true, lease: { epoch: 3 } }, 'epochs go on, never reused');
  t.same(await conn.fireSchedule({ ...again, holder: 'beat-a', epoch: 3 }), { fired: false, reason: 'duplicate' }, 'still a duplicate');
});

t.test('an entry removed drops its fire log, in memory and on disk', async (t) => {
  const brokers = onOneFile(t);
  const base = Math.floor(Date.now() / 60_000) * 60_000;
  const lease = unique('beat');
  const gone = unique('gone');
  const kept = unique('kept');
  const queue = unique('q');
  const conn = await openClient(t, await brokers.start());
  await conn.assertQueue(queue, { durable: true });
  const revisions = new Map<string, number>();
  for (const entry of [gone, kept]) revisions.set(entry, (await conn.upsertSchedule(entry, spec)).revision);
  await conn.acquireLease(lease, 'me', 60_000);
  for (const entry of [gone, kept]) {
    for (const at of [base, base + 10_000]) {
      t.match(await conn.fireSchedule(fireOf({ lease, holder: 'me', epoch: 1, entry, revision: revisions.get(entry)!, scheduledAt: at, queue, taskId: unique('id') })), { fired: true });
    }
  }
  t.equal(await conn.removeSchedule(gone), true);
  // Back under the same name, the same time fires again: nothing of the old entry is left.
  const { revision: back } = await conn.upsertSchedule(gone, spec);
  t.match(await conn.fireSchedule(fireOf({ lease, holder: 'me', epoch: 1, entry: gone, revision: back, scheduledAt: base + 10_000, queue, taskId: unique('id') })), { fired: true });
  await conn.removeSchedule(gone);
  await conn.close();
  await brokers.stop();

  const store = openSqliteStore({ file: brokers.file, durability: 'full' });
  t.teardown(() => store.close());
  const beat = store.loadBeat();
  t.same(beat.entries.map((e) => e.name), [kept]);
  t.same(beat.fires.map((f) => [f.entry, f.scheduledAt - base]), [[kept, 0], [kept, 10_000]], 'only the kept entry\'s fires');
});
