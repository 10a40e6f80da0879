// The result store as an append-only log with its index in memory (server/store/results-sql.ts):
// the index is rebuilt at open, follows a rolled-back batch back, and superseded rows leave the file.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../server/store/index.js';
import type { StoredResult, WriteBatch } from '../../server/store/index.js';

let nextId = 0;
const taskId = (): string => `task-${process.pid}-${++nextId}`;

function result(id: string, state: string, extra: Partial<StoredResult> = {}): StoredResult {
  return {
    vhost: '/', taskId: id, state, body: new TextEncoder().encode(`${state}-${id}`), contentType: 'application/json',
    dateDone: state === 'PENDING' ? 0 : 1_000, expiresAt: 0, ...extra,
  };
}

function batch(extra: Partial<WriteBatch>): WriteBatch {
  return { inserts: [], counts: [], deletes: [], ...extra };
}

function tempFile(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-result-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'data.db');
}

/** Rows in the file's log, read with a connection of its own. */
function logRows(file: string): { task_id: string; state: string }[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT task_id, state FROM result_log ORDER BY seq').all() as { task_id: string; state: string }[];
  } finally {
    db.close();
  }
}

t.test('a file reopened finds every result; a superseded row is gone from the file', async (t) => {
  const file = tempFile(t);
  const [a, b, c] = [taskId(), taskId(), taskId()];
  const store = openSqliteStore({ file, durability: 'full' });
  store.applyBatch(batch({ tracks: [result(a, 'PENDING'), result(b, 'PENDING'), result(c, 'PENDING')] }));
  store.applyBatch(batch({ results: [result(a, 'STARTED')] }));
  store.applyBatch(batch({ results: [result(a, 'SUCCESS'), result(b, 'FAILURE')], resultDeletes: [{ vhost: '/', taskId: c }] }));
  store.close();

  t.same(logRows(file).map((r) => [r.task_id, r.state]), [[a, 'SUCCESS'], [b, 'FAILURE']], 'one row per task, in the order stored');
  const again = openSqliteStore({ file, durability: 'full' });
  t.teardown(() => again.close());
  t.equal(again.loadResult('/', a)?.state, 'SUCCESS');
  t.equal(again.loadResult('/', b)?.state, 'FAILURE');
  t.equal(again.loadResult('/', c), null, 'a forgotten result stays forgotten');
  again.applyBatch(batch({ tracks: [result(a, 'PENDING')] }));
  t.equal(again.loadResult('/', a)?.state, 'SUCCESS', 'the rebuilt index keeps a PENDING from overwriting a result');
});

t.test('a task published and finished in one batch writes only its result', async (t) => {
  const file = tempFile(t);
  const id = taskId();
  const store = openSqliteStore({ file, durability: 'full' });
  store.applyBatch(batch({ tracks: [result(id, 'PENDING')], results: [result(id, 'SUCCESS')] }));
  t.equal(store.loadResult('/', id)?.state, 'SUCCESS');
  store.close();
  t.same(logRows(file).map((r) => r.state), ['SUCCESS']);
});

