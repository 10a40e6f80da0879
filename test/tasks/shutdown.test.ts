// Worker shutdown and failure acks as Celery defines them: a cold shutdown leaves late-acked tasks
// for redelivery; concurrent closes share one shutdown; acksOnFailureOrTimeout false records the
// failure and rejects the message instead of acking it.
import t from 'tap';
import { until } from '../helpers/wait.js';
import { taskEnv } from './task-helpers.js';

t.test('a cold shutdown leaves a late-acked running task for another worker', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  let runs = 0;
  const slow = app.task('tasks.slow-late', () => new Promise((r) => setTimeout(() => r(++runs), 300)), { acksLate: true });
  const w = await startWorker(app, { concurrency: 1 });
  const r = await slow.delay();
  await until(() => w.activeJobs().length === 1, 5_000, 'the task to start');
  const warm = w.close();
  const cold = w.close({ force: true });
  await Promise.all([warm, cold]);
  t.equal(w.running, false);
  t.equal(await r.state, 'PENDING', 'not FAILURE: it was cut short, not failed');
  const other = newApp();
  other.task('tasks.slow-late', () => 'second worker', { acksLate: true });
  await startWorker(other);
  t.equal(await r.get({ timeout: 5_000 }), 'second worker', 'redelivered and run to completion elsewhere');
});

t.test('two warm closes at once both resolve, after the running task finished', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const slow = app.task('tasks.slow', () => new Promise((r) => setTimeout(() => r('done'), 200)));
  const w = await startWorker(app, { concurrency: 1 });
  let offline = 0;
  w.on('worker-offline', () => offline++);
  const r = await slow.delay();
  await until(() => w.activeJobs().length === 1, 5_000, 'the task to start');
  await Promise.all([w.close(), w.close()]);
  t.equal(offline, 1, 'one shutdown');
  t.equal(await r.get({ timeout: 5_000 }), 'done');
});

t.test('acksOnFailureOrTimeout false: the failure is recorded and the message rejected, not requeued', async (t) => {
  const { app, startWorker } = await taskEnv(t, { taskAcksOnFailureOrTimeout: false, taskAcksLate: true });
  let runs = 0;
  const boom = app.task('tasks.fails', () => {
    runs++;
    throw new Error('nope');
  });
  const w = await startWorker(app);
  const r = await boom.delay();
  await t.rejects(r.get({ timeout: 5_000 }), { code: 'ERR_TASK_FAILED' });
  await until(() => w.activeJobs().length === 0 && w.reservedJobs().length === 0, 5_000);
  await new Promise((res) => setTimeout(res, 100));
  t.equal(runs, 1, 'not requeued to run again');
  const conn = await app.connection();
  t.equal((await conn.checkQueue('default')).messageCount, 0, 'rejected: gone from the queue (to its dead-letter exchange, when it has one)');
});

t.test('a failed first connection is not remembered: the next call connects', async (t) => {
  const { broker } = await taskEnv(t);
  const { Celeriac } = await import('../../client/index.js');
  const app = new Celeriac({ broker: 'ws://127.0.0.1:1' });
  t.teardown(() => app.close());
  await t.rejects(app.connection(), { code: 'ERR_CONNECTION_CLOSED' });
  app.useBroker(broker.url);
  const conn = await app.connection();
  t.equal(conn.connected, true);
});
