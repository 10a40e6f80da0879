// The engine without sockets, over a real SQLite store whose batches are recorded: a fire's log row,
// its entry's new state, its task message and the message's PENDING id land in ONE transaction, and
// the fire is answered only after it; a refused fire writes nothing.
import t from 'tap';
import { createEngine, type EngineApi, type EngineConnection } from '../../server/engine/index.js';
import type { BeatDone } from '../../server/engine/types.js';
import { openSqliteStore, type BrokerStore, type WriteBatch } from '../../server/store/index.js';
import { taskMessage, unique } from './broker-helpers.js';

/** The store with every applyBatch recorded (after it committed). */
function recordedStore(): { store: BrokerStore; batches: WriteBatch[] } {
  const real = openSqliteStore({ file: ':memory:', durability: 'full' });
  const batches: WriteBatch[] = [];
  const store = new Proxy(real, {
    get(target, prop) {
      if (prop === 'applyBatch') return (b: WriteBatch) => { target.applyBatch(b); batches.push(b); };
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store, batches };
}

/** Runs an engine request that answers through a BeatDone, as a promise. */
function ask<T>(call: (done: BeatDone<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => call((err, result) => (err === null ? resolve(result as T) : reject(err))));
}

t.test('a fire commits its log row, entry state, message and PENDING id together', async (t) => {
  const { store, batches } = recordedStore();
  const engine: EngineApi = createEngine({ store });
  t.teardown(async () => { await engine.close(); store.close(); });
  const conn: EngineConnection = engine.openConnection({ id: 'c1', vhost: '/', user: 'guest', client: 'test', peer: '127.0.0.1' }, {
    writable: () => true, deliver: () => undefined, consumerCancelled: () => undefined, flow: () => undefined,
  });
  const queue = unique('q');
  engine.declareQueue(conn, queue, { durable: true });
  const entry = unique('tick');
  const { revision } = await ask<{ revision: number }>((done) => engine.beat.upsert(conn, entry, '{"task":"t.add"}', {}, done));
  const { lease } = await ask<{ lease: { epoch: number } }>((done) => engine.beat.acquireLease(conn, 'beat', 'me', 60_000, done));

  const before = batches.length;
  const taskId = unique('id');
  const scheduledAt = Date.now();
  let committedWhenAnswered = -1;
  const answer = await ask<{ fired: boolean }>((done) => engine.beat.fire(conn, {
    lease: 'beat', holder: 'me', epoch: lease.epoch, entry, revision, scheduledAt, nextRunAt: scheduledAt + 1_000, publishes: [taskMessage(queue, taskId)],
  }, (err, result) => { committedWhenAnswered = batches.length; done(err, result); }));
  t.match(answer, { fired: true });
  const fireBatches = batches.slice(before);
  t.equal(fireBatches.length, 1, 'one transaction');
  const b = fireBatches[0]!;
  t.match(b.fires, [{ vhost: '/', entry, scheduledAt }], 'the fire log row');
  t.match(b.scheduleEntries, [{ name: entry, lastRunAt: scheduledAt, nextRunAt: scheduledAt + 1_000, runCount: 1 }], 'the entry state');
  t.equal(b.inserts.length, 1, 'the task message');
  t.equal(b.inserts[0]!.props !== null, true);
  t.match(b.tracks, [{ taskId, state: 'PENDING' }], 'its id PENDING');
  t.equal(committedWhenAnswered, before + 1, 'answered after the commit');

  // Refused fires (stale, changed, duplicate) write nothing.
  const count = batches.length;
  const refused = { lease: 'beat', holder: 'me', epoch: lease.epoch, entry, revision, scheduledAt, nextRunAt: null, publishes: [taskMessage(queue, unique('id'))] };
  t.same(await ask((done) => engine.beat.fire(conn, refused, done)), { fired: false, reason: 'duplicate' });
  t.same(await ask((done) => engine.beat.fire(conn, { ...refused, revision: revision + 1, scheduledAt: scheduledAt + 1 }, done)), { fired: false, reason: 'changed' });
  t.throws(() => engine.beat.fire(conn, { ...refused, epoch: lease.epoch + 1, scheduledAt: scheduledAt + 1 }, () => undefined), { code: 'ERR_STALE_LEASE' });
  await ask<unknown>((done) => engine.beat.acquireLease(conn, unique('other'), 'me', 60_000, done)); // a later commit, to flush anything pending
  t.equal(batches.length, count + 1, 'only the later lease was written');
  t.same(batches.at(-1)!.inserts, [], 'no message');
});
