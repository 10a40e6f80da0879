// Time limits through a real worker: the soft limit fires the task's AbortSignal; the hard limit
// fails the task with ERR_TIME_LIMIT — in isolated pools by killing its runner, which is replaced.
import t from 'tap';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TaskContext } from '../../client/index.js';
import { dropTapHooksForChildren } from '../helpers/plain-children.js';
import { taskEnv } from './task-helpers.js';

const APP_MODULE = fileURLToPath(new URL('../fixtures/task-apps/limits-app.mjs', import.meta.url));
// Runners load the plain-JS app: keep tap's hooks out of them (they only slow their start).
dropTapHooksForChildren();

t.test('async pool: the soft limit aborts the signal; the hard limit fails the task', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const soft = app.task('tasks.soft', function (this: TaskContext) {
    return new Promise<string>((resolve) => {
      this.signal.addEventListener('abort', () => resolve(`aborted: ${(this.signal.reason as Error).name}`));
    });
  }, { softTimeLimit: 50 });
  const hard = app.task('tasks.hard', () => new Promise<number>(() => undefined), { timeLimit: 80 });
  await startWorker(app);
  t.equal(await (await soft.delay()).get({ timeout: 5_000 }), 'aborted: SoftTimeLimitExceeded');
  await t.rejects((await hard.delay()).get({ timeout: 5_000 }), { code: 'ERR_TIME_LIMIT' });
  // A per-call limit overrides the task's.
  await t.rejects((await soft.applyAsync([], { timeLimit: 30, softTimeLimit: null })).get({ timeout: 5_000 }), { code: 'ERR_TIME_LIMIT' });
});

for (const pool of ['threads', 'processes'] as const) {
  t.test(`${pool} pool: a task past its hard limit is killed with its runner; the next runs on a fresh one`, async (t) => {
    const env = await taskEnv(t);
    process.env['CELERIAC_BROKER'] = env.broker.url;
    // A fresh instance of the module per test (the URL's query makes it a new module for the loader).
    const mod = (await import(`${pathToFileURL(APP_MODULE).href}?${pool}`)) as { app: import('../../client/index.js').Celeriac };
    const app = mod.app;
    t.teardown(() => app.close());
    const worker = app.worker({ pool, appModule: APP_MODULE, concurrency: 1, log: () => undefined });
    t.teardown(() => worker.close({ force: true }));
    await worker.start();
    const before = worker.pool.info().runners;
    const spin = await app.sendTask('limits.spin', [], { timeLimit: 200 });
    await t.rejects(spin.get({ timeout: 10_000 }), { code: 'ERR_TIME_LIMIT' });
    t.equal(await (await app.sendTask('limits.add', [1, 2])).get({ timeout: 10_000 }), 3, 'the pool goes on');
    t.notSame(worker.pool.info().runners, before, 'the runner was replaced');
    t.ok(worker.pool.info().replaced >= 1);
    t.equal(await (await app.sendTask('limits.soft', [5_000], { softTimeLimit: 100 })).get({ timeout: 10_000 }), 'soft', 'the soft limit reaches the runner');
  });
}
