// Call options end to end: countdown and eta held by the broker, expires turning a late task into
// REVOKED, explicit queue / routing key / exchange, priority, headers, ignoreResult, taskId; an eta
// sent without the broker's delay (as Celery sends it) handed back to the broker by the worker.
import t from 'tap';
import type { TaskContext } from '../../client/index.js';
import { prepareTask } from '../../client/tasks/producer.js';
import { until } from '../helpers/wait.js';
import { taskEnv } from './task-helpers.js';

t.test('countdown and eta: the broker holds the message until then', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const stamp = app.task('tasks.stamp', () => Date.now());
  await startWorker(app);
  const sent = Date.now();
  const a = await stamp.applyAsync([], { countdown: 300 });
  const b = await stamp.applyAsync([], { eta: new Date(Date.now() + 300) });
  const conn = await app.connection();
  t.equal((await conn.checkQueue('default')).messageCount, 0, 'not ready in the queue yet');
  t.ok((await a.get({ timeout: 5_000 })) >= sent + 290, 'countdown: not run before it');
  t.ok((await b.get({ timeout: 5_000 })) >= sent + 290, 'eta: not run before it');
});

t.test('expires: a task not started in time is REVOKED, not run', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  let ran = 0;
  const late = app.task('tasks.late', () => ++ran);
  // Held by the broker past its expiry: countdown 200, expires 50.
  const r = await late.applyAsync([], { countdown: 200, expires: 50 });
  await startWorker(app);
  await t.rejects(r.get({ timeout: 5_000 }), { code: 'ERR_TASK_REVOKED' });
  t.equal(await r.state, 'REVOKED');
  t.equal(ran, 0);
  const ok = await late.applyAsync([], { expires: new Date(Date.now() + 60_000) });
  t.equal(await ok.get({ timeout: 5_000 }), 1, 'an expiry in the future does not stop it');
});

t.test('explicit queue, routing key and exchange; priority and headers reach the task', async (t) => {
  const { app, startWorker } = await taskEnv(t, {
    taskQueues: [{ name: 'default', routingKey: 'task.#' }, { name: 'web_tasks', routingKey: 'web.#', maxPriority: 10 }],
  });
  const info = app.task('tasks.info', function (this: TaskContext) {
    return { key: this.request.deliveryInfo.routingKey, priority: this.request.deliveryInfo.priority, who: this.request.headers['x-who'] ?? null };
  });
  await startWorker(app, { queues: ['web_tasks', 'default'] });
  t.same(await (await info.applyAsync([], { queue: 'web_tasks' })).get({ timeout: 5_000 }), { key: 'web.#', priority: null, who: null });
  t.same(await (await info.applyAsync([], { routingKey: 'web.info', exchange: 'tasks', priority: 7, headers: { 'x-who': 'me' } })).get({ timeout: 5_000 }), { key: 'web.info', priority: 7, who: 'me' });
  t.same(await (await info.delay()).get({ timeout: 5_000 }), { key: 'task.default', priority: null, who: null });
});

t.test('taskId and ignoreResult: a chosen id; an ignored result is never stored', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  let runs = 0;
  const quiet = app.task('tasks.quiet', () => ++runs, { ignoreResult: true });
  const add = app.task('tasks.add2', (a: number, b: number) => a + b);
  await startWorker(app);
  const mine = await add.applyAsync([1, 1], { taskId: 'my-own-id-1' });
  t.equal(mine.id, 'my-own-id-1');
  t.equal(await mine.get({ timeout: 5_000 }), 2);
  const q = await quiet.delay();
  await until(() => runs > 0, 10_000, 'the ignored task to run');
  t.equal(runs, 1, 'it ran');
  t.equal(await q.state, 'UNKNOWN', 'nothing stored for it');
  const rq = await add.applyAsync([2, 2], { ignoreResult: true });
  t.equal(await rq.state, 'UNKNOWN', 'per call too');
});

t.test('early acks (default): the message is acked when the task starts', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => { release = r; });
  const hold = app.task('tasks.hold', () => gate.then(() => 'released'));
  const lateHold = app.task('tasks.hold-late', () => gate.then(() => 'released'), { acksLate: true });
  const w = await startWorker(app, { concurrency: 2 });
  const r1 = await hold.delay();
  const r2 = await lateHold.delay();
  await until(() => w.activeJobs().length === 2, 10_000, 'both tasks to start');
  const acked = Object.fromEntries(w.activeJobs().map((j) => [j['name'], j['acknowledged']]));
  t.same(acked, { 'tasks.hold': true, 'tasks.hold-late': false });
  release();
  t.equal(await r1.get({ timeout: 5_000 }), 'released');
  t.equal(await r2.get({ timeout: 5_000 }), 'released');
});

t.test("an eta the broker was not asked to hold (a Celery producer writes only the header): the worker hands the task back until then", async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const runs: number[] = [];
  const stamp = app.task('tasks.stamp-foreign', () => runs.push(Date.now()));
  const lines: string[] = [];
  const w = await startWorker(app, { log: (level, message) => lines.push(`${level}: ${message}`) });
  const sent = Date.now();
  // The message celeriac would send, without the broker's delay: as Python's Celery sends an eta.
  const prepared = prepareTask(app.settings, stamp.name, [], {}, { eta: new Date(sent + 400) });
  const { delay, ...props } = prepared.publish.props!;
  t.ok(delay !== undefined && delay > 0, 'celeriac itself would have asked the broker to hold it');
  const conn = await app.connection();
  await conn.publish(prepared.publish.exchange, prepared.publish.routingKey, prepared.publish.body, props);
  await until(() => lines.some((l) => l.includes(prepared.id) && /handed back to the broker/.test(l)), 5_000, 'the hand-back');
  t.same(w.reservedJobs(), [], 'the worker holds nothing meanwhile');
  // Sent untracked, as Celery sends: the broker knows no PENDING record for it, so watch the run.
  await until(() => runs.length === 1, 5_000, 'the run');
  t.ok(runs[0]! >= sent + 400, `not run before its eta (ran ${runs[0]! - sent} ms after sending, eta 400 ms)`);
});
