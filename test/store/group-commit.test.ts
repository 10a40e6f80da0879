// GroupCommit over a real in-memory SQLite store, wrapped only to count (or fail) applyBatch
// calls: one transaction per turn, callbacks after the commit, cancelled inserts, retries.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { GroupCommit, openSqliteStore } from '../../server/store/index.js';
import type { BrokerStore, StoredMessage, WriteBatch } from '../../server/store/index.js';

/** The real store plus a record of every applyBatch call; `failNext` makes the next ones throw. */
interface Recorder {
  store: BrokerStore;
  batches: WriteBatch[];
  failNext: number;
  applyBatch(batch: WriteBatch): void;
}

function recorder(t: Test): Recorder {
  const store = openSqliteStore({ file: ':memory:', durability: 'full' });
  t.teardown(() => store.close());
  const rec: Recorder = {
    store,
    batches: [],
    failNext: 0,
    applyBatch(batch) {
      rec.batches.push(structuredClone(batch));
      if (rec.failNext > 0) {
        rec.failNext--;
        throw new Error('disk I/O error (simulated)');
      }
      store.applyBatch(batch);
    },
  };
  return rec;
}

function queue(store: BrokerStore): number {
  return store.saveQueue({ id: 0, vhost: '/', name: `gc-${Math.random().toString(36).slice(2)}`, autoDelete: false, options: {} });
}

function msg(id: number, queueId: number): StoredMessage {
  return {
    id, queueId, exchange: '', routingKey: 'k', body: Uint8Array.from([id & 0xff]), props: null,
    priority: 0, readyAt: 0, expiresAt: 0, deliveryCount: 0, lane: 0,
  };
}

/** Lets the pending commit run: it waits two setImmediate hops, so this waits three. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(() => setImmediate(resolve))));

/** Resolves when `cond()` holds; rejects after `ms`. */
async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const stored = (store: BrokerStore, queueId: number): number[] => store.loadMessages(queueId, 0, 1e6).map((m) => m.id);

t.test('one applyBatch per turn, callbacks after the commit', async (t) => {
  const rec = recorder(t);
  const gc = new GroupCommit(rec);
  t.teardown(() => gc.close());
  const q = queue(rec.store);
  const seen: { id: number; err: Error | null; onDisk: boolean }[] = [];
  for (let id = 1; id <= 100; id++) {
    gc.insert(msg(id, q), (err) => seen.push({ id, err, onDisk: stored(rec.store, q).includes(id) }));
  }
  t.equal(gc.pendingCount, 100);
  t.equal(rec.batches.length, 0, 'nothing written inside the turn');
  t.equal(seen.length, 0, 'no callback runs synchronously');
  await nextTurn();
  t.equal(rec.batches.length, 1, 'one transaction for the whole turn');
  t.equal(rec.batches[0]?.inserts.length, 100);
  t.same(seen.map((s) => s.id), Array.from({ length: 100 }, (_, i) => i + 1), 'callbacks in insert order');
  t.ok(seen.every((s) => s.err === null && s.onDisk), 'each callback sees its row committed');
  t.equal(gc.pendingCount, 0);

  // The next turn: acks and requeues of those messages, again one transaction.
  gc.updateCount(5, 1);
  gc.updateCount(5, 2);
  for (let id = 1; id <= 50; id++) gc.delete(id);
  gc.updateCount(60, 3);
  await nextTurn();
  t.equal(rec.batches.length, 2);
  t.same(rec.batches[1]?.counts, [{ id: 60, deliveryCount: 3 }], 'a count update of a deleted message is dropped');
  t.equal(rec.batches[1]?.deletes.length, 50);
  t.equal(rec.store.countMessages(q), 50);
  t.equal(rec.store.loadMessages(q, 59, 1)[0]?.deliveryCount, 3);

  await nextTurn();
  t.equal(rec.batches.length, 2, 'an idle turn commits nothing');
});

t.test('an insert deleted in the same turn never reaches the store, and still succeeds', async (t) => {
  const rec = recorder(t);
  const gc = new GroupCommit(rec);
  t.teardown(() => gc.close());
  const q = queue(rec.store);
  const results: [number, Error | null][] = [];
  gc.insert(msg(1, q), (err) => results.push([1, err]));
  gc.updateCount(1, 1);
  gc.delete(1);
  t.equal(gc.pendingCount, 0, 'cancelled, nothing pending');
  await nextTurn();
  t.equal(rec.batches.length, 0, 'no transaction at all');
  t.same(results, [[1, null]], 'done(null) at commit time');

  gc.insert(msg(2, q), (err) => results.push([2, err]));
  gc.insert(msg(3, q), (err) => results.push([3, err]));
  gc.insert(msg(4, q), (err) => results.push([4, err]));
  gc.delete(3);
  await nextTurn();
  t.equal(rec.batches.length, 1);
  t.same(rec.batches[0]?.inserts.map((m) => m.id), [2, 4]);
  t.same(rec.batches[0]?.deletes, [], 'no delete of a row that was never written');
  t.same(results.slice(1), [[2, null], [3, null], [4, null]], 'callbacks keep insert order');
  t.same(stored(rec.store, q), [2, 4]);
});

