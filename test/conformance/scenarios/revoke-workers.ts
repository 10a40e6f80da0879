// Conformance, revokes and lost workers: a task revoked before it starts never runs (even on a
// worker started later); revoke with terminate stops a running one; a worker process killed with
// SIGKILL mid-task (late acks) loses nothing: another worker process runs it. In every home.
import type { TaskContext } from '../../../client/index.js';
import { until } from '../../helpers/wait.js';
import { GET, rejection, scenarioEnv, spawnWorkerProcess, unique } from '../conformance-helpers.js';
import type { Scenario } from '../homes.js';

/** The scenarios, in the order they run. */
export const scenarios: Readonly<Record<string, Scenario>> = {
  'revoke before start: REVOKED at once, never run, by a worker started afterwards': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('revoke');
    const ran: number[] = [];
    const job = app.task(`${q}.job`, (n: number) => { ran.push(n); return n; }, { queue: q });
    const r = await job.delay(1);
    const keep = await job.delay(2);
    await app.control.revoke(r.id);
    t.equal(await r.state, 'REVOKED', 'REVOKED at once');
    t.equal(await r.ready(), true, 'REVOKED is final');
    // One at a time, one message in hand: the revoked message, ahead of `keep` in the queue, is
    // settled (dropped by the broker, or discarded by the worker) before `keep` can start.
    // (Whether the worker sees it at all differs: docs/conformance.md, "revoked before start".)
    const started: string[] = [];
    await env.worker(app, { queues: [q], concurrency: 1, prefetchMultiplier: 1 }, (w) => w.on('task-started', (e) => started.push(e.uuid)));
    t.equal(await keep.get(GET), 2, 'the other one runs');
    t.equal((await rejection(r.get(GET))).code, 'ERR_TASK_REVOKED');
    t.same(ran, [2], 'the revoked one never ran');
    t.same(started, [keep.id], 'nor was it reported started');
  },

  'revoke with terminate: the worker running the task stops it': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('terminate');
    const forever = app.task(`${q}.until-aborted`, function (this: TaskContext) {
      return new Promise((resolve) => this.signal.addEventListener('abort', () => resolve('aborted')));
    }, { queue: q });
    const add = app.task(`${q}.add`, (a: number, b: number) => a + b, { queue: q });
    const w = await env.worker(app, { queues: [q] });
    const started = new Set<string>();
    w.on('task-started', (e) => started.add(e.uuid));
    const r = await forever.delay();
    await until(() => started.has(r.id), 10_000, 'the task to start');
    await app.control.revoke(r.id, { terminate: true });
    t.equal((await rejection(r.get(GET))).code, 'ERR_TASK_REVOKED');
    t.equal(await r.state, 'REVOKED');
    await until(() => w.activeJobs().length === 0, 10_000, 'the worker to let go of it');
    t.equal(await (await add.delay(1, 2)).get(GET), 3, 'the worker goes on');
  },

  'worker SIGKILL with late acks: the task is redelivered and completed by another worker process': async (t, home) => {
    const env = scenarioEnv(t, home);
    const producer = env.app();
    const q = unique('kill9');
    // The second worker process loads while the first runs, and consumes only once the first is dead.
    const [first, second] = await Promise.all([spawnWorkerProcess(t, home, q), spawnWorkerProcess(t, home, q, { held: true })]);
    // The worker's task, by name: this process has not its code. Its first run sleeps 60 s.
    const r = await producer.sendTask<{ tag: string; pid: number; redelivered: boolean }>(`${q}.slow`, [60_000, 'survivor'], { queue: q });
    await until(() => first.lines.includes(`started ${r.id}`), 15_000, 'the first worker to start the task');
    first.child.kill('SIGKILL');
    await first.exited;
    t.equal(await r.state, 'PENDING', 'not failed, not lost: still to do');
    await second.start();
    t.same(await r.get(GET), { tag: 'survivor', pid: second.pid, redelivered: true }, 'completed by the second worker, flagged as redelivered');
    // Its stdout is another channel than the result's: the line may come after the result.
    await until(() => second.lines.includes(`started ${r.id}`), 10_000, 'the second worker to report the start');
    t.pass('the second worker reported the start');
  },
};
