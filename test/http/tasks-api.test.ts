// The task-level read routes over real HTTP against a real broker and a real worker sending task
// events: GET /api/tasks (filters, search, time range, paging, vhosts), GET /api/tasks/{id} (result,
// exception with traceback, timeline; 404), GET /api/workers.
import t from 'tap';
import { api, type ErrorJson } from '../helpers/http.js';
import { untilAsync } from '../helpers/wait.js';
import { ADMIN, EYE, taskApiEnv, unique } from './task-helpers.js';

interface TaskJson {
  vhost: string; id: string; name: string | null; state: string; args: unknown; kwargs: unknown; result: unknown;
  argsValue: unknown[] | null; kwargsValue: Record<string, unknown> | null; exception: string | null; traceback: string | null; retries: number | null; worker: string | null; queue: string | null;
  firstEventId: number; firstSeen: number; runtime: number | null;
}
interface DetailJson extends TaskJson {
  timeline: { id: number; vhost: string; type: string; routingKey: string; at: number; data: Record<string, unknown> | null; body?: unknown }[];
}
interface PageJson {
  tasks: TaskJson[];
  cursor: number | null;
}
interface WorkerJson {
  vhost: string; hostname: string; online: boolean; lastHeartbeat: number | null; pool: string | null; concurrency: number | null;
  active: number | null; processed: number | null; queues: string[] | null;
}

t.test('tasks and workers: a success and a failure read back, filtered, searched, paged; a task with its timeline and traceback', async (t) => {
  const env = await taskApiEnv(t);
  const { broker } = env;
  const prefix = unique('api');
  const client = env.newApp();
  const workerApp = env.newApp();
  workerApp.task(`${prefix}.add`, (a: number, b: number) => a + b);
  workerApp.task(`${prefix}.boom`, () => {
    throw new RangeError('out of range on purpose');
  });
  const host = `${prefix}@test`;
  await env.startWorker(workerApp, { hostname: host });

  const adds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await client.sendTask(`${prefix}.add`, [i, 10]);
    t.equal(await r.get({ timeout: 5_000 }), i + 10);
    adds.push(r.id);
  }
  const bad = await client.sendTask(`${prefix}.boom`, []);
  await bad.get({ timeout: 5_000, propagate: false });
  const final = async (id: string, state: string): Promise<boolean> =>
    (await api<DetailJson>(broker, `/api/tasks/${id}`, { auth: EYE })).body.state === state;
  await untilAsync(async () => (await final(bad.id, 'FAILURE')) && (await final(adds[2]!, 'SUCCESS')), 5_000, 'final states in the index');

  // One task, as the monitoring user reads it.
  const failed = await api<DetailJson>(broker, `/api/tasks/${bad.id}`, { auth: EYE });
  t.equal(failed.status, 200);
  t.match(failed.body, { id: bad.id, vhost: '/', name: `${prefix}.boom`, state: 'FAILURE', exception: 'RangeError: out of range on purpose', worker: host });
  t.match(failed.body.traceback, /^RangeError: out of range on purpose\n\s+at /, 'the traceback');
  t.same(failed.body.timeline.map((e) => e.type), ['task-received', 'task-started', 'task-failed'], 'the timeline, oldest first');
  t.equal(failed.body.timeline[2]!.data?.exception, 'RangeError: out of range on purpose', 'timeline events carry their parsed body');
  t.equal(failed.body.timeline[0]!.body, undefined, 'and not their raw bytes');
  const ok = await api<DetailJson>(broker, `/api/tasks/${adds[1]}?vhost=%2F`, { auth: EYE });
  t.match(ok.body, { state: 'SUCCESS', result: 11, worker: host, retries: 0 });
  t.type(ok.body.runtime, 'number');
  t.equal(ok.body.args, '[1, 10]', 'args as the event carried them: their repr');
  t.match(ok.body, { argsValue: [1, 10], kwargsValue: {} }, 'and their values');

  // Listing: newest first, filters, search, time range.
  const all = await api<PageJson>(broker, `/api/tasks?search=${prefix}`, { auth: EYE });
  t.equal(all.status, 200);
  t.same(all.body.tasks.map((x) => x.id), [bad.id, ...adds.slice().reverse()], 'newest first');
  t.equal(all.body.cursor, null, 'one page');
  const failures = await api<PageJson>(broker, `/api/tasks?state=FAILURE&name=${prefix}.boom`, { auth: EYE });
  t.same(failures.body.tasks.map((x) => x.id), [bad.id], 'by state and name');
  const byWorker = await api<PageJson>(broker, `/api/tasks?worker=${encodeURIComponent(host)}&name=${prefix}.add`, { auth: EYE });
  t.equal(byWorker.body.tasks.length, 3, 'by worker');
  const byId = await api<PageJson>(broker, `/api/tasks?search=${bad.id}`, { auth: EYE });
  t.same(byId.body.tasks.map((x) => x.id), [bad.id], 'search by id');
  const later = await api<PageJson>(broker, `/api/tasks?from=${Date.now() + 60_000}`, { auth: EYE });
  t.same(later.body.tasks, [], 'from a time after all: none');
  const earlier = await api<PageJson>(broker, `/api/tasks?search=${prefix}&to=${all.body.tasks[0]!.firstSeen + 1}&from=0`, { auth: EYE });
  t.equal(earlier.body.tasks.length, 4, 'a range holding them all');

  // Paging: two by two, following the cursor, gives the same tasks.
  const paged: string[] = [];
  let cursor: number | null = null;
  for (let guard = 0; guard < 10; guard++) {
    const page: PageJson = (await api<PageJson>(broker, `/api/tasks?search=${prefix}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`, { auth: EYE })).body;
    paged.push(...page.tasks.map((x) => x.id));
    cursor = page.cursor;
    if (cursor === null) break;
  }
  t.same(paged, all.body.tasks.map((x) => x.id), 'pages follow the cursor');

  // Workers.
  const workers = await api<WorkerJson[]>(broker, '/api/workers', { auth: EYE });
  t.equal(workers.status, 200);
  const w = workers.body.find((x) => x.hostname === host);
  t.match(w, { vhost: '/', online: true, concurrency: 2 }, 'the worker, online');
  t.type(w?.lastHeartbeat, 'number');
  t.type(w?.pool, 'string');
  t.same((await api<WorkerJson[]>(broker, '/api/workers?vhost=%2F', { auth: EYE })).body.map((x) => x.hostname), workers.body.map((x) => x.hostname));
});

