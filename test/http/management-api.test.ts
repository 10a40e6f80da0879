// The management API through a real broker on port 0 and a real client: listings, one queue,
// coded JSON errors, and what /healthz and /api/overview report.
import t, { type Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { connect, type Connection } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';

const WAIT_MS = 10_000;

interface QueueJson {
  vhost: string; name: string; durable: boolean; exclusive: boolean; autoDelete: boolean;
  messages: number; ready: number; unacked: number; delayed: number; consumers: number; options: Record<string, unknown>;
}
interface ErrorJson { error: { code: string; message: string; wire: number } }

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

async function getJson<T>(url: string): Promise<{ status: number; type: string; body: T }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(WAIT_MS) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as T };
}

/** Polls `probe` until it returns a value (not undefined), failing after WAIT_MS. */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function client(t: Test, url: string): Promise<Connection> {
  const conn = await connect(url, { reconnect: false, clientName: 'http-test' });
  t.teardown(() => conn.close());
  return conn;
}

t.test('GET /healthz', async (t) => {
  const broker = await startTestBroker(t);
  const { status, body } = await getJson<{ ok: boolean; uptime: number }>(`${broker.httpUrl}/healthz`);
  t.equal(status, 200);
  t.equal(body.ok, true);
  t.ok(body.uptime >= 0, 'uptime in seconds');
});

t.test('queues: listing, one queue, ready/unacked/consumers as the broker sees them', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await client(t, broker.url);
  const name = unique('http-q');
  await conn.assertQueue(name, { durable: true, maxLength: 100 });
  for (let i = 0; i < 3; i++) await conn.sendToQueue(name, `m${i}`, { persistent: true });
  // Prefetch 1 and no ack: one message stays unacked, two stay ready.
  await conn.consume(name, () => undefined, { prefetch: 1 });

  const url = `${broker.httpUrl}/api/queues/${encodeURIComponent('/')}/${encodeURIComponent(name)}`;
  const q = await until('one unacked delivery', async () => {
    const { body } = await getJson<QueueJson>(url);
    return body.unacked === 1 ? body : undefined;
  });
  t.match(q, { vhost: '/', name, durable: true, exclusive: false, messages: 3, ready: 2, unacked: 1, delayed: 0, consumers: 1 });
  t.match(q.options, { maxLength: 100 }, 'the queue options are shown');

  const list = await getJson<QueueJson[]>(`${broker.httpUrl}/api/queues`);
  t.equal(list.status, 200);
  t.match(list.type, /^application\/json/);
  t.ok(list.body.some((x) => x.name === name && x.vhost === '/'), 'the queue is listed');
});

t.test('a missing queue is a 404 with ERR_NOT_FOUND; an unknown route too', async (t) => {
  const broker = await startTestBroker(t);
  const missing = await getJson<ErrorJson>(`${broker.httpUrl}/api/queues/%2F/${unique('nope')}`);
  t.equal(missing.status, 404);
  t.match(missing.type, /^application\/json/);
  t.equal(missing.body.error.code, 'ERR_NOT_FOUND');
  t.equal(missing.body.error.wire, 404);
  t.match(missing.body.error.message, /no queue/);

  const otherVhost = await getJson<ErrorJson>(`${broker.httpUrl}/api/queues/elsewhere/q`);
  t.equal(otherVhost.status, 404, 'a vhost that does not exist');

  const route = await getJson<ErrorJson>(`${broker.httpUrl}/api/nothing-here`);
  t.equal(route.status, 404);
  t.equal(route.body.error.code, 'ERR_NOT_FOUND');
});

t.test('exchanges and their bindings', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await client(t, broker.url);
  const ex = unique('http-ex');
  const q = unique('http-q');
  await conn.assertExchange(ex, 'topic', { durable: true });
  await conn.assertQueue(q);
  await conn.bindQueue(q, ex, 'a.#');
  await conn.bindQueue(q, ex, 'b.*');
  const { status, body } = await getJson<{ vhost: string; name: string; type: string; durable: boolean; bindings: number }[]>(`${broker.httpUrl}/api/exchanges`);
  t.equal(status, 200);
  t.match(body.find((e) => e.name === ex), { vhost: '/', name: ex, type: 'topic', durable: true, bindings: 2 });
});

t.test('connections list who is connected', async (t) => {
  const broker = await startTestBroker(t);
  await client(t, broker.url);
  await client(t, broker.url);
  const { status, body } = await getJson<{ id: string; vhost: string; user: string; client: string; peer: string }[]>(`${broker.httpUrl}/api/connections`);
  t.equal(status, 200);
  t.equal(body.length, 2, 'two connections');
  for (const c of body) {
    t.equal(c.vhost, '/');
    t.equal(c.user, 'guest', 'the built-in user');
    t.equal(c.client, 'http-test', 'the client name from the hello');
    t.match(c.peer, /127\.0\.0\.1|::1/);
  }
  t.not(body[0]!.id, body[1]!.id, 'distinct ids');
});

t.test('overview: totals, version, uptime, connections, store', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await client(t, broker.url);
  const name = unique('http-ov');
  await conn.assertQueue(name);
  for (let i = 0; i < 5; i++) await conn.sendToQueue(name, 'x');
  const { status, body } = await getJson<{
    version: string; uptime: number; blocked: boolean; totals: { published: number; messages: number };
    messages: { ready: number }; queues: number; connections: number; store: { location: string; bytes: number };
  }>(`${broker.httpUrl}/api/overview`);
  t.equal(status, 200);
  t.match(body.version, /^\d+\.\d+\.\d+/);
  t.ok(body.uptime >= 0);
  t.equal(body.blocked, false);
  t.equal(body.totals.published, 5);
  t.equal(body.totals.messages, 5);
  t.equal(body.messages.ready, 5);
  t.equal(body.queues, 1);
  t.equal(body.connections, 1);
  t.strictSame(body.store, { location: ':memory:', bytes: 0 });
});

t.test('two brokers in one process each report their own state', async (t) => {
  const a = await startTestBroker(t);
  const b = await startTestBroker(t);
  const conn = await client(t, a.url);
  const name = unique('only-in-a');
  await conn.assertQueue(name);
  const inA = await getJson<QueueJson[]>(`${a.httpUrl}/api/queues`);
  const inB = await getJson<QueueJson[]>(`${b.httpUrl}/api/queues`);
  t.ok(inA.body.some((q) => q.name === name));
  t.notOk(inB.body.some((q) => q.name === name));
});
