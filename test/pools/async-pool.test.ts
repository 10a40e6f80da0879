// The async pool: tasks run in this process through runTask; the signal carries the soft limit,
// the hard limit and terminate resolve the run at once (in-process code cannot be killed).
import t, { type Test } from 'tap';
import { createAsyncPool } from '../../client/worker/pools/async-pool.js';
import { loadApp } from '../../client/worker/pools/load-app.js';
import type { Pool } from '../../client/worker/pool-types.js';
import { job, TASKS_APP, valueOf, within } from './pool-helpers.js';
import { sleep } from '../helpers/wait.js';

async function pool(t: Test): Promise<Pool> {
  const p = createAsyncPool(await loadApp(TASKS_APP), { concurrency: 4, maxTasksPerChild: null, maxMemoryPerChild: null });
  await p.start();
  t.teardown(() => p.close(true));
  return p;
}

t.test('success, bound tasks and info', async (t) => {
  const p = await pool(t);
  t.equal(valueOf(await within(p.run(job('add', [2, 3])))), 5);
  const j = job('bound', ['x']);
  t.equal(valueOf(await within(p.run(j))), `${j.request.id}:x`);
  t.same(p.info(), { pool: 'async', concurrency: 4, runners: [process.pid], replaced: 0 });
});

t.test('a failure keeps the error class name and stack', async (t) => {
  const p = await pool(t);
  const o = await within(p.run(job('fail', ['bad input'])));
  if (o.status !== 'failure') throw t.fail(`expected failure, got ${o.status}`);
  t.equal(o.error.name, 'ValidationError');
  t.equal(o.error.message, 'bad input');
  t.match(o.error.stack, /failingTask/);
  t.match(o.error.stack, /tasks\.mjs/);
});

t.test('ctx.retry() and autoretryFor become retry outcomes', async (t) => {
  const p = await pool(t);
  const r = await within(p.run(job('retrying')));
  t.match(r, { status: 'retry', countdown: 5, autoretry: false, error: null, maxRetries: 3 });
  const a = await within(p.run(job('autoretry', [], { retries: 2 })));
  if (a.status !== 'retry') throw t.fail(`expected retry, got ${a.status}`);
  t.equal(a.autoretry, true);
  t.equal(a.countdown, 4_000, 'backoff 1 s × 2^2, no jitter');
  t.equal(a.maxRetries, 5);
  t.equal(a.error?.name, 'TypeError');
});

t.test('an unknown task name is a failure with ERR_UNKNOWN_TASK', async (t) => {
  const p = await pool(t);
  const o = await within(p.run(job('no.such.task')));
  t.match(o, { status: 'failure', error: { code: 'ERR_UNKNOWN_TASK' } });
});

t.test('the soft time limit fires the signal with SoftTimeLimitExceeded', async (t) => {
  const p = await pool(t);
  t.equal(valueOf(await within(p.run(job('soft-aware', [], { softTimeLimit: 50 })))), 'soft');
  const o = await within(p.run(job('sleep', [5_000], { softTimeLimit: 50 })));
  t.match(o, { status: 'failure', error: { name: 'SoftTimeLimitExceeded' } });
});

t.test('after a stalled loop, a hard limit due with a later soft one still ends the run as a timeout', async (t) => {
  const p = await pool(t);
  // An older 100 ms timer (as the broker's 100 ms sweeper in the same process) puts Node's 100 ms
  // timer list ahead of the 50 ms one; a stall past both limits then runs the soft timer first.
  const older = setInterval(() => undefined, 100);
  t.teardown(() => clearInterval(older));
  await sleep(70);
  const run = p.run(job('soft-aware', [], { timeLimit: 50, softTimeLimit: 100 }));
  const end = performance.now() + 150;
  while (performance.now() < end); // the stall, right after the run armed its limits
  t.match(await within(run), { status: 'timeout', error: { code: 'ERR_TIME_LIMIT' } });
  // A soft limit before the hard one, both passed during the stall: the hard limit still wins.
  const both = p.run(job('soft-aware', [], { timeLimit: 50, softTimeLimit: 40 }));
  const end2 = performance.now() + 150;
  while (performance.now() < end2);
  t.match(await within(both), { status: 'timeout', error: { code: 'ERR_TIME_LIMIT' } });
});

t.test('a signal first read after the soft limit fired is already aborted with its reason', async (t) => {
  const p = await pool(t);
  t.equal(valueOf(await within(p.run(job('late-signal', [300], { softTimeLimit: 20 })))), 'SoftTimeLimitExceeded');
  t.equal(valueOf(await within(p.run(job('late-signal', [10])))), 'not aborted');
});

t.test('the hard time limit resolves a timeout at once, even if the task ignores its signal', async (t) => {
  const p = await pool(t);
  const o = await within(p.run(job('hang', [3_000], { timeLimit: 100 })));
  t.match(o, { status: 'timeout', error: { code: 'ERR_TIME_LIMIT' } });
  t.equal(valueOf(await within(p.run(job('add', [1, 1])))), 2, 'the pool goes on');
});

t.test('terminate aborts the signal and resolves terminated; unknown ids answer false', async (t) => {
  const p = await pool(t);
  const j = job('sleep', [5_000]);
  const running = p.run(j);
  await sleep(20); // not a wait for an event: run() starts the task at once; this lets it get going
  t.equal(p.terminate('not-running'), false);
  t.equal(p.terminate(j.request.id, 'SIGKILL'), true);
  t.match(await within(running), { status: 'terminated', error: { code: 'ERR_TASK_REVOKED' } });
});

t.test('abortAll aborts every running signal; close(false) waits, close(true) resolves lost', async (t) => {
  const p = await pool(t);
  const a = p.run(job('soft-aware'));
  const b = p.run(job('soft-aware'));
  await sleep(20); // not a wait for an event: run() starts both at once; this lets them get going
  p.abortAll('cold shutdown');
  t.same([valueOf(await within(a)), valueOf(await within(b))], ['AbortError', 'AbortError']);

  const slow = p.run(job('sleep', [100]));
  await p.close(false);
  t.equal(valueOf(await within(slow)), 'slept 100', 'close(false) let the run finish');
  t.match(await within(p.run(job('add', [1, 2]))), { status: 'lost' }, 'a closed pool takes no runs');

  const q = await pool(t);
  const hung = q.run(job('hang', [3_000]));
  await q.close(true);
  t.match(await within(hung), { status: 'lost', error: { code: 'ERR_WORKER_LOST' } });
});