t.test('refusals: unknown task 404, bad queries 400, no credentials 401, unknown vhost 404', async (t) => {
  const { broker } = await taskApiEnv(t);
  const missing = await api<ErrorJson>(broker, '/api/tasks/no-such-task', { auth: EYE });
  t.equal(missing.status, 404);
  t.equal(missing.body.error.code, 'ERR_NOT_FOUND');
  for (const q of ['limit=5000', 'limit=-1', 'from=yesterday', 'cursor=x', 'colour=red']) {
    const res = await api<ErrorJson>(broker, `/api/tasks?${q}`, { auth: EYE });
    t.equal(res.status, 400, `${q}: 400`);
    t.equal(res.body.error.code, 'ERR_INVALID_ARGUMENT');
  }
  for (const path of ['/api/tasks', '/api/tasks/x', '/api/workers']) {
    const res = await api<ErrorJson>(broker, path, { auth: null });
    t.equal(res.status, 401, `${path} without credentials`);
    t.equal(res.body.error.code, 'ERR_ACCESS_REFUSED');
  }
  t.equal((await api<ErrorJson>(broker, '/api/tasks?vhost=nowhere', { auth: ADMIN })).status, 404, 'an unknown vhost');
  t.equal((await api<ErrorJson>(broker, '/api/workers?vhost=nowhere', { auth: ADMIN })).status, 404);
});

t.test('a user limited to one vhost sees only its tasks and workers', async (t) => {
  const { broker, url } = await taskApiEnv(t, {
    vhosts: ['/', 'team'],
    users: [
      { user: 'admin', password: 'adm1n', tags: ['administrator'] },
      { user: 'eye', password: 'w4tch', tags: ['monitoring'] },
      { user: 'teamer', password: 't3am', tags: ['monitoring'], vhosts: ['team'] },
    ],
  });
  const { Celeriac } = await import('../../client/index.js');
  const prefix = unique('vh');
  const apps = ['/', 'team'].map((vhost) => new Celeriac({ broker: `${url}/${encodeURIComponent(vhost)}`, workerConcurrency: 1 }));
  const workers = apps.map((app, i) => {
    app.task(`${prefix}.echo`, (x: string) => x);
    return app.worker({ log: () => undefined, sendEvents: true, hostname: `${prefix}-${i}@test` });
  });
  t.teardown(async () => {
    await Promise.all(workers.map((w) => w.close({ force: true }).catch(() => undefined)));
    await Promise.all(apps.map((a) => a.close()));
  });
  await Promise.all(workers.map((w) => w.start()));
  const ids: string[] = [];
  for (const app of apps) {
    const r = await app.sendTask(`${prefix}.echo`, ['hi']);
    t.equal(await r.get({ timeout: 5_000 }), 'hi');
    ids.push(r.id);
  }
  const { basic } = await import('../helpers/http.js');
  const TEAM = basic('teamer', 't3am');
  await untilAsync(async () => (await api<PageJson>(broker, `/api/tasks?search=${prefix}&state=SUCCESS`, { auth: EYE })).body.tasks.length === 2, 5_000, 'both done');
  const mine = await api<PageJson>(broker, `/api/tasks?search=${prefix}`, { auth: TEAM });
  t.same(mine.body.tasks.map((x) => [x.id, x.vhost]), [[ids[1], 'team']], 'only its vhost');
  t.equal((await api(broker, `/api/tasks/${ids[0]}`, { auth: TEAM })).status, 404, "another vhost's task: not found");
  t.equal((await api(broker, `/api/tasks/${ids[1]}`, { auth: TEAM })).status, 200);
  t.equal((await api<ErrorJson>(broker, '/api/tasks?vhost=%2F', { auth: TEAM })).status, 403, 'naming a vhost it may not use');
  t.same((await api<WorkerJson[]>(broker, '/api/workers', { auth: TEAM })).body.map((w) => w.hostname), [`${prefix}-1@test`]);
  const both = await api<PageJson>(broker, `/api/tasks?search=${prefix}`, { auth: EYE });
  t.same(both.body.tasks.map((x) => x.id), [ids[1], ids[0]], 'a user of every vhost sees both');
});
