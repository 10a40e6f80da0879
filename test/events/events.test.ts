// Events through a real broker: a worker's task events in order (received, started, succeeded),
// failures and retries, worker online/heartbeat/offline, the producer's task-sent, patterns and
// a subscription that closes cleanly.
import t, { type Test } from 'tap';
import type { AnyEvent, Celeriac, EventSubscription, TaskContext } from '../../client/index.js';
import { taskEnv } from '../tasks/task-helpers.js';
import { until } from '../helpers/wait.js';

/** Subscribes to everything (or `pattern`) and keeps what arrives; closed at teardown. */
async function collect(t: Test, app: Celeriac, pattern?: string): Promise<{ events: AnyEvent[]; sub: EventSubscription }> {
  const events: AnyEvent[] = [];
  const sub = await app.events.subscribe({ '*': (e) => events.push(e) }, pattern === undefined ? {} : { pattern });
  t.teardown(() => sub.close());
  return { events, sub };
}

const ofTask = (events: AnyEvent[], id: string): AnyEvent[] => events.filter((e) => 'uuid' in e && e.uuid === id);

t.test('one task: task-received, task-started, task-succeeded in order, typed, with Celery fields', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  const workerApp = newApp();
  workerApp.task('tasks.add', (a: number, b: number) => a + b);
  const { events } = await collect(t, app);
  const succeeded: number[] = [];
  const typed = await app.events.subscribe({ 'task-succeeded': (e) => { succeeded.push(e.result as number); } });
  t.teardown(() => typed.close());
  const w = await startWorker(workerApp, { sendEvents: true, hostname: 'ev@test' });
  const r = await app.sendTask('tasks.add', [2, 3]);
  t.equal(await r.get({ timeout: 5_000 }), 5);
  await until(() => ofTask(events, r.id).some((e) => e.type === 'task-succeeded'), 5_000, 'task-succeeded');
  const mine = ofTask(events, r.id);
  t.same(mine.map((e) => e.type), ['task-received', 'task-started', 'task-succeeded']);
  const [received, started, done] = mine;
  if (received?.type !== 'task-received' || started?.type !== 'task-started' || done?.type !== 'task-succeeded') throw new Error('unreachable');
  t.equal(received.name, 'tasks.add');
  t.equal(received.retries, 0);
  t.equal(received.root_id, r.id);
  t.equal(done.result, 5);
  t.type(done.runtime, 'number');
  for (const e of mine) {
    t.equal(e.hostname, w.hostname);
    t.equal(e.pid, process.pid);
    t.ok(Math.abs(e.timestamp - Date.now() / 1000) < 60, 'timestamp in seconds');
  }
  t.ok(received.clock < started.clock && started.clock < done.clock, 'the clock advances');
  await until(() => succeeded.length === 1, 5_000, 'the typed handler');
  t.same(succeeded, [5]);
});

t.test('task-failed carries the exception; task-retried the retry number', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t, { workerSendTaskEvents: true });
  const workerApp = newApp();
  workerApp.task('tasks.boom', () => {
    throw new TypeError('no good');
  });
  workerApp.task('tasks.flaky', function (this: TaskContext) {
    if (this.retries < 1) this.retry({ countdown: 0 });
    return 'ok';
  });
  const { events } = await collect(t, app, 'task.#');
  await startWorker(workerApp);
  const bad = await app.sendTask('tasks.boom');
  await t.rejects(bad.get({ timeout: 5_000 }));
  await until(() => ofTask(events, bad.id).some((e) => e.type === 'task-failed'), 5_000, 'task-failed');
  const failed = ofTask(events, bad.id).find((e) => e.type === 'task-failed');
  if (failed?.type !== 'task-failed') throw new Error('unreachable');
  t.equal(failed.exception, 'TypeError: no good');
  t.match(failed.traceback, /no good/);

  const flaky = await app.sendTask('tasks.flaky');
  t.equal(await flaky.get({ timeout: 5_000 }), 'ok');
  await until(() => ofTask(events, flaky.id).filter((e) => e.type === 'task-succeeded').length === 1, 5_000, 'the retried run');
  t.same(ofTask(events, flaky.id).map((e) => e.type), [
    'task-received', 'task-started', 'task-retried', 'task-received', 'task-started', 'task-succeeded',
  ]);
  const retried = ofTask(events, flaky.id).find((e) => e.type === 'task-retried');
  if (retried?.type !== 'task-retried') throw new Error('unreachable');
  t.equal(retried.retries, 1);
  t.ok(events.every((e) => e.type.startsWith('task-')), "the pattern 'task.#' keeps worker events out");
});

