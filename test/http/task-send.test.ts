// POST /api/tasks/send over real HTTP: the message is the one celeriac's producer builds (headers,
// body, properties, the PENDING track), a real worker runs it and its result reads back through
// GET /api/tasks/{id} and the client's AsyncResult; unroutable sends and bad bodies are refused,
// and a monitoring user is refused with nothing sent.
import t from 'tap';
import type { Message } from '../../client/index.js';
import { parseTaskMessage } from '../../shared/messages/index.js';
import { api, queuePath, type ErrorJson } from '../helpers/http.js';
import { untilAsync } from '../helpers/wait.js';
import { ADMIN, EYE, taskApiEnv, unique } from './task-helpers.js';

interface SentJson { id: string; state: string }

function send(broker: { httpUrl: string }, body: Record<string, unknown>, auth = ADMIN): Promise<{ status: number; body: SentJson & Partial<ErrorJson> }> {
  return api(broker, '/api/tasks/send', { method: 'POST', json: body, auth });
}

t.test('the message is the one the producer builds: headers, body, properties, PENDING registered', async (t) => {
  const env = await taskApiEnv(t);
  const app = env.newApp();
  const conn = await app.connection();
  const viaHttp = unique('send-http');
  const viaClient = unique('send-client');
  await conn.assertQueue(viaHttp, { durable: true });
  await conn.assertQueue(viaClient, { durable: true });
  const name = unique('send.job');
  const args = [1, 'two', { three: [3, null, true] }];
  const kwargs = { k: 'v', n: 2.5 };
  const eta = new Date(Date.now() + 60_000);

  const res = await send(env.broker, { name, args, kwargs, queue: viaHttp, priority: 5, eta: eta.toISOString(), expires: 120_000 });
  t.equal(res.status, 200);
  t.equal(res.body.state, 'PENDING');
  const id = res.body.id;
  t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/, "a time-ordered UUID, as the producer's");
  t.equal((await conn.getResult(id))?.state, 'PENDING', 'registered PENDING by the time it answered');
  await app.sendTask(name, args, { kwargs, queue: viaClient, priority: 5, eta, expires: 120_000 });

  // Held for its eta by the broker: read both back with the API's get once their delay is cut.
  const held = async (queue: string): Promise<number> => (await api<{ delayed: number }>(env.broker, queuePath(queue), { auth: ADMIN })).body.delayed;
  t.equal(await held(viaHttp), 1, 'held for its eta, as the producer\'s');
  t.equal(await held(viaClient), 1);

  // Same message apart from its id: take the raw messages off the queues with a second send that is due now.
  const now1 = await send(env.broker, { name, args, kwargs, queue: viaHttp, priority: 5 });
  await app.sendTask(name, args, { kwargs, queue: viaClient, priority: 5 });
  const a = await conn.get(viaHttp);
  const b = await conn.get(viaClient);
  if (a === null || b === null) throw new Error('both due messages are there');
  const norm = (m: Message): Record<string, unknown> => {
    const headers = { ...m.properties.headers };
    t.equal(headers.id, m.properties.correlationId, 'correlation id = task id');
    t.equal(headers.root_id, headers.id, 'root id = its own id');
    delete headers.id;
    delete headers.root_id;
    return { headers, props: { ...m.properties, headers: undefined, correlationId: undefined }, body: JSON.parse(m.body.toString('utf8')) };
  };
  t.strictSame(norm(a), norm(b), 'headers, properties and body as the producer writes them');
  t.equal(a.properties.correlationId, now1.body.id);
  t.match(a.properties, { contentType: 'application/json', contentEncoding: 'utf-8', persistent: true, priority: 5 });
  t.match(a.properties.headers, { lang: 'ts', task: name, parent_id: null, group: null, retries: 0, eta: null, expires: null });
  t.type(a.properties.headers?.origin, 'string');
  t.strictSame(JSON.parse(a.body.toString('utf8')), [args, kwargs, { callbacks: null, errbacks: null, chain: null, chord: null }], '[args, kwargs, embed]');
  const parsed = parseTaskMessage(a.properties.headers, a.properties, a.body);
  t.match(parsed, { id: now1.body.id, task: name, args, kwargs, priority: 5 }, 'a worker reads it');
  a.ack();
  b.ack();
});

