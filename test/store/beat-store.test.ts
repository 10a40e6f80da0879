// Beat's tables in the store (schema 5) and through the group commit: rows back as written, an
// entry's removal taking its fire log, the fire log's bound, and beat writes kept across a failed
// commit (and dropped, reported, when they keep failing, so they cannot block every later commit).
import t, { type Test } from 'tap';
import { GroupCommit, openSqliteStore } from '../../server/store/index.js';
import type { BrokerStore, StoredFire, StoredScheduleEntry, WriteBatch } from '../../server/store/index.js';
import { FIRE_LOG_KEEP, FIRE_LOG_MAX_AGE_MS } from '../../server/store/store.js';
import { until } from '../helpers/wait.js';

function memoryStore(t: Test): BrokerStore {
  const store = openSqliteStore({ file: ':memory:', durability: 'full' });
  t.teardown(() => store.close());
  return store;
}

const batch = (extra: Partial<WriteBatch>): WriteBatch => ({ inserts: [], counts: [], deletes: [], ...extra });

function entry(name: string, extra: Partial<StoredScheduleEntry> = {}): StoredScheduleEntry {
  return {
    vhost: '/', name, spec: '{"task":"t"}', paused: false, source: 'api', lastRunAt: null, nextRunAt: null, runCount: 0,
    createdAt: 1, updatedAt: 1, revision: 1, ...extra,
  };
}

const fire = (entryName: string, scheduledAt: number, firedAt = scheduledAt, vhost = '/'): StoredFire => ({ vhost, entry: entryName, scheduledAt, firedAt });

t.test('entries, leases and fires come back as written', async (t) => {
  const store = memoryStore(t);
  t.same(store.loadBeat(), { entries: [], leases: [], fires: [] }, 'a new file has none');
  const a = entry('a', { paused: true, source: 'settings', lastRunAt: 5, nextRunAt: 6, runCount: 2, createdAt: 1, updatedAt: 3, revision: 4 });
  const b = entry('b', { spec: 'x'.repeat(64 * 1024) });
  store.applyBatch(batch({
    scheduleEntries: [b, a],
    leases: [{ vhost: '/', name: 'beat', holder: 'h', epoch: 3, expiresAt: 99 }, { vhost: 'v2', name: 'beat', holder: null, epoch: 1, expiresAt: 0 }],
    fires: [fire('a', 20), fire('a', 10)],
  }));
  const loaded = store.loadBeat();
  t.same(loaded.entries, [a, b], 'by vhost and name, nulls kept');
  t.same(loaded.leases, [{ vhost: '/', name: 'beat', holder: 'h', epoch: 3, expiresAt: 99 }, { vhost: 'v2', name: 'beat', holder: null, epoch: 1, expiresAt: 0 }]);
  t.same(loaded.fires.map((f) => f.scheduledAt), [10, 20], 'fires in scheduled order');

  // Whole rows replace; a repeated fire key is ignored.
  store.applyBatch(batch({ scheduleEntries: [{ ...a, runCount: 3, lastRunAt: 20 }], leases: [{ vhost: '/', name: 'beat', holder: 'g', epoch: 4, expiresAt: 100 }], fires: [fire('a', 20, 77)] }));
  const again = store.loadBeat();
  t.match(again.entries[0], { name: 'a', runCount: 3, lastRunAt: 20 });
  t.match(again.leases[0], { holder: 'g', epoch: 4 });
  t.same(again.fires.map((f) => [f.scheduledAt, f.firedAt]), [[10, 10], [20, 20]]);
});

t.test('removing an entry removes its fire log, nothing else', async (t) => {
  const store = memoryStore(t);
  store.applyBatch(batch({ scheduleEntries: [entry('a'), entry('b'), { ...entry('a'), vhost: 'v2' }], fires: [fire('a', 1), fire('b', 1), fire('a', 1, 1, 'v2')] }));
  store.applyBatch(batch({ scheduleDeletes: [{ vhost: '/', name: 'a' }] }));
  const loaded = store.loadBeat();
  t.same(loaded.entries.map((e) => `${e.vhost}:${e.name}`), ['/:b', 'v2:a']);
  t.same(loaded.fires.map((f) => `${f.vhost}:${f.entry}`), ['/:b', 'v2:a']);

  // Removed and added again in one batch: the new entry, with only its own fires.
  store.applyBatch(batch({ fires: [fire('b', 2)] }));
  store.applyBatch(batch({ scheduleDeletes: [{ vhost: '/', name: 'b' }], scheduleEntries: [entry('b', { revision: 1 })], fires: [fire('b', 3)] }));
  t.same(store.loadBeat().fires.filter((f) => f.vhost === '/').map((f) => f.scheduledAt), [3]);
});