t.test('worker-online, heartbeats, worker-offline; task events off by default', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  const workerApp = newApp();
  workerApp.task('tasks.one', () => 1);
  const { events } = await collect(t, app, 'worker.#');
  const { events: all } = await collect(t, app);
  const w = await startWorker(workerApp, { hostname: 'hb@test', heartbeatInterval: 50 });
  await until(() => events.filter((e) => e.type === 'worker-heartbeat').length >= 2, 5_000, 'two heartbeats');
  t.equal(await (await app.sendTask('tasks.one')).get({ timeout: 5_000 }), 1);
  await w.close();
  await until(() => events.some((e) => e.type === 'worker-offline'), 5_000, 'worker-offline');
  const types = events.map((e) => e.type);
  t.equal(types[0], 'worker-online');
  t.equal(types.at(-1), 'worker-offline');
  const offline = events.at(-1)!;
  if (offline.type !== 'worker-offline') throw new Error('unreachable');
  t.equal(offline.hostname, 'hb@test');
  t.equal(offline.freq, 0.05);
  t.equal(offline.processed, 1);
  t.equal(offline.sw_ident, 'celeriac');
  t.equal(offline.loadavg.length, 3);
  t.notOk(all.some((e) => e.type.startsWith('task-')), 'no task events unless asked for');
});

t.test('task-sent from a producer with taskSendSentEvent', async (t) => {
  const { newApp } = await taskEnv(t);
  const producer = newApp({ taskSendSentEvent: true });
  const { events } = await collect(t, producer, 'task.sent');
  const r = await producer.sendTask('tasks.anything', [1, 'x'], { kwargs: { k: true } });
  await until(() => events.length === 1, 5_000, 'task-sent');
  const sent = events[0]!;
  if (sent.type !== 'task-sent') throw new Error('unreachable');
  t.equal(sent.uuid, r.id);
  t.equal(sent.name, 'tasks.anything');
  t.same(sent.args, [1, 'x']);
  t.same(sent.kwargs, { k: true });
  t.equal(sent.queue, 'default');
  t.equal(sent.exchange, 'tasks');
  t.equal(sent.routing_key, 'task.default');
  t.match(sent.hostname, /^gen\d+@/);
  const quiet = newApp();
  const { events: none } = await collect(t, quiet, 'task.sent');
  await quiet.sendTask('tasks.anything');
  await producer.sendTask('tasks.anything');
  await until(() => none.length === 1, 5_000, 'the second task-sent');
  t.equal(none.length, 1, 'an app without the setting sends none');
});

t.test('a subscription closes cleanly: its queue is gone and handlers hear nothing more', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  const workerApp = newApp();
  workerApp.task('tasks.one', () => 1);
  let heard = 0;
  const errors: unknown[] = [];
  const sub = await app.events.subscribe({ 'task-received': () => { heard++; throw new Error('handler bug'); } }, { onError: (e) => errors.push(e) });
  await startWorker(workerApp, { sendEvents: true });
  await (await app.sendTask('tasks.one')).get({ timeout: 5_000 });
  await until(() => heard === 1, 5_000, 'the first event');
  t.match(String(errors[0]), /handler bug/, 'a throwing handler is reported, not fatal');
  await sub.close();
  await sub.close();
  const conn = await app.connection();
  await t.rejects(conn.checkQueue(sub.queue), { code: 'ERR_NOT_FOUND' });
  await (await app.sendTask('tasks.one')).get({ timeout: 5_000 });
  // A second subscriber proves the events of that task were published after the close.
  const { events } = await collect(t, app);
  await (await app.sendTask('tasks.one')).get({ timeout: 5_000 });
  await until(() => events.some((e) => e.type === 'task-succeeded'), 5_000, 'events still flowing');
  t.equal(heard, 1, 'the closed subscription heard nothing more');
  await t.rejects(app.events.subscribe({ 'task-nonsense': () => undefined } as never), { code: 'ERR_INVALID_ARGUMENT' });
});
