// A runner dying under a task: with late acks and rejectOnWorkerLost the task goes back to the
// queue and runs again; otherwise it fails with ERR_WORKER_LOST. And trackStarted's STARTED state.
import t from 'tap';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Celeriac } from '../../client/index.js';
import { until, untilAsync } from '../helpers/wait.js';
import { dropTapHooksForChildren } from '../helpers/plain-children.js';
import { taskEnv } from './task-helpers.js';

const APP_MODULE = fileURLToPath(new URL('../fixtures/task-apps/limits-app.mjs', import.meta.url));
// Runners load the plain-JS app: keep tap's hooks out of them (they only slow their start).
dropTapHooksForChildren();

t.test('processes pool: a dead runner requeues a rejectOnWorkerLost task, fails the others', async (t) => {
  const env = await taskEnv(t);
  process.env['CELERIAC_BROKER'] = env.broker.url;
  const { app } = (await import(`${pathToFileURL(APP_MODULE).href}?worker-lost`)) as { app: Celeriac };
  t.teardown(() => app.close());
  const w = app.worker({ pool: 'processes', appModule: APP_MODULE, concurrency: 1, log: () => undefined });
  t.teardown(() => w.close({ force: true }));
  await w.start();
  t.equal(await (await app.sendTask('limits.crash-once', ['x'])).get({ timeout: 15_000 }), 'ran again: x', 'requeued and run again');
  await t.rejects((await app.sendTask('limits.crash', [])).get({ timeout: 15_000 }), { code: 'ERR_WORKER_LOST' });
  t.equal(await (await app.sendTask('limits.add', [1, 1])).get({ timeout: 15_000 }), 2, 'the pool goes on');
});

t.test('trackStarted: STARTED is stored while the task runs', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => { release = r; });
  const tracked = app.task('tasks.tracked', () => gate.then(() => 'ok'), { trackStarted: true });
  const untracked = app.task('tasks.untracked', () => gate.then(() => 'ok'));
  const w = await startWorker(app);
  const a = await tracked.delay();
  const b = await untracked.delay();
  await until(() => w.activeJobs().length === 2, 5_000, 'both to start');
  await untilAsync(async () => (await a.state) === 'STARTED', 10_000, 'STARTED to be stored');
  t.match(await a.result, { pid: process.pid, hostname: w.hostname });
  t.equal(await b.state, 'PENDING', 'no STARTED without trackStarted');
  release();
  t.equal(await a.get({ timeout: 5_000 }), 'ok');
});
