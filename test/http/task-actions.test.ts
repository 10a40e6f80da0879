// The task actions over real HTTP against a real broker and a real worker: revoke (a queued task
// never runs; terminate stops a running one) and retry (a failed or revoked task sent again with
// the same argument values and route), each refused to a monitoring user with nothing done.
import t from 'tap';
import type { TaskContext } from '../../client/index.js';
import { api, type ErrorJson } from '../helpers/http.js';
import { sleep, until, untilAsync } from '../helpers/wait.js';
import { ADMIN, EYE, taskApiEnv, unique } from './task-helpers.js';

interface TaskJson { id: string; state: string; terminated: boolean | null; worker: string | null }

t.test('revoke: a monitoring user is refused (403) and nothing is revoked; an administrator revokes, and the task never runs', async (t) => {
  const env = await taskApiEnv(t);
  const { broker } = env;
  const app = env.newApp();
  const name = unique('rv.job');
  let ran = 0;
  app.task(name, () => ++ran);
  const doomed = await app.sendTask(name, []);
  const kept = await app.sendTask(name, []);
  const conn = await app.connection();

  const denied = await api<ErrorJson>(broker, `/api/tasks/${doomed.id}/revoke`, { method: 'POST', json: { terminate: true }, auth: EYE });
  t.equal(denied.status, 403);
  t.equal(denied.body.error.code, 'ERR_ACCESS_DENIED');
  t.equal(await conn.isRevoked(doomed.id), false, 'nothing revoked');

  const res = await api<{ id: string; revoked: boolean; terminate: boolean }>(broker, `/api/tasks/${doomed.id}/revoke`, { method: 'POST', json: {}, auth: ADMIN });
  t.equal(res.status, 200);
  t.strictSame(res.body, { id: doomed.id, revoked: true, terminate: false });
  t.equal(await conn.isRevoked(doomed.id), true, 'revoked once answered');
  t.equal(await doomed.state, 'REVOKED');

  await env.startWorker(app, { hostname: `${name}@test` });
  t.equal(await kept.get({ timeout: 5_000 }), 1, 'the other one runs');
  await t.rejects(doomed.get({ timeout: 2_000 }), { code: 'ERR_TASK_REVOKED' });
  await sleep(100);
  t.equal(ran, 1, 'the revoked one never ran');
});

t.test('revoke with terminate stops a running task; the index shows it terminated', async (t) => {
  const env = await taskApiEnv(t);
  const { broker } = env;
  const app = env.newApp();
  const name = unique('rv.forever');
  app.task(name, function (this: TaskContext) {
    return new Promise((resolve) => this.signal.addEventListener('abort', () => resolve('aborted')));
  });
  const w = await env.startWorker(app, { hostname: `${name}@test` });
  const r = await app.sendTask(name, []);
  await until(() => w.activeJobs().length === 1, 5_000, 'the task to start');

  const denied = await api<ErrorJson>(broker, `/api/tasks/${r.id}/revoke`, { method: 'POST', json: { terminate: true }, auth: EYE });
  t.equal(denied.status, 403, 'a monitoring user may not terminate');
  await sleep(100);
  t.equal(w.activeJobs().length, 1, 'still running');

  const res = await api<{ terminate: boolean }>(broker, `/api/tasks/${r.id}/revoke`, { method: 'POST', json: { terminate: true, signal: 'SIGTERM' }, auth: ADMIN });
  t.equal(res.status, 200);
  t.equal(res.body.terminate, true);
  await t.rejects(r.get({ timeout: 5_000 }), { code: 'ERR_TASK_REVOKED' });
  await until(() => w.activeJobs().length === 0, 5_000, 'the worker to let go of it');
  await untilAsync(async () => (await api<TaskJson>(broker, `/api/tasks/${r.id}`, { auth: EYE })).body.state === 'REVOKED', 5_000, 'the index to say REVOKED');
  t.match((await api<TaskJson>(broker, `/api/tasks/${r.id}`, { auth: EYE })).body, { state: 'REVOKED', terminated: true });

  // A revoked task may be sent again: a new id, so the revocation does not stop it.
  const again = await api<{ id: string }>(broker, `/api/tasks/${r.id}/retry`, { method: 'POST', json: {}, auth: ADMIN });
  t.equal(again.status, 200, 'a revoked task is sent again');
  await until(() => w.activeJobs().length === 1, 5_000, 'the new task to start');
  t.equal(w.activeJobs()[0]?.id, again.body.id);
  await (await app.connection()).revoke(again.body.id, { terminate: true });
});

t.test('revoke refusals: a field the route does not know, an unknown vhost, a bad signal', async (t) => {
  const { broker } = await taskApiEnv(t);
  const path = '/api/tasks/some-task/revoke';
  const odd = await api<ErrorJson>(broker, path, { method: 'POST', json: { terminate: true, colour: 'red' }, auth: ADMIN });
  t.equal(odd.status, 400);
  t.equal(odd.body.error.code, 'ERR_INVALID_ARGUMENT');
  t.equal((await api(broker, path, { method: 'POST', json: { signal: '' }, auth: ADMIN })).status, 400, 'an empty signal');
  const nowhere = await api<ErrorJson>(broker, path, { method: 'POST', json: { vhost: 'nowhere' }, auth: ADMIN });
  t.equal(nowhere.status, 404);
  t.equal(nowhere.body.error.code, 'ERR_NOT_FOUND');
  t.equal((await api(broker, path, { method: 'POST', auth: ADMIN })).status, 200, 'no body: the defaults');
});