t.test('a failed commit fails its inserts and keeps deletes and counts for the next one', async (t) => {
  const rec = recorder(t);
  const errors: Error[] = [];
  const gc = new GroupCommit(rec, { onError: (err) => errors.push(err), retryDelayMs: 60_000 });
  t.teardown(() => gc.close());
  const q = queue(rec.store);
  rec.store.applyBatch({ inserts: [msg(1, q), msg(2, q), msg(3, q)], counts: [], deletes: [] });

  rec.failNext = 1;
  const results: [number, Error | null][] = [];
  gc.insert(msg(10, q), (err) => results.push([10, err]));
  gc.delete(1);
  gc.updateCount(2, 7);
  gc.updateCount(3, 1);
  await nextTurn();
  t.equal(rec.batches.length, 1);
  t.equal(results.length, 1);
  t.match(results[0]?.[1]?.message, /disk I\/O error/, 'the insert gets the commit error');
  t.equal(errors.length, 1, 'onError told');
  t.same(stored(rec.store, q), [1, 2, 3], 'nothing of the failed batch applied');
  t.equal(gc.pendingCount, 3, 'the delete and both count updates are kept');

  // The next turn's writes carry the retries; a newer count wins over the kept one.
  gc.updateCount(3, 2);
  gc.insert(msg(11, q), (err) => results.push([11, err]));
  await nextTurn();
  t.equal(rec.batches.length, 2);
  const retry = rec.batches[1]!;
  t.same(retry.inserts.map((m) => m.id), [11], 'the failed insert is not retried');
  t.same(retry.deletes, [1]);
  t.same([...retry.counts].sort((a, b) => a.id - b.id), [{ id: 2, deliveryCount: 7 }, { id: 3, deliveryCount: 2 }]);
  t.same(results[1], [11, null]);
  t.same(stored(rec.store, q), [2, 3, 11]);
  t.same(rec.store.loadMessages(q, 0, 10).map((m) => m.deliveryCount), [7, 2, 0]);
  t.equal(gc.pendingCount, 0);
});

t.test('kept deletes are retried on their own when nothing else is written', async (t) => {
  const rec = recorder(t);
  const gc = new GroupCommit(rec, { onError: () => {}, retryDelayMs: 10 });
  t.teardown(() => gc.close());
  const q = queue(rec.store);
  rec.store.applyBatch({ inserts: [msg(1, q)], counts: [], deletes: [] });
  rec.failNext = 2;
  gc.delete(1);
  await waitFor(() => rec.store.countMessages(q) === 0);
  t.equal(rec.batches.length, 3, 'failed twice, then committed');
  t.equal(gc.pendingCount, 0);
});

t.test('flush commits now and runs the callbacks before returning', async (t) => {
  const rec = recorder(t);
  const gc = new GroupCommit(rec);
  t.teardown(() => gc.close());
  const q = queue(rec.store);
  let done = false;
  gc.insert(msg(1, q), () => {
    done = true;
  });
  gc.flush();
  t.ok(done);
  t.same(stored(rec.store, q), [1]);
  t.equal(rec.batches.length, 1);
  await nextTurn();
  t.equal(rec.batches.length, 1, 'the scheduled turn finds nothing left');
  gc.flush();
  t.equal(rec.batches.length, 1, 'flush with nothing pending writes nothing');
});

t.test('large turns are split into bounded transactions, callbacks still in order at turn end', async (t) => {
  const rec = recorder(t);
  const gc = new GroupCommit(rec, { maxBatchInserts: 10 });
  t.teardown(() => gc.close());
  const q = queue(rec.store);
  const order: number[] = [];
  for (let id = 1; id <= 25; id++) gc.insert(msg(id, q), () => order.push(id));
  t.same(rec.batches.map((b) => b.inserts.length), [10, 10], 'committed as the bound was reached');
  t.same(order, [], 'callbacks never run inside insert()');
  t.equal(gc.pendingCount, 5);
  await nextTurn();
  t.same(rec.batches.map((b) => b.inserts.length), [10, 10, 5]);
  t.same(order, Array.from({ length: 25 }, (_, i) => i + 1));
});

