// Remote control through a real broker: ping and destination filtering, inspect of active,
// reserved, registered and stats, rate limits changed in the broker, remote warm shutdown.
import t from 'tap';
import type { Celeriac, Worker } from '../../client/index.js';
import { taskEnv } from '../tasks/task-helpers.js';
import { until } from '../helpers/wait.js';

/** A task that runs until released: `gate.release()` lets every waiting run finish. */
function gated(app: Celeriac, name: string): { release(): void; started: string[] } {
  let open!: () => void;
  const opened = new Promise<void>((r) => { open = r; });
  const started: string[] = [];
  app.task(name, async function (this: { id: string }) {
    started.push(this.id);
    await opened;
    return 'done';
  });
  return { release: () => open(), started };
}

t.test('ping reaches every worker; destination picks some; an unknown method says so', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  const w1 = await startWorker(newApp(), { hostname: 'w1@test' });
  const w2 = await startWorker(newApp(), { hostname: 'w2@test' });
  const all = await app.control.ping({ timeout: 2_000, limit: 2 });
  t.same(all.map((r) => Object.keys(r)[0]).sort(), ['w1@test', 'w2@test']);
  for (const r of all) t.same(Object.values(r)[0], { ok: 'pong' });
  const one = await app.control.ping({ timeout: 2_000, destination: [w2.hostname] });
  t.same(one, [{ 'w2@test': { ok: 'pong' } }], 'only the worker addressed answers');
  // With a destination the call ends as soon as all of them answered: no wait for the timeout.
  const none = await app.control.ping({ timeout: 300, destination: ['nobody@test'] });
  t.same(none, [], 'nobody by that name');
  const unknown = await app.control.broadcast('no_such_command', {}, { timeout: 2_000, destination: [w1.hostname] });
  t.same(unknown, [{ 'w1@test': { error: 'No such method' } }]);
  const pinged = await app.control.inspect({ timeout: 2_000, limit: 2 }).ping();
  t.same(pinged, { 'w1@test': { ok: 'pong' }, 'w2@test': { ok: 'pong' } });
});

t.test('inspect: active, reserved, registered and stats of a busy worker', async (t) => {
  const { app, broker, newApp, startWorker } = await taskEnv(t);
  // Credentials in the worker's URL: stats must not hand the password to whoever asks.
  const workerApp = newApp({ broker: broker.url.replace('ws://', 'ws://guest:guest@') });
  const gate = gated(workerApp, 'tasks.wait');
  workerApp.task('tasks.other', () => 1);
  const w = await startWorker(workerApp, { hostname: 'busy@test', concurrency: 1, prefetchMultiplier: 4 });
  const results = await Promise.all([1, 2, 3].map(() => app.sendTask('tasks.wait')));
  await until(() => gate.started.length === 1 && w.reservedJobs().length === 2, 5_000, 'one running, two reserved');
  const inspect = app.control.inspect({ timeout: 2_000, destination: ['busy@test'] });

  const active = await inspect.active();
  t.same(Object.keys(active), ['busy@test']);
  t.equal(active['busy@test']!.length, 1);
  const running = active['busy@test']![0]!;
  t.equal(running.id, gate.started[0]);
  t.equal(running.name, 'tasks.wait');
  t.equal(running.hostname, 'busy@test');
  t.type(running.time_start, 'number');
  t.equal(running.delivery_info.queue, 'default');

  const reserved = await inspect.reserved();
  t.same(reserved['busy@test']!.map((j) => j.id).sort(), results.map((r) => r.id).filter((id) => id !== running.id).sort());
  t.ok(reserved['busy@test']!.every((j) => j.time_start === null), 'reserved tasks have not started');

  t.same(await inspect.scheduled(), { 'busy@test': [] }, 'nothing waits on a rate limit');
  t.same(await inspect.registered(), { 'busy@test': ['tasks.other', 'tasks.wait'] }, 'built-ins left out');
  const all = (await inspect.registered({ builtins: true }))['busy@test']!;
  t.same(all, workerApp.taskNames(), 'every registered task when asked');

  const stats = (await inspect.stats())['busy@test']!;
  t.equal(stats.hostname, 'busy@test');
  t.equal(stats.pid, process.pid);
  t.equal(stats.prefetch_count, 4);
  t.same(stats.queues, ['default']);
  t.equal(stats.pool['max-concurrency'], 1);
  t.same(stats.rate_limits, {});
  t.equal(stats.broker.url, broker.url.replace('ws://', 'ws://guest:***@'), 'the broker URL with its password masked');

  gate.release();
  t.same(await Promise.all(results.map((r) => r.get({ timeout: 5_000 }))), ['done', 'done', 'done']);
  const after = await inspect.stats();
  t.same(after['busy@test']!.total, { 'tasks.wait': 3 }, 'stats count the tasks run');
  t.same(await inspect.active(), { 'busy@test': [] });
});