t.test('a batch that fails takes its index changes back with its rows', async (t) => {
  const file = tempFile(t);
  let store = openSqliteStore({ file, durability: 'full' });
  const [kept, twice, fresh, forgotten] = [taskId(), taskId(), taskId(), taskId()];
  store.applyBatch(batch({ results: [result(kept, 'SUCCESS'), result(twice, 'STARTED'), result(forgotten, 'SUCCESS')] }));
  // A revocation with no task id breaks a NOT NULL constraint after every result write of the
  // batch ran: appends, superseded rows removed, a delete, and two results of one task.
  const broken = { vhost: '/', taskId: null, expiresAt: 0, terminate: false } as unknown as NonNullable<WriteBatch['revocations']>[number];
  t.throws(() => store.applyBatch(batch({
    tracks: [result(fresh, 'PENDING')],
    results: [result(kept, 'FAILURE'), result(twice, 'RETRY'), result(twice, 'SUCCESS')],
    resultDeletes: [{ vhost: '/', taskId: forgotten }],
    revocations: [broken],
  })));
  const check = (when: string): void => {
    t.equal(store.loadResult('/', kept)?.state, 'SUCCESS', `${when}: the superseded row is still the one found`);
    t.equal(store.loadResult('/', twice)?.state, 'STARTED', `${when}: two results of one task are both taken back`);
    t.equal(store.loadResult('/', fresh), null, `${when}: a row the batch appended is not found`);
    t.equal(store.loadResult('/', forgotten)?.state, 'SUCCESS', `${when}: a delete of the batch is taken back`);
  };
  check('at once');
  store.close();
  store = openSqliteStore({ file, durability: 'full' });
  t.teardown(() => store.close());
  check('reopened');
  store.applyBatch(batch({ results: [result(kept, 'RETRY')] }));
  t.equal(store.loadResult('/', kept)?.state, 'RETRY', 'the next batch works on the restored index');
});

t.test("a seq freed by a deleted newest row and taken by another task never answers for the old id", async (t) => {
  const file = tempFile(t);
  let store = openSqliteStore({ file, durability: 'full' });
  const [older, newest, next] = [taskId(), taskId(), taskId()];
  store.applyBatch(batch({ results: [result(older, 'SUCCESS'), result(newest, 'SUCCESS')] }));
  store.applyBatch(batch({ resultDeletes: [{ vhost: '/', taskId: newest }] }));
  store.applyBatch(batch({ results: [result(next, 'FAILURE')] }));
  t.equal(store.loadResult('/', newest), null, 'the forgotten id');
  t.equal(store.loadResult('/', next)?.state, 'FAILURE');
  store.close();
  store = openSqliteStore({ file, durability: 'full' });
  t.teardown(() => store.close());
  t.equal(store.loadResult('/', newest), null, 'the forgotten id, after reopening');
  t.same([older, next].map((id) => store.loadResult('/', id)?.state), ['SUCCESS', 'FAILURE']);
});

t.test('expiry sweeps in chunks and forgets each swept id; a later row of the id survives', async (t) => {
  const store = openSqliteStore({ file: ':memory:', durability: 'full' });
  t.teardown(() => store.close());
  const ids = Array.from({ length: 10_050 }, () => taskId());
  store.applyBatch(batch({ results: ids.map((id) => result(id, 'SUCCESS', { expiresAt: 5_000 })) }));
  const renewed = ids[0] as string;
  store.applyBatch(batch({ results: [result(renewed, 'SUCCESS', { expiresAt: 50_000 })] }));
  t.equal(store.deleteExpiredResults(4_999), 0, 'nothing due yet');
  t.equal(store.deleteExpiredResults(5_000), ids.length - 1, 'more than one chunk');
  t.equal(store.loadResult('/', ids[1] as string), null);
  t.equal(store.loadResult('/', ids[ids.length - 1] as string), null);
  t.equal(store.loadResult('/', renewed)?.expiresAt, 50_000);
  store.applyBatch(batch({ tracks: [result(ids[1] as string, 'PENDING')] }));
  t.equal(store.loadResult('/', ids[1] as string)?.state, 'PENDING', 'an expired id can be tracked again');
});

t.test('the same task id in two vhosts is two results', async (t) => {
  const store = openSqliteStore({ file: ':memory:', durability: 'full' });
  t.teardown(() => store.close());
  const id = taskId();
  store.applyBatch(batch({ results: [result(id, 'SUCCESS'), result(id, 'FAILURE', { vhost: 'other' })] }));
  t.equal(store.loadResult('/', id)?.state, 'SUCCESS');
  t.equal(store.loadResult('other', id)?.state, 'FAILURE');
  store.applyBatch(batch({ resultDeletes: [{ vhost: 'other', taskId: id }] }));
  t.equal(store.loadResult('/', id)?.state, 'SUCCESS');
  t.equal(store.loadResult('other', id), null);
});