t.test('writes made from a callback go to a later commit, in order', async (t) => {
  const rec = recorder(t);
  const gc = new GroupCommit(rec);
  t.teardown(() => gc.close());
  const q = queue(rec.store);
  const order: string[] = [];
  gc.insert(msg(1, q), () => {
    order.push('1');
    // E.g. a dead-letter republish, flushed at once by a topology change.
    gc.insert(msg(3, q), () => order.push('3'));
    gc.flush();
    order.push('after nested flush');
  });
  gc.insert(msg(2, q), () => order.push('2'));
  await nextTurn();
  t.same(order, ['1', 'after nested flush', '2', '3'], 'a later commit never overtakes an earlier one');
  t.equal(rec.batches.length, 2);
  t.same(stored(rec.store, q), [1, 2, 3]);
});

t.test('a throwing callback does not stop the others', async (t) => {
  const rec = recorder(t);
  const gc = new GroupCommit(rec);
  t.teardown(() => gc.close());
  const q = queue(rec.store);
  const ran: number[] = [];
  gc.insert(msg(1, q), () => {
    ran.push(1);
    throw new Error('bug in a callback');
  });
  gc.insert(msg(2, q), () => ran.push(2));
  t.throws(() => gc.flush(), /bug in a callback/, 'rethrown after all callbacks ran');
  t.same(ran, [1, 2]);
});

t.test('close flushes, stops, and refuses later writes', async (t) => {
  const rec = recorder(t);
  const gc = new GroupCommit(rec);
  const q = queue(rec.store);
  let result: Error | null | undefined;
  gc.insert(msg(1, q), (err) => {
    result = err;
  });
  gc.close();
  t.equal(result, null);
  t.same(stored(rec.store, q), [1]);
  t.throws(() => gc.insert(msg(2, q), () => {}), /closed/);
  t.throws(() => gc.delete(1), /closed/);
  gc.close();
  await nextTurn();
  t.equal(rec.batches.length, 1);
});

