// The task actions over real HTTP against a real broker and a real worker: revoke (a queued task
// never runs; terminate stops a running one), each refused to a monitoring user with nothing done.
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
