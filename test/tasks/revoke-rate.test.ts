// Revoke and rate limits as a task user meets them: a revoked task never runs (even on a worker
// started later), terminate stops a running one, and a rate limit holds across workers together.
import t from 'tap';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Celeriac, TaskContext } from '../../client/index.js';
import { until } from '../helpers/wait.js';
import { dropTapHooksForChildren } from '../helpers/plain-children.js';
import { taskEnv } from './task-helpers.js';

const APP_MODULE = fileURLToPath(new URL('../fixtures/task-apps/limits-app.mjs', import.meta.url));
// Runners load the plain-JS app: keep tap's hooks out of them (they only slow their start).
dropTapHooksForChildren();

t.test('a task revoked before any worker runs it is REVOKED and never runs', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  let ran = 0;
  const job = app.task('tasks.revocable', () => ++ran);
  const r = await job.delay();
  const keep = await job.delay();
  await (await app.connection()).revoke(r.id);
  t.equal(await r.state, 'REVOKED', 'REVOKED at once');
  await startWorker(app);
  t.equal(await keep.get({ timeout: 5_000 }), 1, 'the other one runs');
  await t.rejects(r.get({ timeout: 1_000 }), { code: 'ERR_TASK_REVOKED' });
  t.equal(ran, 1, 'the revoked one never ran');
});

t.test('revoke with terminate: the broker pushes it to the worker running the task', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const forever = app.task('tasks.until-aborted', function (this: TaskContext) {
    return new Promise((resolve) => this.signal.addEventListener('abort', () => resolve('aborted')));
  });
  const w = await startWorker(app);
  const r = await forever.delay();
  await until(() => w.activeJobs().length === 1, 5_000, 'the task to start');
  await (await app.connection()).revoke(r.id, { terminate: true });
  await t.rejects(r.get({ timeout: 5_000 }), { code: 'ERR_TASK_REVOKED' });
  await until(() => w.activeJobs().length === 0, 5_000, 'the worker to let go of it');
});

t.test('revoke with terminate in a processes pool kills the runner', async (t) => {
  const env = await taskEnv(t);
  process.env['CELERIAC_BROKER'] = env.broker.url;
  const { app } = (await import(`${pathToFileURL(APP_MODULE).href}?revoke`)) as { app: Celeriac };
  t.teardown(() => app.close());
  const w = app.worker({ pool: 'processes', appModule: APP_MODULE, concurrency: 1, log: () => undefined });
  t.teardown(() => w.close({ force: true }));
  await w.start();
  const before = w.pool.info().runners;
  const r = await app.sendTask('limits.spin', []);
  await until(() => w.activeJobs().length === 1, 10_000, 'the task to start');
  await (await app.connection()).revoke(r.id, { terminate: true, signal: 'SIGKILL' });
  await t.rejects(r.get({ timeout: 10_000 }), { code: 'ERR_TASK_REVOKED' });
  t.equal(await (await app.sendTask('limits.add', [2, 2])).get({ timeout: 10_000 }), 4);
  t.notSame(w.pool.info().runners, before, 'a fresh runner');
});

t.test('a rate limit holds across all workers together (the broker hands out the slots)', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  const starts: number[] = [];
  const register = (a: Celeriac): void => {
    a.task('tasks.limited', () => starts.push(Date.now()), { rateLimit: '20/s' });
  };
  register(app);
  const other = newApp();
  register(other);
  // Prefetch 4 each: neither worker can take all 12, so both run some and share the one bucket.
  const w1 = await startWorker(app, { concurrency: 4, prefetchMultiplier: 1 });
  const w2 = await startWorker(other, { concurrency: 4, prefetchMultiplier: 1 });
  const results = await Promise.all(Array.from({ length: 12 }, () => app.sendTask('tasks.limited', [])));
  await Promise.all(results.map((r) => r.get({ timeout: 10_000 })));
  starts.sort((a, b) => a - b);
  // 20/s = one slot per 50 ms for both workers together. A start happens at its slot or later
  // (timers and replies only delay), so a 200 ms window holds at most the 4-5 slots inside it plus
  // those delayed into it: allowing 100 ms of delay, at most 7. Without a shared limit all 12
  // would start together.
  const most = Math.max(...starts.map((s) => starts.filter((x) => x >= s && x < s + 200).length));
  t.ok(most <= 7, `at most 7 starts in any 200 ms (got ${most}; offsets ${starts.map((s) => s - starts[0]!).join(', ')} ms)`);
  t.ok(starts[11]! - starts[0]! >= 11 * 50 - 100, 'the 12 starts span about 11 slots');
  t.equal(starts.length, 12);
  t.ok((w1.totals.get('tasks.limited') ?? 0) > 0 && (w2.totals.get('tasks.limited') ?? 0) > 0, 'both workers ran some');
});