t.test('a sent task runs on a real worker: its result through GET /api/tasks/{id} and AsyncResult; countdown too', async (t) => {
  const env = await taskApiEnv(t);
  const client = env.newApp();
  const workerApp = env.newApp({ taskDefaultQueue: 'celery' });
  const name = unique('send.mul');
  workerApp.task(name, (a: number, b: number, opts: { plus?: number } = {}) => a * b + (opts.plus ?? 0));
  await env.startWorker(workerApp, { hostname: `${name}@test` });

  const res = await send(env.broker, { name, args: [6, 7], kwargs: { opts: { plus: 0 } } });
  t.equal(res.status, 200, 'no route given: queue celery through the default exchange');
  t.equal(await client.asyncResult(res.body.id).get({ timeout: 5_000 }), 42, 'AsyncResult reads the result');
  await untilAsync(async () => (await api<{ state: string }>(env.broker, `/api/tasks/${res.body.id}`, { auth: EYE })).body.state === 'SUCCESS', 5_000, 'SUCCESS in the index');
  const task = await api<{ name: string; result: unknown; worker: string }>(env.broker, `/api/tasks/${res.body.id}`, { auth: EYE });
  t.match(task.body, { name, result: 42, worker: `${name}@test` });

  const later = await send(env.broker, { name, args: [2, 2], countdown: 200, exchange: '', routingKey: 'celery' });
  t.equal(later.status, 200);
  t.equal(await client.asyncResult(later.body.id).get({ timeout: 5_000 }), 4, 'a countdown send runs once due');
});

t.test('refusals: unroutable (nothing registered), a monitoring user (nothing sent), bad bodies, an unknown vhost', async (t) => {
  const env = await taskApiEnv(t);
  const app = env.newApp();
  const conn = await app.connection();
  const queue = unique('send-refused');
  await conn.assertQueue(queue, { durable: true });

  const lost = await send(env.broker, { name: 'nobody.listens', queue: unique('no-such-queue') });
  t.equal(lost.status, 404, 'a send no queue takes is refused');
  t.equal(lost.body.error?.code, 'ERR_NO_ROUTE');
  t.equal((await send(env.broker, { name: 'x', exchange: 'no-such-exchange' })).status, 404, 'an exchange that does not exist');

  const denied = await send(env.broker, { name: 'x', queue }, EYE);
  t.equal(denied.status, 403);
  t.equal(denied.body.error?.code, 'ERR_ACCESS_DENIED');
  const none = await api<ErrorJson>(env.broker, '/api/tasks/send', { method: 'POST', json: { name: 'x', queue }, auth: null });
  t.equal(none.status, 401);
  t.equal((await api<{ messages: number }>(env.broker, queuePath(queue), { auth: ADMIN })).body.messages, 0, 'nothing sent');

  for (const [what, body] of [
    ['no name', { args: [] }],
    ['an empty name', { name: '' }],
    ['args not an array', { name: 'x', args: { a: 1 } }],
    ['kwargs not an object', { name: 'x', kwargs: [1] }],
    ['a field it does not know', { name: 'x', queue, colour: 'red' }],
    ['a priority over 255', { name: 'x', queue, priority: 300 }],
    ['an eta that is no time', { name: 'x', queue, eta: 'next tuesday' }],
    ['countdown and eta both', { name: 'x', queue, countdown: 10, eta: Date.now() }],
  ] as const) {
    const res = await send(env.broker, body);
    t.equal(res.status, 400, `${what}: 400`);
    t.equal(res.body.error?.code, 'ERR_INVALID_ARGUMENT');
  }
  t.equal((await send(env.broker, { name: 'x', queue, vhost: 'nowhere' })).status, 404, 'an unknown vhost');
  t.equal((await api<{ messages: number }>(env.broker, queuePath(queue), { auth: ADMIN })).body.messages, 0, 'still nothing sent');
});
