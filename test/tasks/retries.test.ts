// Retries end to end: ctx.retry() with a countdown, autoretryFor with backoff, maxRetries giving
// up with the last error, and the RETRY state visible in between.
import t from 'tap';
import type { TaskContext } from '../../client/index.js';
import { taskEnv } from './task-helpers.js';

class Flaky extends Error {
  override name = 'Flaky';
}

t.test('ctx.retry() runs the task again with retries + 1 (the broker holds the countdown)', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const seen: number[] = [];
  const task = app.task('tasks.retry-twice', function (this: TaskContext, x: number) {
    seen.push(this.retries);
    if (this.retries < 2) this.retry({ countdown: 20, exc: new Flaky(`attempt ${this.retries}`) });
    return x * 10;
  });
  await startWorker(app);
  const r = await task.delay(4);
  t.equal(await r.get({ timeout: 5_000 }), 40);
  t.same(seen, [0, 1, 2], 'ran three times with growing retries');
});

t.test('autoretryFor retries matching errors with backoff; others fail at once', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  let calls = 0;
  const auto = app.task('tasks.auto', () => {
    calls++;
    if (calls < 3) throw new Flaky('not yet');
    return 'done';
  }, { autoretryFor: [Flaky], retryBackoff: 10, retryBackoffMax: 40, maxRetries: 5 });
  let other = 0;
  const notMatching = app.task('tasks.auto-other', () => {
    other++;
    throw new TypeError('wrong');
  }, { autoretryFor: ['Flaky'], retryBackoff: true });
  await startWorker(app);
  t.equal(await (await auto.delay()).get({ timeout: 5_000 }), 'done');
  t.equal(calls, 3);
  await t.rejects((await notMatching.delay()).get({ timeout: 5_000 }), { code: 'ERR_TASK_FAILED', details: { remoteName: 'TypeError' } });
  t.equal(other, 1, 'a TypeError is not retried');
});

t.test('maxRetries: after the last retry the task fails with its error', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  let calls = 0;
  const always = app.task('tasks.always-flaky', () => {
    calls++;
    throw new Flaky(`call ${calls}`);
  }, { autoretryFor: [Flaky], maxRetries: 2, defaultRetryDelay: 5 });
  const asks = app.task('tasks.asks', function (this: TaskContext) {
    this.retry({ countdown: 5 });
  }, { maxRetries: 1 });
  await startWorker(app);
  const r = await always.delay();
  await t.rejects(r.get({ timeout: 5_000 }), { code: 'ERR_TASK_FAILED', details: { remoteName: 'Flaky', remoteMessage: 'call 3' } });
  t.equal(calls, 3, 'the first run and two retries');
  await t.rejects((await asks.delay()).get({ timeout: 5_000 }), { code: 'ERR_TASK_FAILED', details: { remoteName: 'MaxRetriesExceededError' } });
});

t.test('the RETRY state is stored while a retry waits', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const waits = app.task('tasks.retry-later', function (this: TaskContext) {
    if (this.retries === 0) this.retry({ countdown: 60_000, exc: new Flaky('later') });
    return 1;
  });
  await startWorker(app);
  const r = await waits.delay();
  const end = Date.now() + 5_000;
  while ((await r.state) !== 'RETRY' && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
  t.equal(await r.state, 'RETRY');
  t.match(await r.result, { exc_type: 'Flaky', exc_message: ['later'] });
  t.equal(await r.ready(), false);
});