interface RetryJson { id: string; retryOf: string }

t.test('retry: a failed task is sent again as a new task, same name, argument values (types kept) and queue; a monitoring user is refused with nothing sent', async (t) => {
  const env = await taskApiEnv(t);
  const { broker } = env;
  const client = env.newApp();
  const workerApp = env.newApp();
  const name = unique('rt.flaky');
  const queue = unique('rt-queue');
  const calls: unknown[][] = [];
  workerApp.task(name, (...args: unknown[]) => {
    calls.push(args);
    if (calls.length === 1) throw new Error('first run fails');
    return 'second run works';
  });
  await env.startWorker(workerApp, { hostname: `${name}@test`, queues: [queue] });
  const when = new Date('2026-01-02T03:04:05.678Z');
  const args = [1, 'two', { three: [3, null, true] }, when, new Uint8Array([0, 1, 254, 255])];
  const kwargs = { n: 2.5, at: when };
  const failed = await client.sendTask(name, args, { kwargs, queue });
  await t.rejects(failed.get({ timeout: 5_000 }), /first run fails/);
  await untilAsync(async () => (await api<TaskJson>(broker, `/api/tasks/${failed.id}`, { auth: EYE })).body.state === 'FAILURE', 5_000, 'FAILURE in the index');

  const published = async (): Promise<number> => (await api<{ counters: { published: number } }>(broker, `/api/queues/%2F/${queue}`, { auth: ADMIN })).body.counters.published;
  const before = await published();
  const denied = await api<ErrorJson>(broker, `/api/tasks/${failed.id}/retry`, { method: 'POST', json: {}, auth: EYE });
  t.equal(denied.status, 403);
  t.equal(denied.body.error.code, 'ERR_ACCESS_DENIED');
  t.equal(await published(), before, 'nothing sent');

  const res = await api<RetryJson>(broker, `/api/tasks/${failed.id}/retry`, { method: 'POST', auth: ADMIN });
  t.equal(res.status, 200);
  t.equal(res.body.retryOf, failed.id);
  t.not(res.body.id, failed.id, 'a new task id');
  t.equal(await client.asyncResult(res.body.id).get({ timeout: 5_000 }), 'second run works');
  t.equal(calls.length, 2);
  const [first, second] = calls as [unknown[], unknown[]];
  t.strictSame(second, first, 'the same arguments');
  t.ok(second[3] instanceof Date && (second[3] as Date).getTime() === when.getTime(), 'a Date stays a Date');
  t.ok(second[4] instanceof Uint8Array, 'bytes stay bytes');
  t.strictSame([...(second[4] as Uint8Array)], [0, 1, 254, 255]);
  t.ok((second[5] as { at: unknown }).at instanceof Date, 'kwargs too');
  await untilAsync(async () => (await api<TaskJson>(broker, `/api/tasks/${res.body.id}`, { auth: EYE })).body.state === 'SUCCESS', 5_000, 'the new task in the index');
  t.match((await api<TaskJson & { queue: string; name: string }>(broker, `/api/tasks/${res.body.id}`, { auth: EYE })).body, { name, queue, state: 'SUCCESS' }, 'through the same queue');
  t.equal((await api<TaskJson>(broker, `/api/tasks/${failed.id}`, { auth: EYE })).body.state, 'FAILURE', 'the failed one stays as it was');
});

t.test('retry refusals: an unknown task 404; a task that succeeded 412; arguments the index holds only as repr 412', async (t) => {
  const env = await taskApiEnv(t);
  const { broker } = env;
  const app = env.newApp();
  const name = unique('rt.big');
  app.task(name, (s: string) => {
    if (s.length > 100) throw new Error('too long');
    return s.length;
  });
  await env.startWorker(app, { hostname: `${name}@test` });
  const retry = (id: string): Promise<{ status: number; body: ErrorJson }> => api<ErrorJson>(broker, `/api/tasks/${id}/retry`, { method: 'POST', json: {}, auth: ADMIN });

  const unknown = await retry('no-such-task');
  t.equal(unknown.status, 404);
  t.equal(unknown.body.error.code, 'ERR_NOT_FOUND');

  const ok = await app.sendTask(name, ['short']);
  t.equal(await ok.get({ timeout: 5_000 }), 5);
  await untilAsync(async () => (await api<TaskJson>(broker, `/api/tasks/${ok.id}`, { auth: EYE })).body.state === 'SUCCESS', 5_000, 'SUCCESS in the index');
  const done = await retry(ok.id);
  t.equal(done.status, 412, 'a task that succeeded');
  t.equal(done.body.error.code, 'ERR_PRECONDITION_FAILED');

  const big = await app.sendTask(name, ['x'.repeat(20_000)]);
  await t.rejects(big.get({ timeout: 5_000 }), /too long/);
  await untilAsync(async () => (await api<TaskJson>(broker, `/api/tasks/${big.id}`, { auth: EYE })).body.state === 'FAILURE', 5_000, 'FAILURE in the index');
  const repr = await retry(big.id);
  t.equal(repr.status, 412, 'arguments over 16 KiB: only their repr was kept');
  t.match(repr.body.error.message, /only the repr/);
});
