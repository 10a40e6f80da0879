// Groups end to end: members run in parallel, results come back in group order, the broker's
// counter answers ready()/completedCount(), a failing member fails get().
import t from 'tap';
import { group, GroupResult } from '../../client/index.js';
import { taskEnv } from '../tasks/task-helpers.js';

t.test('group results in order; completedCount, ready, successful', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const add = app.task('tasks.add', async (a: number, b: number) => {
    // Later members finish first: the order of results is the group's, not the finishing order.
    await new Promise((r) => setTimeout(r, 50 - a * 5));
    return a + b;
  });
  const g = group(Array.from({ length: 8 }, (_, i) => add.s(i, i)));
  const r: GroupResult<number[]> = await g.delay();
  t.equal(r.results.length, 8);
  t.equal(await r.completedCount(), 0, 'nothing ran yet');
  t.equal(await r.ready(), false);
  t.equal(await r.waiting(), true);
  await startWorker(app);
  t.same(await r.get({ timeout: 5_000 }), [0, 2, 4, 6, 8, 10, 12, 14]);
  t.same(await r.join({ timeout: 1_000 }), [0, 2, 4, 6, 8, 10, 12, 14], 'join is get');
  t.equal(await r.completedCount(), 8);
  t.equal(await r.doneCount(), 8);
  t.equal(await r.ready(), true);
  t.equal(await r.successful(), true);
  t.equal(await r.failed(), false);
  t.equal(String(r), r.id);
  const conn = await app.connection();
  const rec = await conn.getGroup(r.id);
  t.same(rec?.members, r.results.map((x) => x.id), 'declared in the broker with the member ids in order');
  t.equal(rec?.done, 8);
  await r.forget();
  t.equal(await r.results[0]!.state, 'UNKNOWN');
});

t.test('a group of varargs is typed per member; args of delay() go to every member', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  const hello = app.task('tasks.hello', (name: string) => `hello ${name}`);
  await startWorker(app);
  const r = await group(add.s(1, 1), hello.s('you')).delay();
  const [n, s]: [number, string] = await r.get({ timeout: 5_000 });
  t.equal(n, 2);
  t.equal(s, 'hello you');
  const partial = await group(add.s(1), add.s(2)).delay(10);
  t.same(await partial.get({ timeout: 5_000 }), [11, 12]);
  const empty = await group([]).delay();
  t.same(await empty.get(), []);
  t.equal(await empty.ready(), true);
});

t.test('a failing member: get() rejects with its error; failed() and completedCount() tell', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const maybe = app.task('tasks.maybe', (x: number) => {
    if (x === 2) throw new Error(`bad ${x}`);
    return x;
  });
  await startWorker(app);
  const r = await group([1, 2, 3].map((x) => maybe.s(x))).delay();
  await t.rejects(r.get({ timeout: 5_000 }), { code: 'ERR_TASK_FAILED', details: { remoteMessage: 'bad 2' } });
  await Promise.all(r.results.map((x) => x.get({ timeout: 5_000, propagate: false })));
  t.equal(await r.failed(), true);
  t.equal(await r.successful(), false);
  t.equal(await r.ready(), true, 'a failure is final');
  t.equal(await r.completedCount(), 2, 'completed means successful (Celery)');
  t.equal(await r.doneCount(), 3);
  t.same(await r.get({ timeout: 1_000, propagate: false }).then((v) => v.map((x) => typeof x)), ['number', 'object', 'number']);
});
