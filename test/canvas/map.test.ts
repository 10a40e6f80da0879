// task.map / task.starmap (and xmap / xstarmap): one task message; the built-in celery.map /
// celery.starmap calls the task for each item in the worker and returns the list.
import t from 'tap';
import { chain, xmap, xstarmap, BUILTIN_TASKS } from '../../client/index.js';
import { taskEnv } from '../tasks/task-helpers.js';

t.test('map and starmap run in one task and return the list of results', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const double = app.task('tasks.double', (x: number) => x * 2);
  const add = app.task('tasks.add', function (this: import('../../client/index.js').TaskContext, a: number, b: number) {
    return `${this.name}:${a + b}`;
  });
  const runs: string[] = [];
  const w = await startWorker(app);
  w.on('task-started', (e) => runs.push(String(e.name)));
  t.ok(app.taskNames().includes(BUILTIN_TASKS.map) && app.taskNames().includes(BUILTIN_TASKS.starmap), 'built-ins registered on every app');
  const m = await double.map([1, 2, 3]).delay();
  const v: number[] = await m.get({ timeout: 5_000 });
  t.same(v, [2, 4, 6]);
  const s = await add.starmap([[1, 2], [3, 4]]).delay();
  t.same(await s.get({ timeout: 5_000 }), ['tasks.add:3', 'tasks.add:7'], 'each call sees the context under its own name');
  t.same(runs, ['celery.map', 'celery.starmap'], 'one task each, not one per item');
  t.same(await (await xmap(double, [5]).delay()).get({ timeout: 5_000 }), [10]);
  t.same(await (await xstarmap(add, [[0, 0]]).delay()).get({ timeout: 5_000 }), ['tasks.add:0']);
  t.same(await (await double.map([]).delay()).get({ timeout: 5_000 }), []);
  // A map is a signature like any other: a chain step, with the list going on.
  const sum = app.task('tasks.sum', (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  t.equal(await (await chain(double.map([1, 2, 3]), sum.s()).delay()).get({ timeout: 5_000 }), 12);
});

t.test('map goes to the task\'s queue; an error in an item fails the map; an unknown task is clear', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const q = `q-map-${process.pid}-${Date.now()}`;
  const inv = app.task('tasks.inv', (x: number) => {
    if (x === 0) throw new RangeError('zero');
    return 1 / x;
  }, { queue: q });
  await startWorker(app, { queues: [q] });
  t.same(await (await inv.map([1, 2]).delay()).get({ timeout: 5_000 }), [1, 0.5], 'routed like the task');
  await t.rejects((await inv.map([1, 0]).delay()).get({ timeout: 5_000 }), { code: 'ERR_TASK_FAILED', details: { remoteName: 'RangeError' } });
  await t.rejects((await app.sendTask('celery.map', ['tasks.nobody', [1]], { queue: q })).get({ timeout: 5_000 }), { code: 'ERR_UNKNOWN_TASK', details: { remoteMessage: /no task named 'tasks.nobody'/ } });
});