/** A real SQLite store on a temporary file with `full` durability (its commits need an fsync). */
function fullFileStore(t: Test): BrokerStore {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-gc-'));
  const store = openSqliteStore({ file: join(dir, 'broker.db'), durability: 'full' });
  t.teardown(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

/**
 * A real file store with `full` durability whose fsync callbacks wait for the test's `release()`,
 * so a test can act while an fsync is in flight. The fsync itself is the store's own.
 */
async function heldSyncs(t: Test): Promise<{ target: Recorder & Pick<BrokerStore, 'needsSync' | 'sync' | 'syncNow'>; release(): void; inFlight(): number }> {
  const store = fullFileStore(t);
  const held: (() => void)[] = [];
  const target = {
    store,
    batches: [] as WriteBatch[],
    failNext: 0,
    needsSync: store.needsSync,
    applyBatch(batch: WriteBatch) {
      target.batches.push(structuredClone(batch));
      store.applyBatch(batch);
    },
    sync(done: (err: Error | null) => void) {
      store.sync((err) => held.push(() => done(err)));
    },
    syncNow: () => store.syncNow(),
  };
  return {
    target,
    inFlight: () => held.length,
    release: () => held.splice(0).forEach((run) => run()),
  };
}

const result = (taskId: string, state: string) => ({
  vhost: '/', taskId, state, body: null, contentType: null, dateDone: 1, expiresAt: 0,
});

t.test('writes wait for the fsync in flight: an insert acked meanwhile is never written, PENDING and result are one row', async (t) => {
  const { target, release, inFlight } = await heldSyncs(t);
  t.equal(target.needsSync, true, 'a file store with full durability syncs');
  const gc = new GroupCommit(target);
  t.teardown(() => gc.close());
  const q = queue(target.store);
  const done: number[] = [];
  gc.insert(msg(1, q), (err) => err === null && done.push(1));
  await nextTurn();
  t.equal(target.batches.length, 1, 'the first write commits at the end of its turn');
  await waitFor(() => inFlight() === 1);

  // While that fsync runs: a second message published and tracked, then acked with its result.
  gc.insert(msg(2, q), (err) => err === null && done.push(2));
  gc.track(result('task-2', 'PENDING'));
  await nextTurn();
  t.equal(target.batches.length, 1, 'no commit while the fsync is in flight');
  gc.delete(2);
  gc.putResult(result('task-2', 'SUCCESS'), (err) => err === null && done.push(20));
  await nextTurn();
  t.equal(target.batches.length, 1, 'still waiting for the fsync');
  t.same(done, [], 'nothing confirmed before its fsync');

  release();
  t.same(done, [1], 'the first insert is confirmed once its fsync ends');
  t.equal(target.batches.length, 2, 'the fsync end commits what waited');
  const second = target.batches[1]!;
  t.same(second.inserts, [], 'the acked message was never written');
  t.same(second.deletes, [], 'nor deleted');
  t.same(second.tracks, [], 'its PENDING row was not written: the result replaces it in the same batch');
  t.same(second.results?.map((r) => r.state), ['SUCCESS']);
  await waitFor(() => inFlight() === 1);
  release();
  t.same(done, [1, 2, 20], 'the second publish and the result are confirmed after their own fsync');
  t.same(stored(target.store, q), [1]);
  t.equal(target.store.loadResult('/', 'task-2')?.state, 'SUCCESS');
});

t.test('a commit waits for the acks of messages out to a quick consumer, up to ackHoldMs', async (t) => {
  const rec = recorder(t);
  const gc = new GroupCommit(rec, { ackHoldMs: 200 });
  t.teardown(() => gc.close());
  const q = queue(rec.store);
  const done: number[] = [];
  gc.insert(msg(1, q), (err) => err === null && done.push(1), true);
  gc.insert(msg(2, q), (err) => err === null && done.push(2));
  await nextTurn();
  t.equal(rec.batches.length, 0, 'held for the ack of message 1');
  gc.delete(1);
  await nextTurn();
  t.equal(rec.batches.length, 1, 'the ack ends the wait at once');
  t.same(rec.batches[0]?.inserts.map((m) => m.id), [2], 'the acked message was never written');
  t.same(done, [1, 2], 'both confirmed, in order');

  // No ack comes: the hold ends on its own and the message is written.
  gc.insert(msg(3, q), (err) => err === null && done.push(3), true);
  await nextTurn();
  t.equal(rec.batches.length, 1, 'held');
  await waitFor(() => rec.batches.length === 2);
  t.same(rec.batches[1]?.inserts.map((m) => m.id), [3]);
  t.same(done, [1, 2, 3]);
  t.same(stored(rec.store, q), [2, 3]);
});

t.test('without ackHoldMs an awaited insert commits at the end of its turn', async (t) => {
  const rec = recorder(t);
  const gc = new GroupCommit(rec);
  t.teardown(() => gc.close());
  const q = queue(rec.store);
  gc.insert(msg(1, q), () => undefined, true);
  await nextTurn();
  t.same(rec.batches.map((b) => b.inserts.map((m) => m.id)), [[1]]);
});

t.test('a message settled before its insert (a noAck delivery) writes nothing', async (t) => {
  const rec = recorder(t);
  const gc = new GroupCommit(rec);
  t.teardown(() => gc.close());
  const q = queue(rec.store);
  const results: [number, Error | null][] = [];
  gc.delete(7);
  gc.insert(msg(7, q), (err) => results.push([7, err]));
  gc.insert(msg(8, q), (err) => results.push([8, err]));
  await nextTurn();
  t.equal(rec.batches.length, 1);
  t.same(rec.batches[0]?.inserts.map((m) => m.id), [8]);
  t.same(rec.batches[0]?.deletes, [], 'no delete of a row never written');
  t.same(results, [[7, null], [8, null]]);
});

t.test('a small commit is fsynced on the event loop, a large one on the fsync thread; both confirm after it', async (t) => {
  const store = fullFileStore(t);
  const asked: boolean[] = [];
  const target = {
    needsSync: store.needsSync,
    applyBatch: (batch: WriteBatch) => store.applyBatch(batch),
    sync(done: (err: Error | null) => void, inline?: boolean) {
      asked.push(inline === true);
      store.sync(done, inline);
    },
    syncNow: () => store.syncNow(),
  };
  const gc = new GroupCommit(target);
  t.teardown(() => gc.close());
  const q = queue(store);
  const done: number[] = [];
  gc.insert(msg(1, q), (err) => err === null && done.push(1));
  await nextTurn();
  await waitFor(() => done.length === 1);
  t.same(asked, [true], 'one callback: fsynced inline');
  for (let id = 2; id <= 21; id++) gc.insert(msg(id, q), (err) => err === null && done.push(id));
  await nextTurn();
  await waitFor(() => done.length === 21);
  t.same(asked, [true, false], 'twenty callbacks: on the thread');
  t.same(done, Array.from({ length: 21 }, (_, i) => i + 1), 'confirmed in order');

  // Inline, the callback still runs after the caller's stack, never inside store.sync().
  let ran = false;
  store.sync(() => { ran = true; }, true);
  t.equal(ran, false, 'not called synchronously');
  await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
  t.equal(ran, true, 'called right after');
  t.same(stored(store, q).length, 21);
});
