// The behaviours both isolated pools share, run once per runner kind: basics (results and errors
// crossing the boundary, retries, soft limit, load errors) and runner lives (hard limit kills, lost
// runners replaced, recycling; terminate, shutdown). Split in three so each test file stays short.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createIsolatedPool } from '../../client/worker/pools/isolated-pool.js';
import type { RunnerKind } from '../../client/worker/pools/runner-handle.js';
import type { Pool, PoolOptions } from '../../client/worker/pool-types.js';
import { dropTapHooksForChildren } from '../helpers/plain-children.js';
import { sleep, until } from '../helpers/wait.js';
import { FIXTURES, job, TASKS_APP, valueOf, within } from './pool-helpers.js';

// Runners inherit this process's flags and environment, tap's hooks among them, which cost each
// runner seconds to start. The runners and the fixture apps are plain JS: leave the hooks out.
dropTapHooksForChildren();

interface Who { pid: number; threadId: number; rss: number; heapUsed: number }

const MB = 1024 * 1024;

/** The id info() reports for the runner that ran a `pid` task. */
const idOf = (kind: RunnerKind, w: Who): number => (kind === 'threads' ? w.threadId : w.pid);

async function startPool(t: Test, kind: RunnerKind, over: Partial<PoolOptions> = {}): Promise<Pool> {
  const p = createIsolatedPool(kind, { concurrency: 1, appModule: TASKS_APP, maxTasksPerChild: null, maxMemoryPerChild: null, ...over });
  t.teardown(() => p.close(true));
  await p.start();
  return p;
}

async function who(p: Pool): Promise<Who> {
  return valueOf(await within(p.run(job('pid')))) as Who;
}

/** Results, failures, retries, the soft limit and loading the app. */
export function basicsSuite(kind: RunnerKind): void {
  const pool = (t: Test, over?: Partial<PoolOptions>): Promise<Pool> => startPool(t, kind, over);

  t.test(`${kind}: results cross the boundary; info lists the runners`, async (t) => {
    const p = await pool(t, { concurrency: 2 });
    t.equal(valueOf(await within(p.run(job('add', [2, 3])))), 5);
    const j = job('bound', ['x']);
    t.equal(valueOf(await within(p.run(j))), `${j.request.id}:x`);
    t.same(valueOf(await within(p.run(job('types')))), { when: new Date(0), bytes: new Uint8Array([1, 2, 3]), big: 10n });
    const w = await who(p);
    if (kind === 'threads') {
      t.equal(w.pid, process.pid, 'threads run in this process');
      t.not(w.threadId, 0);
    } else {
      t.not(w.pid, process.pid, 'processes are children');
    }
    const info = p.info();
    t.equal(info.pool, kind);
    t.equal(info.concurrency, 2);
    t.equal(info.runners.length, 2);
    t.ok(info.runners.includes(idOf(kind, w)));
    t.equal(info.replaced, 0);
  });

  t.test(`${kind}: failures keep the class name and stack; unknown tasks and uncloneable results fail clearly`, async (t) => {
    const p = await pool(t);
    const o = await within(p.run(job('fail', ['bad input'])));
    if (o.status !== 'failure') throw new Error(`expected failure, got ${o.status}`);
    t.equal(o.error.name, 'ValidationError');
    t.equal(o.error.message, 'bad input');
    t.match(o.error.stack, /failingTask/);
    t.match(o.error.stack, /tasks\.mjs/);
    t.match(await within(p.run(job('no.such.task'))), { status: 'failure', error: { code: 'ERR_UNKNOWN_TASK' } });
    t.match(await within(p.run(job('uncloneable'))), { status: 'failure', error: { message: /cannot be sent to the worker/ } });
    t.equal(p.info().replaced, 0, 'none of these costs a runner');
  });

  t.test(`${kind}: ctx.retry() and autoretryFor become retry outcomes`, async (t) => {
    const p = await pool(t);
    t.match(await within(p.run(job('retrying'))), { status: 'retry', countdown: 5, autoretry: false, error: null });
    t.match(await within(p.run(job('autoretry', [], { retries: 3 }))), {
      status: 'retry', countdown: 8_000, autoretry: true, maxRetries: 5, error: { name: 'TypeError', message: 'flaky' },
    });
  });

  t.test(`${kind}: the soft time limit fires the task's signal`, async (t) => {
    const p = await pool(t);
    t.equal(valueOf(await within(p.run(job('soft-aware', [], { softTimeLimit: 50 })))), 'soft');
    t.match(await within(p.run(job('sleep', [5_000], { softTimeLimit: 50 }))), { status: 'failure', error: { name: 'SoftTimeLimitExceeded' } });
    t.equal(valueOf(await within(p.run(job('sleep', [10], { softTimeLimit: 5_000 })))), 'slept 10', 'a run within its limit is untouched');
    t.equal(p.info().replaced, 0);
  });

  t.test(`${kind}: load errors name the module`, async (t) => {
    const missing = join(FIXTURES, 'no-such-app.mjs');
    const p1 = createIsolatedPool(kind, { concurrency: 1, appModule: missing, maxTasksPerChild: null, maxMemoryPerChild: null });
    await t.rejects(p1.start(), { code: 'ERR_INVALID_ARGUMENT', message: /no such module: .*no-such-app\.mjs/ });

    const p2 = createIsolatedPool(kind, { concurrency: 2, appModule: join(FIXTURES, 'not-an-app.mjs'), maxTasksPerChild: null, maxMemoryPerChild: null });
    await t.rejects(p2.start(), { message: /not-an-app\.mjs has no default export or `app` export that is a Celeriac app/ });
    t.same(p2.info().runners, [], 'no runner is left behind');

    const p3 = createIsolatedPool(kind, { concurrency: 1, appModule: join(FIXTURES, 'throws-on-load.mjs'), maxTasksPerChild: null, maxMemoryPerChild: null });
    await t.rejects(p3.start(), { message: /cannot load app module .*throws-on-load\.mjs: Error: fixture refuses to load/ });

    const p4 = createIsolatedPool(kind, { concurrency: 1, maxTasksPerChild: null, maxMemoryPerChild: null });
    await t.rejects(p4.start(), { message: /needs appModule/ });
  });

  t.test(`${kind}: the app may be the export named \`app\`, given as a file URL`, async (t) => {
    const p = await pool(t, { appModule: pathToFileURL(join(FIXTURES, 'app-export.mjs')).href });
    t.equal(valueOf(await within(p.run(job('add', [20, 22])))), 42);
  });
}

