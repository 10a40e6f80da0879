// The API's actions through real HTTP, as an administrator: delete (if-empty / if-unused), purge,
// publish (RabbitMQ's body: properties, payload encodings, routed) and get (each ack mode, encodings,
// truncate), checked against what a real client then sees, and across a restart on a data file.
import t, { type Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Connection, type Message } from '../../client/index.js';
import { startBroker, type Broker } from '../../server/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { api, queuePath, type ErrorJson } from '../helpers/http.js';
import { until } from '../helpers/wait.js';

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

interface GotJson {
  payload: string; payload_encoding: string; payload_bytes: number; redelivered: boolean; delivery_count: number;
  exchange: string; routing_key: string; message_count: number; properties: Record<string, unknown>;
}

async function client(t: Test, broker: Broker): Promise<Connection> {
  const conn = await connect(broker.url, { reconnect: false });
  conn.on('error', () => undefined);
  t.teardown(() => conn.close());
  return conn;
}

async function queueStats(broker: Broker, name: string): Promise<{ status: number; messages: number; ready: number; unacked: number; consumers: number }> {
  const res = await api<{ messages: number; ready: number; unacked: number; consumers: number }>(broker, queuePath(name));
  return { status: res.status, ...res.body };
}

async function publish(broker: Broker, exchange: string, body: Record<string, unknown>): Promise<{ status: number; body: { routed: boolean } & Partial<ErrorJson> }> {
  const res = await api<{ routed: boolean } & Partial<ErrorJson>>(broker, `/api/exchanges/%2F/${encodeURIComponent(exchange)}/publish`, { method: 'POST', json: { properties: {}, ...body } });
  return { status: res.status, body: res.body };
}

function get(broker: Broker, name: string, body: Record<string, unknown>): Promise<{ status: number; body: GotJson[] & Partial<ErrorJson> }> {
  return api(broker, `${queuePath(name)}/get`, { method: 'POST', json: body });
}

t.test('delete: 204 and the queue is gone (its consumer cancelled); if-empty and if-unused refuse with 412', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await client(t, broker);
  const name = unique('del');
  await conn.assertQueue(name, { durable: true });
  await conn.sendToQueue(name, 'x', { persistent: true });
  const cancelled = new Promise<void>((resolve) => conn.once('cancel', () => resolve()));
  await conn.consume(name, () => undefined);

  const notEmpty = await api<ErrorJson>(broker, `${queuePath(name)}?if-empty=true`, { method: 'DELETE' });
  t.equal(notEmpty.status, 412);
  t.equal(notEmpty.body.error.code, 'ERR_PRECONDITION_FAILED');
  const used = await api<ErrorJson>(broker, `${queuePath(name)}?if-unused=true`, { method: 'DELETE' });
  t.equal(used.status, 412);
  t.match(used.body.error.message, /has consumers/);
  t.equal((await queueStats(broker, name)).status, 200, 'still there');

  const res = await api(broker, queuePath(name), { method: 'DELETE' });
  t.equal(res.status, 204);
  t.equal(res.body, '', 'no body');
  t.equal((await queueStats(broker, name)).status, 404, 'gone');
  await cancelled;
  t.pass('its consumer was told');
  t.equal((await api(broker, queuePath(name), { method: 'DELETE' })).status, 404, 'deleting it again: 404, as RabbitMQ');
});

t.test('purge: ready messages go, unacked ones stay; a consumer sees only what came later', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await client(t, broker);
  const name = unique('purge');
  await conn.assertQueue(name);
  for (let i = 0; i < 5; i++) await conn.sendToQueue(name, `old${i}`);
  const first = await conn.get(name);
  t.ok(first, 'one taken and held unacked');
  const res = await api(broker, `${queuePath(name)}/contents`, { method: 'DELETE' });
  t.equal(res.status, 204);
  t.match(await queueStats(broker, name), { messages: 1, ready: 0, unacked: 1 });
  await conn.sendToQueue(name, 'new');
  const next = await conn.get(name);
  t.equal(next && next.body.toString(), 'new');
});

