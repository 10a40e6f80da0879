// The management API's listings through a real broker on port 0 and real clients, read over HTTP
// with the built-in administrator: queues (counts and rates), exchanges, bindings, consumers,
// connections, vhosts, users, overview, and coded JSON errors.
import t, { type Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { connect, type Connection } from '../../client/index.js';
import type { Broker } from '../../server/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { api, basic, queuePath, type ErrorJson } from '../helpers/http.js';
import { untilAsync } from '../helpers/wait.js';

interface QueueJson {
  vhost: string; name: string; durable: boolean; exclusive: boolean; autoDelete: boolean;
  messages: number; ready: number; unacked: number; delayed: number; paged: number; consumers: number; options: Record<string, unknown>;
  counters: { published: number; delivered: number; acked: number };
  rates: { publish: number; deliver: number; ack: number };
}
interface ExchangeJson { vhost: string; name: string; type: string; durable: boolean; autoDelete: boolean; internal: boolean; bindings: number }

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

async function client(t: Test, url: string, options: { user?: string; password?: string; vhost?: string } = {}): Promise<Connection> {
  const conn = await connect(url, { reconnect: false, clientName: 'http-test', ...options });
  t.teardown(() => conn.close());
  return conn;
}

/** Polls GET `path` until `ok` holds for its body; returns that body. */
async function once<T>(broker: Broker, path: string, ok: (body: T) => boolean, what: string): Promise<T> {
  let last: T | undefined;
  await untilAsync(async () => {
    last = (await api<T>(broker, path)).body;
    return ok(last);
  }, 10_000, what);
  return last!;
}

t.test('queues: listing, one vhost, one queue; ready/unacked/consumers, counters and rates as the broker sees them', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await client(t, broker.url);
  const name = unique('http-q');
  await conn.assertQueue(name, { durable: true, maxLength: 100 });
  for (let i = 0; i < 3; i++) await conn.sendToQueue(name, `m${i}`, { persistent: true });
  // Prefetch 1 and no ack: one message stays unacked, two stay ready.
  await conn.consume(name, () => undefined, { prefetch: 1 });

  const q = await once<QueueJson>(broker, queuePath(name), (b) => b.unacked === 1, 'one unacked delivery');
  t.match(q, { vhost: '/', name, durable: true, exclusive: false, messages: 3, ready: 2, unacked: 1, delayed: 0, paged: 0, consumers: 1 });
  t.match(q.options, { maxLength: 100 }, 'the queue options are shown');
  t.strictSame(q.counters, { published: 3, delivered: 1, acked: 0 }, 'what went through the queue');
  t.ok(q.rates.publish > 0, `a publish rate (${q.rates.publish}/s) right after the publishes`);
  t.ok(q.rates.deliver > 0, 'a deliver rate');
  t.equal(q.rates.ack, 0, 'nothing acked yet');

  const list = await api<QueueJson[]>(broker, '/api/queues');
  t.equal(list.status, 200);
  t.match(list.headers.get('content-type'), /^application\/json/);
  t.ok(list.body.some((x) => x.name === name && x.vhost === '/'), 'the queue is listed');
  const inVhost = await api<QueueJson[]>(broker, `/api/queues/${encodeURIComponent('/')}`);
  t.strictSame(inVhost.body.map((x) => x.name), [name], 'GET /api/queues/{vhost}');
});

t.test('a missing queue or vhost is a 404 with ERR_NOT_FOUND; an unknown route too', async (t) => {
  const broker = await startTestBroker(t);
  const missing = await api<ErrorJson>(broker, queuePath(unique('nope')));
  t.equal(missing.status, 404);
  t.match(missing.headers.get('content-type'), /^application\/json/);
  t.equal(missing.body.error.code, 'ERR_NOT_FOUND');
  t.equal(missing.body.error.wire, 404);
  t.match(missing.body.error.message, /no queue/);

  const otherVhost = await api<ErrorJson>(broker, '/api/queues/elsewhere/q');
  t.equal(otherVhost.status, 404, 'a vhost that does not exist');
  t.match(otherVhost.body.error.message, /no virtual host 'elsewhere'/);

  const route = await api<ErrorJson>(broker, '/api/nothing-here');
  t.equal(route.status, 404);
  t.equal(route.body.error.code, 'ERR_NOT_FOUND');
});

t.test('exchanges, one exchange, and bindings (the default exchange\'s implicit ones included)', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await client(t, broker.url);
  const ex = unique('http-ex');
  const q = unique('http-q');
  await conn.assertExchange(ex, 'topic', { durable: true });
  await conn.assertQueue(q);
  await conn.bindQueue(q, ex, 'a.#');
  await conn.bindQueue(q, ex, 'b.*');
  const all = await api<ExchangeJson[]>(broker, '/api/exchanges');
  t.equal(all.status, 200);
  t.match(all.body.find((e) => e.name === ex), { vhost: '/', name: ex, type: 'topic', durable: true, autoDelete: false, internal: false, bindings: 2 });
  t.ok(all.body.some((e) => e.name === 'amq.topic'), 'the predeclared exchanges too');
  const one = await api<ExchangeJson>(broker, `/api/exchanges/%2F/${encodeURIComponent(ex)}`);
  t.match(one.body, { name: ex, bindings: 2 });
  t.equal((await api<ErrorJson>(broker, `/api/exchanges/%2F/${unique('nope')}`)).status, 404);
  t.ok((await api<ExchangeJson[]>(broker, '/api/exchanges/%2F')).body.some((e) => e.name === ex), 'GET /api/exchanges/{vhost}');

  const bindings = await api<{ vhost: string; source: string; destination: string; destinationType: string; routingKey: string; arguments: object }[]>(broker, '/api/bindings');
  t.equal(bindings.status, 200);
  const mine = bindings.body.filter((b) => b.destination === q);
  t.same(mine.map((b) => [b.source, b.routingKey]).sort(), [['', q], [ex, 'a.#'], [ex, 'b.*']]);
  t.ok(mine.every((b) => b.vhost === '/' && b.destinationType === 'queue'));
});