/** Runners killed, lost, recycled, terminated and shut down. */
/** Runner lives set by limits: the hard time limit, a runner dying, maxTasksPerChild, maxMemoryPerChild. */
export function runnerLimitsSuite(kind: RunnerKind): void {
  const pool = (t: Test, over?: Partial<PoolOptions>): Promise<Pool> => startPool(t, kind, over);

  t.test(`${kind}: the hard time limit kills the runner; the next job runs on a fresh one`, async (t) => {
    const p = await pool(t);
    const before = await who(p);
    const o = await within(p.run(job('spin', [], { timeLimit: 300 })));
    t.match(o, { status: 'timeout', error: { code: 'ERR_TIME_LIMIT', message: /hard time limit of 300 ms/ } });
    const after = await who(p);
    t.not(idOf(kind, after), idOf(kind, before), 'a different runner');
    t.equal(p.info().replaced, 1);
    t.same(p.info().runners, [idOf(kind, after)]);
  });

  t.test(`${kind}: a runner that dies mid-task is lost and replaced`, async (t) => {
    const p = await pool(t);
    const first = await who(p);
    t.match(await within(p.run(job('crash', ['exit']))), { status: 'lost', error: { code: 'ERR_WORKER_LOST', message: /exited with code 3/ } });
    const second = await who(p);
    t.not(idOf(kind, second), idOf(kind, first));
    t.match(await within(p.run(job('crash', ['throw']))), { status: 'lost', error: { code: 'ERR_WORKER_LOST' } });
    const third = await who(p);
    t.not(idOf(kind, third), idOf(kind, second));
    t.equal(p.info().replaced, 2);
  });

  t.test(`${kind}: maxTasksPerChild replaces a runner after that many tasks`, async (t) => {
    const p = await pool(t, { maxTasksPerChild: 2 });
    const a = await who(p);
    const b = await who(p);
    const c = await who(p);
    t.equal(idOf(kind, b), idOf(kind, a), 'the first two tasks share a runner');
    t.not(idOf(kind, c), idOf(kind, a), 'the third runs on its replacement');
    t.equal(p.info().replaced, 1);
  });

  t.test(`${kind}: maxMemoryPerChild replaces a runner left above it`, async (t) => {
    // A fresh runner's figure depends on the loaders it inherits (tap's, here): measure it first.
    const probe = await pool(t);
    const fresh = await who(probe);
    await probe.close(false);
    const limit = (kind === 'threads' ? fresh.heapUsed : fresh.rss) + 100 * MB;
    const p = await pool(t, { maxMemoryPerChild: limit });
    const a = await who(p);
    t.equal(idOf(kind, await who(p)), idOf(kind, a), 'small tasks keep their runner');
    t.equal(valueOf(await within(p.run(job('grow', [200])))), 200);
    const b = await who(p);
    t.not(idOf(kind, b), idOf(kind, a), 'the runner that grew was replaced');
    t.equal(p.info().replaced, 1);
  });

}