t.test('publish: RabbitMQ\'s body, string and base64 payloads, properties through to the consumer; routed false when nothing is bound', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await client(t, broker);
  const ex = unique('pub-ex');
  const q = unique('pub-q');
  await conn.assertExchange(ex, 'topic');
  await conn.assertQueue(q);
  await conn.bindQueue(q, ex, 'orders.*');
  const got: Message[] = [];
  await conn.consume(q, (m) => { got.push(m); m.ack(); });

  const a = await publish(broker, ex, {
    routing_key: 'orders.new', payload: 'héllo', payload_encoding: 'string',
    properties: { content_type: 'text/plain', headers: { 'x-tenant': 'acme' }, correlation_id: 'c-1', message_id: 'm-1', priority: 3, delivery_mode: 1, expiration: '60000', app_id: 'curl' },
  });
  t.strictSame(a, { status: 200, body: { routed: true } });
  const bytes = Buffer.from([0, 1, 2, 254, 255]);
  const b = await publish(broker, ex, { routing_key: 'orders.raw', payload: bytes.toString('base64'), payload_encoding: 'base64' });
  t.strictSame(b.body, { routed: true });
  await until(() => got.length === 2, 10_000, 'both delivered');
  t.equal(got[0]!.body.toString(), 'héllo');
  t.match(got[0]!.fields, { exchange: ex, routingKey: 'orders.new' });
  t.match(got[0]!.properties, { contentType: 'text/plain', headers: { 'x-tenant': 'acme' }, correlationId: 'c-1', messageId: 'm-1', priority: 3, expiration: 60000, appId: 'curl' });
  t.ok(Buffer.from(got[1]!.body).equals(bytes), 'the base64 bytes, exactly');

  const nowhere = await publish(broker, ex, { routing_key: 'invoices.new', payload: 'x', payload_encoding: 'string' });
  t.strictSame(nowhere, { status: 200, body: { routed: false } });
  const viaDefault = await publish(broker, 'amq.default', { routing_key: q, payload: 'direct', payload_encoding: 'string' });
  t.strictSame(viaDefault.body, { routed: true }, 'amq.default is the default exchange, as in RabbitMQ');
  await until(() => got.length === 3, 10_000, 'the default exchange delivered');
  t.equal(got[2]!.body.toString(), 'direct');

  const missing = await publish(broker, unique('no-ex'), { routing_key: 'k', payload: 'x', payload_encoding: 'string' });
  t.equal(missing.status, 404);
  t.equal(missing.body.error?.code, 'ERR_NOT_FOUND');
  const badB64 = await publish(broker, ex, { routing_key: 'orders.x', payload: 'not base64!', payload_encoding: 'base64' });
  t.equal(badB64.status, 400);
  t.equal(badB64.body.error?.code, 'ERR_INVALID_ARGUMENT');
  const typo = await publish(broker, ex, { routing_key: 'orders.x', payload: 'x', payload_encoding: 'string', properties: { delivery_mod: 2 } });
  t.equal(typo.status, 400, 'an unknown property is refused, not dropped');
  const noKey = await api<ErrorJson>(broker, `/api/exchanges/%2F/${ex}/publish`, { method: 'POST', json: { payload: 'x', payload_encoding: 'string' } });
  t.equal(noKey.status, 400);
  t.equal(noKey.body.error.code, 'ERR_INVALID_ARGUMENT');
  t.match(noKey.body.error.message, /routing_key/);
  t.equal(got.length, 3, 'none of the refused ones was delivered');
});

t.test('publish: a body over maxBodySize is refused with 413', async (t) => {
  const broker = await startTestBroker(t, { limits: { maxBodySize: 1024 } });
  const conn = await client(t, broker);
  const q = unique('big');
  await conn.assertQueue(q);
  const res = await publish(broker, 'amq.default', { routing_key: q, payload: 'x'.repeat(1025), payload_encoding: 'string' });
  t.equal(res.status, 413);
  t.equal(res.body.error?.code, 'ERR_MESSAGE_TOO_LARGE');
  t.equal((await queueStats(broker, q)).messages, 0);
});

