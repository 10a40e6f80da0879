// Result reads of clients never show a final result before it is durable, while the clients
// already waiting are pushed it when it is stored: ResultBackend over a real in-memory SQLite
// store and the real group commit.
import t, { type Test } from 'tap';
import { GroupCommit, openSqliteStore } from '../../server/store/index.js';
import { ResultBackend } from '../../server/engine/results.js';
import type { ResultRecord } from '../../shared/frames.js';

/** Lets the group commit's end-of-turn commit run (it waits two setImmediate hops). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(() => setImmediate(resolve))));

function backend(t: Test) {
  const store = openSqliteStore({ file: ':memory:', durability: 'full' });
  const writer = new GroupCommit(store);
  t.teardown(() => {
    writer.close();
    store.close();
  });
  return new ResultBackend(store, writer, Date.now);
}

t.test('a wait arriving while the final result is still in the group commit is answered after its commit', async (t) => {
  const results = backend(t);
  const taskId = `rr-${Math.random().toString(36).slice(2)}`;
  results.track('/', { taskId });
  await nextTurn();
  const stored: (Error | null)[] = [];
  results.put('/', taskId, 'SUCCESS', Uint8Array.from([1]), {}, (err) => stored.push(err));
  t.equal(results.get('/', taskId)?.state, 'SUCCESS', 'the engine sees its own write at once');
  t.equal(results.read('/', taskId)?.state, 'PENDING', 'a client does not, until it is committed');
  const answers: (ResultRecord | null)[] = [];
  results.wait('/', taskId, 10_000, (rec) => answers.push(rec));
  t.same(answers, [], 'the wait is not answered from the write in flight');
  await nextTurn();
  t.same(stored, [null], 'committed');
  t.same(answers.map((a) => a?.state), ['SUCCESS'], 'answered by the commit');
  t.equal(results.read('/', taskId)?.state, 'SUCCESS');
  const later: (ResultRecord | null)[] = [];
  results.wait('/', taskId, 10_000, (rec) => later.push(rec));
  t.same(later.map((a) => a?.state), ['SUCCESS'], 'a wait after the commit is answered at once');
});

t.test('a wait with timeout 0 answers at once with what a client may see', async (t) => {
  const results = backend(t);
  const taskId = `rr0-${Math.random().toString(36).slice(2)}`;
  results.track('/', { taskId });
  results.put('/', taskId, 'FAILURE', undefined, {}, () => undefined);
  const answers: (ResultRecord | null)[] = [];
  results.wait('/', taskId, 0, (rec) => answers.push(rec));
  t.same(answers.map((a) => a?.state), ['PENDING']);
  await nextTurn();
});

t.test('a wait registered before the final result is stored is pushed it at once; reads still wait for the commit', async (t) => {
  const results = backend(t);
  const taskId = `rrp-${Math.random().toString(36).slice(2)}`;
  results.track('/', { taskId });
  const answers: (ResultRecord | null)[] = [];
  results.wait('/', taskId, 10_000, (rec) => answers.push(rec));
  t.same(answers, [], 'PENDING: the wait goes on');
  const stored: (Error | null)[] = [];
  results.put('/', taskId, 'SUCCESS', Uint8Array.from([7]), {}, (err) => stored.push(err));
  t.same(answers.map((a) => a?.state), ['SUCCESS'], 'pushed when stored, before the commit');
  t.same(stored, [], 'not committed yet');
  t.equal(results.read('/', taskId)?.state, 'PENDING', 'a read still sees only what is durable');
  await nextTurn();
  t.same(stored, [null]);
  t.equal(answers.length, 1, 'answered once');
  t.equal(results.read('/', taskId)?.state, 'SUCCESS');
});