t.test('connections and consumers list who is connected and subscribed', async (t) => {
  const broker = await startTestBroker(t);
  const a = await client(t, broker.url);
  await client(t, broker.url);
  const q = unique('http-cons');
  await a.assertQueue(q);
  const { consumerTag } = await a.consume(q, () => undefined, { prefetch: 7 });

  const conns = await api<{ id: string; vhost: string; user: string; client: string; peer: string }[]>(broker, '/api/connections');
  t.equal(conns.status, 200);
  t.equal(conns.body.length, 2, 'two connections, none of the HTTP API\'s own');
  for (const c of conns.body) {
    t.equal(c.vhost, '/');
    t.equal(c.user, 'guest', 'the built-in user');
    t.equal(c.client, 'http-test', 'the client name from the hello');
    t.match(c.peer, /127\.0\.0\.1|::1/);
  }
  t.not(conns.body[0]!.id, conns.body[1]!.id, 'distinct ids');

  const consumers = await api<Record<string, unknown>[]>(broker, '/api/consumers');
  t.equal(consumers.status, 200);
  t.equal(consumers.body.length, 1);
  t.match(consumers.body[0], { vhost: '/', queue: q, consumerTag, user: 'guest', prefetch: 7, ackRequired: true, exclusive: false, unacked: 0 });
  t.ok(conns.body.some((c) => c.id === consumers.body[0]!.connection), 'names its connection');
});

t.test('vhosts with their counts; users with tags and no password hash; each user sees only its vhosts', async (t) => {
  const users = [
    { user: 'root', password: 'r00t', tags: ['administrator' as const] },
    { user: 'eye', password: 'watch', tags: ['monitoring' as const], vhosts: ['team'] },
  ];
  const broker = await startTestBroker(t, { vhosts: ['/', 'team'], users });
  const root = basic('root', 'r00t');
  const eye = basic('eye', 'watch');
  const inTeam = await client(t, `${broker.url}/team`, { user: 'root', password: 'r00t' });
  await client(t, broker.url, { user: 'root', password: 'r00t' });
  const q = unique('team-q');
  await inTeam.assertQueue(q);
  await inTeam.sendToQueue(q, 'x');
  const slash = unique('slash-q');
  const c2 = await client(t, broker.url, { user: 'root', password: 'r00t' });
  await c2.assertQueue(slash);

  const vhosts = await api<{ name: string; queues: number; messages: number; connections: number }[]>(broker, '/api/vhosts', { auth: root });
  t.equal(vhosts.status, 200);
  t.match(vhosts.body, [{ name: '/', queues: 1, messages: 0, connections: 2 }, { name: 'team', queues: 1, messages: 1, ready: 1, connections: 1 }]);

  const list = await api<Record<string, unknown>[]>(broker, '/api/users', { auth: root });
  t.equal(list.status, 200);
  t.strictSame(list.body, [
    { name: 'root', tags: ['administrator'], vhosts: null, loopbackOnly: false },
    { name: 'eye', tags: ['monitoring'], vhosts: ['team'], loopbackOnly: false },
  ]);
  t.notMatch(JSON.stringify(list.body), /r00t|watch|hash|salt/, 'no password and no hash');

  t.equal((await api(broker, '/api/users', { auth: eye })).status, 403, 'users are for administrators, as in RabbitMQ');
  t.strictSame((await api<{ name: string }[]>(broker, '/api/vhosts', { auth: eye })).body.map((v) => v.name), ['team']);
  t.strictSame((await api<QueueJson[]>(broker, '/api/queues', { auth: eye })).body.map((x) => x.name), [q], 'only the queues of its vhost');
  t.ok((await api<{ vhost: string }[]>(broker, '/api/connections', { auth: eye })).body.every((c) => c.vhost === 'team'));
  t.ok((await api<{ vhost: string }[]>(broker, '/api/bindings', { auth: eye })).body.every((b) => b.vhost === 'team'));
  const other = await api<ErrorJson>(broker, queuePath(slash), { auth: eye });
  t.equal(other.status, 403, 'a queue of a vhost it may not use');
  t.equal(other.body.error.code, 'ERR_ACCESS_DENIED');
});

t.test('overview: totals, rates, version, uptime, connections, store', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await client(t, broker.url);
  const name = unique('http-ov');
  await conn.assertQueue(name);
  for (let i = 0; i < 5; i++) await conn.sendToQueue(name, 'x');
  const { status, body } = await api<{
    version: string; uptime: number; blocked: boolean; totals: { published: number; messages: number }; rates: { publish: number };
    messages: { ready: number }; queues: number; connections: number; store: { location: string; bytes: number };
  }>(broker, '/api/overview');
  t.equal(status, 200);
  t.match(body.version, /^\d+\.\d+\.\d+/);
  t.ok(body.uptime >= 0);
  t.equal(body.blocked, false);
  t.equal(body.totals.published, 5);
  t.equal(body.totals.messages, 5);
  t.ok(body.rates.publish > 0, 'a publish rate');
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
  const inA = await api<QueueJson[]>(a, '/api/queues');
  const inB = await api<QueueJson[]>(b, '/api/queues');
  t.ok(inA.body.some((q) => q.name === name));
  t.notOk(inB.body.some((q) => q.name === name));
});