t.test('get: ack_requeue_false takes messages for good; ack_requeue_true and reject_requeue_true put them back in order, redelivered', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await client(t, broker);
  const q = unique('get');
  await conn.assertQueue(q);
  for (const body of ['a', 'b', 'c', 'd']) await conn.publish('', q, Buffer.from(body), { headers: { n: body }, contentType: 'text/plain' });

  const peek = await get(broker, q, { count: 2, ackmode: 'ack_requeue_true', encoding: 'auto' });
  t.equal(peek.status, 200);
  t.strictSame(peek.body.map((m) => m.payload), ['a', 'b'], 'two different messages');
  t.match(peek.body[0], {
    payload_encoding: 'string', payload_bytes: 1, redelivered: false, delivery_count: 1, exchange: '', routing_key: q,
    properties: { content_type: 'text/plain', headers: { n: 'a' } },
  });
  t.equal(peek.body[1]!.message_count, 2, 'ready messages left after the second was taken');
  t.match(await queueStats(broker, q), { messages: 4, ready: 4, unacked: 0 }, 'both back');

  const again = await get(broker, q, { count: 1, ackmode: 'reject_requeue_true', encoding: 'auto' });
  t.match(again.body, [{ payload: 'a', redelivered: true, delivery_count: 2 }], 'the head again, flagged redelivered');

  const take = await get(broker, q, { count: 10, ackmode: 'ack_requeue_false', encoding: 'auto' });
  t.strictSame(take.body.map((m) => m.payload), ['a', 'b', 'c', 'd'], 'every one, in order, fewer than asked');
  t.match(await queueStats(broker, q), { messages: 0 });
  t.strictSame((await get(broker, q, { ackmode: 'ack_requeue_false' })).body, [], 'an empty queue: an empty list');
});

t.test('get: binary bodies come back as base64; encoding base64 and truncate', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await client(t, broker);
  const q = unique('get-enc');
  await conn.assertQueue(q);
  const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
  await conn.publish('', q, bytes);
  await conn.publish('', q, Buffer.from('hello world'));
  const [bin, text] = (await get(broker, q, { count: 2, ackmode: 'ack_requeue_true', encoding: 'auto' })).body;
  t.match(bin, { payload: bytes.toString('base64'), payload_encoding: 'base64', payload_bytes: 4 }, 'not UTF-8: base64');
  t.match(text, { payload: 'hello world', payload_encoding: 'string' });
  const b64 = (await get(broker, q, { count: 2, ackmode: 'ack_requeue_true', encoding: 'base64', truncate: 5 })).body;
  t.match(b64[1], { payload: Buffer.from('hello').toString('base64'), payload_encoding: 'base64', payload_bytes: 11 }, 'cut to 5 bytes; payload_bytes is the whole');
  const bad = await api<ErrorJson>(broker, `${queuePath(q)}/get`, { method: 'POST', json: { ackmode: 'ack_maybe' } });
  t.equal(bad.status, 400);
  t.equal(bad.body.error.code, 'ERR_INVALID_ARGUMENT');
  t.match(await queueStats(broker, q), { messages: 2, ready: 2 });
});

t.test('actions on a data file outlast a restart: a persistent publish (delivery_mode 2), a purge, a delete, a get', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-http-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dataFile = join(dir, 'broker.db');
  const open = (): Promise<Broker> => startBroker({ port: 0, host: '127.0.0.1', dataFile });
  const [kept, purged, deleted, taken] = ['kept', 'purged', 'deleted', 'taken'].map(unique) as [string, string, string, string];

  const first = await open();
  try {
    const conn = await connect(first.url, { reconnect: false });
    for (const q of [kept, purged, deleted, taken]) await conn.assertQueue(q, { durable: true });
    for (let i = 0; i < 3; i++) {
      await conn.sendToQueue(purged, `p${i}`, { persistent: true });
      await conn.sendToQueue(taken, `t${i}`, { persistent: true });
    }
    await conn.close();
    t.strictSame((await publish(first, 'amq.default', { routing_key: kept, payload: 'durable', payload_encoding: 'string', properties: { delivery_mode: 2 } })).body, { routed: true });
    t.strictSame((await publish(first, 'amq.default', { routing_key: kept, payload: 'transient', payload_encoding: 'string' })).body, { routed: true });
    t.equal((await api(first, `${queuePath(purged)}/contents`, { method: 'DELETE' })).status, 204);
    t.equal((await api(first, queuePath(deleted), { method: 'DELETE' })).status, 204);
    t.equal((await get(first, taken, { count: 2, ackmode: 'ack_requeue_false' })).body.length, 2);
  } finally {
    await first.close();
  }

  const second = await open();
  t.teardown(() => second.close());
  t.match(await queueStats(second, kept), { status: 200, messages: 1 }, 'the persistent publish, not the transient one');
  t.match(await queueStats(second, purged), { status: 200, messages: 0 });
  t.equal((await queueStats(second, deleted)).status, 404);
  t.match(await queueStats(second, taken), { status: 200, messages: 1 });
  const left = await get(second, taken, { ackmode: 'ack_requeue_false' });
  t.equal(left.body[0]?.payload, 't2');
});