t.test('the fire log keeps the newest fires of each entry, none older than its age bound', async (t) => {
  const store = memoryStore(t);
  const now = Date.now();
  const many = Array.from({ length: FIRE_LOG_KEEP + 5 }, (_, i) => fire('busy', now - 1_000_000 + i, now));
  store.applyBatch(batch({ fires: [...many, fire('quiet', now - 1, now)] }));
  let fires = store.loadBeat().fires;
  const busy = fires.filter((f) => f.entry === 'busy').map((f) => f.scheduledAt);
  t.equal(busy.length, FIRE_LOG_KEEP, `${FIRE_LOG_KEEP} kept`);
  t.equal(busy[0], now - 1_000_000 + 5, 'the oldest five went');
  t.same(fires.filter((f) => f.entry === 'quiet').length, 1, 'another entry keeps its own');

  // A fire a little over the age bound after an old one: the old one goes.
  store.applyBatch(batch({ fires: [fire('slow', now - FIRE_LOG_MAX_AGE_MS - 10, now - FIRE_LOG_MAX_AGE_MS - 10)] }));
  store.applyBatch(batch({ fires: [fire('slow', now, now)] }));
  fires = store.loadBeat().fires;
  t.same(fires.filter((f) => f.entry === 'slow').map((f) => f.scheduledAt), [now]);
});

/** Lets the pending commit run: it waits two setImmediate hops, so this waits three. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(() => setImmediate(resolve))));

t.test('group commit: beat writes in the turn\'s transaction, kept across a failed commit', async (t) => {
  const store = memoryStore(t);
  let failNext = 0;
  const errors: Error[] = [];
  const gc = new GroupCommit({
    applyBatch(b) {
      if (failNext > 0) {
        failNext--;
        throw new Error('disk I/O error (simulated)');
      }
      store.applyBatch(b);
    },
  }, { onError: (err) => errors.push(err), retryDelayMs: 10 });
  t.teardown(() => gc.close());

  // A fire recorded, then its entry removed in the same turn: the fire goes with it.
  gc.putScheduleEntry(entry('a'));
  gc.putFire(fire('a', 1));
  gc.putScheduleEntry(entry('b'));
  gc.putFire(fire('b', 1));
  gc.deleteScheduleEntry({ vhost: '/', name: 'a' });
  await nextTurn();
  t.same(store.loadBeat().entries.map((e) => e.name), ['b']);
  t.same(store.loadBeat().fires.map((f) => f.entry), ['b']);

  failNext = 2;
  const results: (Error | null)[] = [];
  gc.putScheduleEntry(entry('c', { runCount: 1 }));
  gc.putLease({ vhost: '/', name: 'beat', holder: 'h', epoch: 7, expiresAt: 1 });
  gc.putFire(fire('c', 5));
  gc.deleteScheduleEntry({ vhost: '/', name: 'b' });
  gc.afterCommit((err) => results.push(err));
  await until(() => results.length === 1, 2_000, 'the failed commit');
  t.match(results[0]?.message, /disk I\/O error/, 'the waiting request is told');
  await until(() => gc.pendingCount === 0, 2_000, 'the retries');
  const loaded = store.loadBeat();
  t.same(loaded.entries.map((e) => [e.name, e.runCount]), [['c', 1]], 'written on a later commit');
  t.match(loaded.leases, [{ epoch: 7 }], 'the epoch handed out is on disk');
  t.same(loaded.fires.map((f) => f.entry), ['c']);
  t.equal(errors.length, 2);
});

t.test('group commit: beat writes that keep failing are dropped, and later commits go on', async (t) => {
  const store = memoryStore(t);
  const errors: Error[] = [];
  const gc = new GroupCommit({
    applyBatch(b) {
      if ((b.scheduleEntries ?? []).some((e) => e.name === 'poison')) throw new Error('a row the disk refuses (simulated)');
      store.applyBatch(b);
    },
  }, { onError: (err) => errors.push(err), retryDelayMs: 5 });
  t.teardown(() => gc.close());
  gc.putScheduleEntry(entry('poison'));
  await until(() => errors.some((e) => /beat writes dropped/.test(e.message)), 5_000, 'the drop');
  await until(() => gc.pendingCount === 0, 2_000, 'nothing pending');
  const done: (Error | null)[] = [];
  gc.putScheduleEntry(entry('fine'));
  gc.afterCommit((err) => done.push(err));
  await until(() => done.length === 1, 2_000, 'the next commit');
  t.equal(done[0], null, 'committed');
  t.same(store.loadBeat().entries.map((e) => e.name), ['fine']);
});