t.test('rateLimit sets the rate in the broker for every worker and the workers record it', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  const apps = [newApp(), newApp()];
  for (const a of apps) a.task('tasks.limited', () => 1);
  await startWorker(apps[0]!, { hostname: 'r1@test' });
  await startWorker(apps[1]!, { hostname: 'r2@test' });
  const conn = await app.connection();
  const unlimited = { count: 0, intervalMs: 1_000 };
  t.equal(await conn.rateAcquire('tasks.limited', unlimited), 0);
  t.equal(await conn.rateAcquire('tasks.limited', unlimited), 0, 'no limit before');

  const replies = await app.control.rateLimit('tasks.limited', '1/m', { timeout: 2_000, limit: 2 });
  t.same(replies.map((r) => Object.keys(r)[0]).sort(), ['r1@test', 'r2@test']);
  for (const r of replies) t.same(Object.values(r)[0], { ok: 'new rate limit set successfully' });
  await conn.rateAcquire('tasks.limited', unlimited);
  t.ok((await conn.rateAcquire('tasks.limited', unlimited)) > 0, 'the broker now spaces starts of tasks.limited');
  const stats = await app.control.inspect({ timeout: 2_000, limit: 2 }).stats();
  t.same(stats['r1@test']!.rate_limits, { 'tasks.limited': '1/m' });
  t.same(stats['r2@test']!.rate_limits, { 'tasks.limited': '1/m' });
  const late = newApp();
  late.task('tasks.limited', () => 1);
  const r3 = await startWorker(late, { hostname: 'r3@test' });
  t.equal(r3.rateLimits.get('tasks.limited'), '1/m', 'a worker started later learns the rate from the broker');

  const cleared = await app.control.rateLimit('tasks.limited', null, { timeout: 2_000, destination: ['r1@test'] });
  t.same(cleared, [{ 'r1@test': { ok: 'rate limit disabled successfully' } }]);
  t.equal(await conn.rateAcquire('tasks.limited', unlimited), 0, 'cleared: the caller\'s rate applies again');

  const unknown = await app.control.rateLimit('tasks.nobody-has-this', '5/s', { timeout: 2_000, destination: ['r1@test'] });
  t.same(unknown, [{ 'r1@test': { error: 'unknown task' } }]);
  await t.rejects(app.control.rateLimit('tasks.limited', 'fast'), { code: 'ERR_INVALID_ARGUMENT' }, 'a bad rate fails before anything is sent');
});

t.test('revoke through control: the broker keeps it and a worker skips the task', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  const workerApp = newApp();
  let ran = 0;
  workerApp.task('tasks.count', () => ++ran);
  const r = await app.sendTask('tasks.count', [], { countdown: 300 });
  t.same(await app.control.revoke(r.id), { revoked: 1 });
  t.equal(await (await app.connection()).isRevoked(r.id), true);
  await startWorker(workerApp);
  await t.rejects(r.get({ timeout: 5_000 }), { code: 'ERR_TASK_REVOKED' });
  t.equal(ran, 0);
});

t.test('shutdown: the worker stops (warm), gives back its reserved tasks, finishes the running one', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  const workerApp = newApp();
  const gate = gated(workerApp, 'tasks.wait');
  const w: Worker = await startWorker(workerApp, { hostname: 'leaving@test', concurrency: 1, prefetchMultiplier: 4 });
  const stays = await startWorker(newApp(), { hostname: 'stays@test', queues: ['other'] });
  const results = await Promise.all([1, 2, 3, 4].map(() => app.sendTask('tasks.wait')));
  await until(() => gate.started.length === 1 && w.reservedJobs().length === 3, 5_000, 'one running, three reserved');
  let offline = false;
  w.once('worker-offline', () => { offline = true; });

  const replies = await app.control.shutdown({ timeout: 2_000, destination: ['leaving@test'] });
  t.same(replies, [{ 'leaving@test': { ok: 'shutting down' } }]);
  await until(() => !w.running, 5_000, 'the worker to stop running');
  const conn = await app.connection();
  await until(() => w.reservedJobs().length === 0, 5_000, 'reserved tasks given back');
  const back = await conn.checkQueue('default');
  t.equal(back.messageCount, 3, 'the three reserved tasks are back in the queue');
  t.equal(offline, false, 'warm: still finishing the running task');

  gate.release();
  t.equal(await results.find((r) => r.id === gate.started[0])!.get({ timeout: 5_000 }), 'done', 'the running task finished');
  await until(() => offline, 5_000, 'worker-offline');
  t.equal(stays.running, true, 'a worker not addressed keeps running');
  t.same(await app.control.ping({ timeout: 300, destination: ['leaving@test'] }), [], 'the stopped worker no longer answers');
  t.equal((await conn.checkQueue('default')).messageCount, 3, 'nothing consumed them since');
});