/** Runner lives ended from outside: terminate, abortAll, close(false/true), a SIGKILLed runner. */
export function runnerStopsSuite(kind: RunnerKind): void {
  const pool = (t: Test, over?: Partial<PoolOptions>): Promise<Pool> => startPool(t, kind, over);

  t.test(`${kind}: terminate kills the runner running the task`, async (t) => {
    const p = await pool(t);
    const before = await who(p);
    const j = job('spin');
    const running = p.run(j);
    // Not a wait for an event: run() dispatches at once and a runner takes its messages in order, so
    // no outcome here hangs on this pause; it only lets the task get going (a *running* task is hit).
    await sleep(50);
    t.equal(p.terminate('not-running-here'), false);
    t.equal(p.terminate(j.request.id), true);
    t.match(await within(running), { status: 'terminated', error: { code: 'ERR_TASK_REVOKED' } });
    t.not(idOf(kind, await who(p)), idOf(kind, before));
    t.equal(p.info().replaced, 1);
  });

  t.test(`${kind}: abortAll aborts every running task's signal`, async (t) => {
    const p = await pool(t, { concurrency: 2 });
    const a = p.run(job('soft-aware'));
    const b = p.run(job('soft-aware'));
    await sleep(100); // see the note on terminate above
    p.abortAll('cold shutdown');
    t.same([valueOf(await within(a)), valueOf(await within(b))], ['AbortError', 'AbortError']);
  });

  t.test(`${kind}: close(false) still runs a job queued behind a runner killed at its limit`, async (t) => {
    const p = await pool(t);
    const spinning = p.run(job('spin', [], { timeLimit: 300 }));
    const queued = p.run(job('add', [1, 2]));
    await sleep(20); // see the note on terminate above
    await within(p.close(false), 15_000, 'close(false)');
    t.match(await within(spinning), { status: 'timeout' });
    t.equal(valueOf(await within(queued)), 3, 'a replacement ran it');
    t.same(p.info().runners, []);
  });

  t.test(`${kind}: close(false) lets running tasks finish; close(true) kills them`, async (t) => {
    const p = await pool(t);
    const slow = p.run(job('sleep', [200]));
    await sleep(20); // see the note on terminate above
    await within(p.close(false), 10_000, 'close(false)');
    t.equal(valueOf(await within(slow)), 'slept 200');
    t.same(p.info().runners, []);
    t.match(await within(p.run(job('add', [1, 1]))), { status: 'lost' }, 'a closed pool takes no runs');

    const q = await pool(t);
    const { pid } = await who(q);
    const spinning = q.run(job('spin'));
    const queued = q.run(job('add', [1, 2]));
    await sleep(50); // see the note on terminate above
    await within(q.close(true), 10_000, 'close(true)');
    t.match(await within(spinning), { status: 'lost', error: { code: 'ERR_WORKER_LOST' } });
    t.match(await within(queued), { status: 'lost' });
    if (kind === 'processes') t.throws(() => process.kill(pid, 0), 'the runner process is gone');
  });

  if (kind === 'processes') {
    t.test('processes: a runner killed from outside (SIGKILL) is lost and replaced', async (t) => {
      const p = await pool(t);
      const { pid } = await who(p);
      const running = p.run(job('spin'));
      await sleep(50); // see the note on terminate above
      process.kill(pid, 'SIGKILL');
      t.match(await within(running), { status: 'lost', error: { code: 'ERR_WORKER_LOST', message: /SIGKILL/ } });
      await until(() => p.info().runners.length === 1 && p.info().runners[0] !== pid, 10_000, 'a replacement runner');
      t.not((await who(p)).pid, pid);
    });
  }
}
