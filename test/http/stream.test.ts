// GET /api/stream over real HTTP: the gate (no credentials: 401), what a page gets at once (chart
// history, overview, every queue row), a queue row sent again when its counts change, task and
// worker changes from a real worker's events, the cap per user, a broker that closes while
// streams are open (it must not wait for them), and a session's stream ended by its logout.
import t from 'tap';
import { connect } from '../../client/index.js';
import { api, basic, queuePath } from '../helpers/http.js';
import { until, untilAsync } from '../helpers/wait.js';
import { EYE, taskApiEnv, unique } from './task-helpers.js';

interface SseEvent { event: string; data: any }

/** An open stream: the events received so far, and how to stop it. */
interface Stream { events: SseEvent[]; ended: Promise<void>; stop(): void; status: number }

async function openStream(httpUrl: string, auth: string | null, headers: Record<string, string> = {}): Promise<Stream> {
  const abort = new AbortController();
  const res = await fetch(`${httpUrl}/api/stream`, { headers: auth === null ? headers : { ...headers, authorization: auth }, signal: abort.signal });
  const events: SseEvent[] = [];
  if (!res.ok || res.body === null) return { events, ended: Promise.resolve(), stop: () => abort.abort(), status: res.status };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted by stop()
    }
  })();
  return { events, ended, stop: () => abort.abort(), status: res.status };
}

const WAIT = 8_000;

t.test('the stream: gate, first events, queue changes, task and worker changes, cap, close', async (t) => {
  const { broker, newApp, startWorker, url } = await taskApiEnv(t);
  const refused = await api<{ error: { code: string } }>(broker, '/api/stream', { auth: null });
  t.equal(refused.status, 401);
  t.equal(refused.body.error.code, 'ERR_ACCESS_REFUSED');

  const conn = await connect(url, { reconnect: false });
  t.teardown(() => conn.close());
  const name = unique('stream-q');
  await conn.assertQueue(name, { durable: true });
  await conn.sendToQueue(name, 'a', { persistent: true });

  const s = await openStream(broker.httpUrl, EYE);
  t.teardown(() => s.stop());
  t.equal(s.status, 200);
  await until(() => s.events.length >= 3, WAIT, 'the first events');
  t.same(s.events.slice(0, 3).map((e) => e.event), ['history', 'overview', 'queues'], 'history, overview and every queue at once');
  t.ok(Array.isArray(s.events[0]!.data.points) && s.events[0]!.data.points.length >= 1, 'chart points');
  t.match(s.events[1]!.data, { rates: { publish: Number }, messages: { ready: Number }, queues: Number, at: Number });
  const first = s.events[2]!.data as { full: boolean; changed: { name: string; ready: number }[] };
  t.equal(first.full, true);
  t.equal(first.changed.find((q) => q.name === name)?.ready, 1, 'the queue row with its count');

  // A count changes: the row is sent again at the next tick; an unchanged one is not.
  await conn.sendToQueue(name, 'b', { persistent: true });
  await until(() => s.events.some((e) => e.event === 'queues' && !e.data.full && e.data.changed.some((q: { name: string; ready: number }) => q.name === name && q.ready === 2)), WAIT, 'the changed row');
  t.equal((await api<{ ready: number }>(broker, queuePath(name), { auth: EYE })).body.ready, 2);
  await api(broker, queuePath(name), { method: 'DELETE', auth: basic('admin', 'adm1n') });
  await until(() => s.events.some((e) => e.event === 'queues' && e.data.removed.some((q: { name: string }) => q.name === name)), WAIT, 'the deleted queue removed');

  // A worker's task events arrive batched as `task`, its own as `worker`.
  const prefix = unique('stream');
  const workerApp = newApp();
  workerApp.task(`${prefix}.add`, (a: number, b: number) => a + b);
  await startWorker(workerApp, { hostname: `${prefix}@test` });
  const r = await newApp().sendTask(`${prefix}.add`, [2, 3]);
  t.equal(await r.get({ timeout: 5_000 }), 5);
  const changes = (): { id: string; state: string; name: string | null; worker: string | null }[] =>
    s.events.filter((e) => e.event === 'task').flatMap((e) => e.data.tasks);
  await until(() => changes().some((c) => c.id === r.id && c.state === 'SUCCESS'), WAIT, 'the task, succeeded');
  const mine = changes().filter((c) => c.id === r.id);
  t.ok(mine.some((c) => c.name === `${prefix}.add`), 'with its name');
  t.equal(mine[mine.length - 1]!.worker, `${prefix}@test`);
  t.ok(s.events.some((e) => e.event === 'worker' && e.data.workers.some((w: { hostname: string }) => w.hostname === `${prefix}@test`)), 'worker-online as `worker`');

  // The cap: eight streams per user; the ninth is refused with a coded 503.
  const more: typeof s[] = [];
  t.teardown(() => more.forEach((m) => m.stop()));
  for (let i = 0; i < 7; i++) more.push(await openStream(broker.httpUrl, EYE));
  t.ok(more.every((m) => m.status === 200));
  const ninth = await api<{ error: { code: string } }>(broker, '/api/stream', { auth: EYE });
  t.equal(ninth.status, 503);
  t.equal(ninth.body.error.code, 'ERR_TOO_MANY_CONNECTIONS');
  // One closed gives its place back once the broker has seen its socket close.
  more.pop()!.stop();
  await untilAsync(async () => {
    const again = await openStream(broker.httpUrl, EYE);
    if (again.status === 200) more.push(again);
    return again.status === 200;
  }, WAIT, 'a place given back');

  // The broker closes with nine streams open: each ends, and close() returns.
  await broker.close();
  await Promise.all([s, ...more].map((m) => m.ended));
  t.pass('every stream ended and the broker closed');
});

t.test('a stream opened with the session cookie ends when the session logs out', async (t) => {
  const { broker } = await taskApiEnv(t);
  const login = await fetch(`${broker.httpUrl}/api/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'eye', password: 'w4tch' }), signal: AbortSignal.timeout(WAIT),
  });
  t.equal(login.status, 200);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  t.match(cookie, /^celeriac_session=/);
  const s = await openStream(broker.httpUrl, null, { cookie });
  t.teardown(() => s.stop());
  t.equal(s.status, 200);
  await until(() => s.events.some((e) => e.event === 'overview'), WAIT, 'the stream running');
  const out = await fetch(`${broker.httpUrl}/api/logout`, { method: 'POST', headers: { cookie }, signal: AbortSignal.timeout(WAIT) });
  t.equal(out.status, 204);
  let ended = false;
  void s.ended.then(() => { ended = true; });
  await until(() => ended, WAIT, 'the stream ended at the next tick');
  const again = await openStream(broker.httpUrl, null, { cookie });
  t.equal(again.status, 401, 'and cannot be opened again with the old cookie');
});
