// Tasks end to end through a real broker: delay/applyAsync resolve on the confirm, the worker runs
// the task, AsyncResult.get() is pushed the result; failures carry the remote name and stack.
import t from 'tap';
import { CeleriacError } from '../../client/index.js';
import { captureLog, taskEnv } from './task-helpers.js';

t.test('delay → worker → get: the typed result comes back', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  await startWorker(app);
  const r = await add.delay(2, 3);
  t.match(r.id, /^[0-9a-f-]{36}$/, 'a UUID task id');
  const v: number = await r.get({ timeout: 5_000 });
  t.equal(v, 5);
  t.equal(await r.state, 'SUCCESS');
  t.equal(await r.ready(), true);
  t.equal(await r.result, 5);
  t.equal(await r.traceback, null);
  // The final record get() returned never hides what the broker says about an id it dropped.
  await app.asyncResult(r.id).forget();
  t.equal(await r.state, 'UNKNOWN', 'forgotten through another AsyncResult');
  const many = await Promise.all(Array.from({ length: 50 }, (_, i) => add.delay(i, i)));
  t.same(await Promise.all(many.map((m) => m.get({ timeout: 5_000 }))), Array.from({ length: 50 }, (_, i) => 2 * i));
});

t.test('a task is PENDING from its confirm; an unknown id is UNKNOWN and get() rejects at once', async (t) => {
  const { app } = await taskEnv(t);
  const slow = app.task('tasks.nobody-runs', () => 1);
  const r = await slow.delay();
  t.equal(await r.state, 'PENDING');
  t.equal(await r.ready(), false);
  await t.rejects(r.get({ timeout: 100 }), { code: 'ERR_RESULT_TIMEOUT' });
  const unknown = app.asyncResult('no-such-task-id');
  t.equal(await unknown.state, 'UNKNOWN');
  await t.rejects(unknown.get({ timeout: 600_000 }), { code: 'ERR_UNKNOWN_TASK_ID' }, 'no hang for an id nobody sent');
  await r.forget();
  t.equal(await r.state, 'UNKNOWN', 'forgotten');
});

t.test('a failing task: get() rejects with the remote name, message and stack', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  class BadInput extends Error {
    override name = 'BadInput';
  }
  const boom = app.task('tasks.boom', function explode(x: number): number {
    throw new BadInput(`bad ${x}`);
  });
  await startWorker(app);
  const r = await boom.delay(7);
  const err = await r.get({ timeout: 5_000 }).then(() => null, (e: unknown) => e);
  t.ok(err instanceof CeleriacError);
  const e = err as CeleriacError;
  t.equal(e.code, 'ERR_TASK_FAILED');
  t.equal(e.details?.['remoteName'], 'BadInput');
  t.equal(e.details?.['remoteMessage'], 'bad 7');
  t.match(String(e.details?.['remoteStack']), /explode/, 'the remote stack names the task function');
  t.equal(await r.state, 'FAILURE');
  t.match(await r.traceback, /BadInput: bad 7/);
  t.match(await r.result, { exc_type: 'BadInput', exc_message: ['bad 7'] });
  t.equal(await r.get({ timeout: 1_000, propagate: false }).then((x) => (x as unknown as { exc_type: string }).exc_type), 'BadInput');
});

t.test('sendTask by name from a producer without the code; context via this and bind', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  const workerApp = newApp();
  workerApp.task('tasks.whoami', function (this: import('../../client/index.js').TaskContext, tag: string) {
    return { id: this.id, name: this.name, retries: this.retries, tag, aborted: this.signal.aborted };
  });
  workerApp.task('tasks.bound', (ctx: import('../../client/index.js').TaskContext, x: number) => `${ctx.name}:${x}`, { bind: true });
  await startWorker(workerApp);
  const r = await app.sendTask<{ id: string; name: string; retries: number; tag: string; aborted: boolean }>('tasks.whoami', ['hi']);
  t.same(await r.get({ timeout: 5_000 }), { id: r.id, name: 'tasks.whoami', retries: 0, tag: 'hi', aborted: false });
  t.equal(await (await app.sendTask('tasks.bound', [4])).get({ timeout: 5_000 }), 'tasks.bound:4');
});

t.test('a message for a task the worker does not know is rejected, logged and recorded as a failure', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const { lines, log } = captureLog();
  await startWorker(app, { log });
  const r = await app.sendTask('tasks.nobody-registered-this', [1]);
  await t.rejects(r.get({ timeout: 5_000 }), { code: 'ERR_UNKNOWN_TASK' });
  t.ok(lines.some((l) => l.startsWith('error:') && l.includes("unregistered task of type 'tasks.nobody-registered-this'")), 'a clear log line');
  const conn = await app.connection();
  t.equal((await conn.checkQueue('default')).messageCount, 0, 'not left in the queue');
});

t.test('bad task options and names fail at registration, naming the option', async (t) => {
  const { app } = await taskEnv(t);
  t.throws(() => app.task('x', () => 1, { maxRetries: -1 }), /task 'x' option maxRetries/);
  t.throws(() => app.task('y', () => 1, { rateLimit: 'fast' }), /task 'y' option rateLimit/);
  t.throws(() => app.task('z', () => 1, { timeLimt: 5 } as never), /task 'z' option timeLimt/);
  t.throws(() => app.task('s', () => 1, { serializer: 'pickle' as never }), /task 's' option serializer must be one of json, msgpack/);
  t.doesNotThrow(() => app.task('m', () => 1, { serializer: 'msgpack' }), 'a known serializer is taken');
  app.task('dup', () => 1);
  t.throws(() => app.task('dup', () => 2), /already registered/);
  t.throws(() => app.task('', () => 1), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('useBroker() points an unconnected app at another broker; not once connected', async (t) => {
  const { app, broker } = await taskEnv(t);
  const { Celeriac } = await import('../../client/index.js');
  const moved = new Celeriac({ broker: 'ws://127.0.0.1:1' });
  t.teardown(() => moved.close());
  moved.useBroker(broker.url);
  t.equal(moved.settings.resultBackend, broker.url, 'the backend follows the broker');
  t.equal(await (await moved.sendTask('tasks.x', [])).state, 'PENDING', 'sent through the new broker');
  await app.connection();
  t.throws(() => app.useBroker('ws://127.0.0.1:2'), { code: 'ERR_INVALID_ARGUMENT' });
});
