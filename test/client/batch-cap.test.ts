// The client respects the broker's announced maxFramesPerMessage: a turn with more frames than
// that leaves as several messages in order, so the broker never closes the connection for it.
// Nor does anything too large for a message or for the client's decoder drop the connection:
// that one publish, store or read fails alone.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { connect } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { untilAsync } from '../helpers/wait.js';

t.test('a turn of publishes beyond the announced cap goes out as several messages, all confirmed, no reconnect', async (t) => {
  const cap = 16;
  const broker = await startTestBroker(t, { limits: { maxFramesPerMessage: cap } });
  const conn = await connect(broker.url);
  t.teardown(() => conn.close());
  const reconnects: unknown[] = [];
  conn.on('reconnecting', (info) => reconnects.push(info));
  const queue = `cap-${randomUUID().slice(0, 8)}`;
  await conn.assertQueue(queue, { durable: true });
  const count = 10 * cap + 3;
  // All in one turn of the event loop: one batch of `count` publishes for the client's outbox.
  await Promise.all(Array.from({ length: count }, (_, i) => conn.sendToQueue(queue, Buffer.from(String(i)), { persistent: true })));
  t.same(reconnects, [], 'the connection was never dropped');
  const got: string[] = [];
  for (let m = await conn.get(queue, { noAck: true }); m !== null; m = await conn.get(queue, { noAck: true })) got.push(Buffer.from(m.body).toString());
  t.same(got, Array.from({ length: count }, (_, i) => String(i)), 'every message taken, in order');
});

t.test('a frame larger than the announced maxMessageSize is refused before it is sent: its turn-mates go, the socket stays', async (t) => {
  const maxMessageSize = 64 * 1024;
  const broker = await startTestBroker(t, { limits: { maxMessageSize, maxPreAuthSize: 4_096, maxBodySize: 32 * 1024 } });
  const conn = await connect(broker.url);
  t.teardown(() => conn.close());
  const reconnects: unknown[] = [];
  conn.on('reconnecting', (info) => reconnects.push(info));
  const queue = `cap-big-${randomUUID().slice(0, 8)}`;
  await conn.assertQueue(queue, { durable: true });
  // One turn: small, too large for any message, small. The batch is split; the middle one is not sent.
  const results = await Promise.allSettled([
    conn.sendToQueue(queue, Buffer.from('before'), { persistent: true }),
    conn.sendToQueue(queue, Buffer.alloc(maxMessageSize + 10, 1), { persistent: true }),
    conn.sendToQueue(queue, Buffer.from('after'), { persistent: true }),
  ]);
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'], 'only the oversized publish fails');
  const err = (results[1] as PromiseRejectedResult).reason as { code?: string; message?: string; details?: Record<string, unknown> };
  t.equal(err.code, 'ERR_MESSAGE_TOO_LARGE', 'a request-scope error, as the broker gives for a body over maxBodySize');
  t.match(err.message, /larger than the broker's maxMessageSize 65536; not sent/);
  t.match(err.details, { maxMessageSize });
  // Within maxMessageSize but over maxBodySize: sent, and the broker refuses it without closing.
  const overBody = await conn.sendToQueue(queue, Buffer.alloc(40 * 1024, 2), { persistent: true }).catch((e: unknown) => e);
  t.equal((overBody as { code?: string }).code, 'ERR_MESSAGE_TOO_LARGE', 'a body over maxBodySize is the broker\'s refusal');
  t.same(reconnects, [], 'the connection was never dropped (no resend loop)');
  const got: string[] = [];
  for (let m = await conn.get(queue, { noAck: true }); m !== null; m = await conn.get(queue, { noAck: true })) got.push(Buffer.from(m.body).toString());
  t.same(got, ['before', 'after'], 'the turn-mates were delivered in order; nothing else was queued');
  // A request is refused the same way (a result to store, here).
  const stored = await conn.storeResult(`big-${randomUUID()}`, 'SUCCESS', Buffer.alloc(maxMessageSize, 3)).catch((e: unknown) => e);
  t.equal((stored as { code?: string }).code, 'ERR_MESSAGE_TOO_LARGE', 'an oversized request fails alone');
  t.same(reconnects, [], 'still the same socket');
});

t.test('after the limits were lowered: larger stored results and messages are still read, one no client could decode is refused alone', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'celeriac-big-result-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dataFile = path.join(dir, 'broker.db');
  const big = `big-${randomUUID()}`;
  const small = `small-${randomUUID()}`;
  const queue = `big-msg-${randomUUID().slice(0, 8)}`;
  const first = await startTestBroker(t, { dataFile });
  const writer = await connect(first.url);
  await writer.storeResult(big, 'SUCCESS', Buffer.alloc(1_500_000, 7));
  await writer.storeResult(small, 'SUCCESS', Buffer.from('ok'));
  const group = `group-${randomUUID()}`;
  await writer.declareGroup(group, [small, big]);
  await writer.assertQueue(queue, { durable: true });
  await writer.sendToQueue(queue, Buffer.alloc(1_500_000, 8), { persistent: true });
  await writer.close();
  await first.close();

  // maxBodySize lowered under what is stored: the client decodes bodies up to maxMessageSize.
  const second = await startTestBroker(t, { dataFile, limits: { maxBodySize: 1024 * 1024 } });
  const reader = await connect(second.url);
  const reconnects: unknown[] = [];
  reader.on('reconnecting', (info) => reconnects.push(info));
  t.equal((await reader.getResult(big))?.body?.byteLength, 1_500_000, 'the stored result is read whole');
  const delivered = await reader.get(queue, { noAck: true });
  t.equal(delivered?.body.byteLength, 1_500_000, 'the message queued before the limit was lowered is delivered whole');
  t.same(reconnects, [], 'the connection was never dropped');
  await reader.close();
  await second.close();

  // maxMessageSize lowered too: no client of this broker decodes the stored result.
  const broker = await startTestBroker(t, { dataFile, limits: { maxMessageSize: 1024 * 1024, maxBodySize: 512 * 1024 } });
  const conn = await connect(broker.url);
  t.teardown(() => conn.close());
  conn.on('reconnecting', (info) => reconnects.push(info));
  const got = await conn.getResult(big).catch((e: unknown) => e);
  t.match(got, { code: 'ERR_MESSAGE_TOO_LARGE', message: /stored result of task big-.* is 1500000 bytes, more than this broker's limits let a client read \(1048576\)/ }, 'a get fails alone');
  const waited = await conn.waitResult(big, 1_000).catch((e: unknown) => e);
  t.match(waited, { code: 'ERR_MESSAGE_TOO_LARGE' }, 'so does a wait');
  const members = await conn.getGroup(group).catch((e: unknown) => e);
  t.match(members, { code: 'ERR_MESSAGE_TOO_LARGE' }, 'and a read of a group it is a member of');
  t.equal(Buffer.from((await conn.getResult(small))!.body!).toString(), 'ok', 'other results read as before');
  t.same(reconnects, [], 'the connection was never dropped');
});

t.test('a queue get is not a result read: a message no client can decode stays queued, never taken and then refused', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'celeriac-big-get-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dataFile = path.join(dir, 'broker.db');
  const queue = `big-get-${randomUUID().slice(0, 8)}`;
  const first = await startTestBroker(t, { dataFile });
  const writer = await connect(first.url);
  await writer.assertQueue(queue, { durable: true });
  await writer.sendToQueue(queue, Buffer.alloc(1_500_000, 8), { persistent: true });
  await writer.close();
  await first.close();

  // Stored above what this broker's clients decode (the limits were lowered since).
  const broker = await startTestBroker(t, { dataFile, limits: { maxMessageSize: 1024 * 1024, maxBodySize: 512 * 1024 } });
  const conn = await connect(broker.url, { requestTimeout: 5_000 });
  t.teardown(() => conn.close());
  const got = await conn.get(queue, { noAck: false }).then((m) => m, (e: unknown) => e);
  t.notMatch(got, { message: /stored result/ }, 'the get is not refused as if it read a result');
  // The client could not decode it, so the message is back in the queue for everyone: it was
  // neither held unacked on a connection that never learned its tag, nor dropped.
  const other = await connect(broker.url);
  t.teardown(() => other.close());
  await untilAsync(async () => (await other.checkQueue(queue)).messageCount === 1, 10_000, 'the message to be ready in its queue');
  t.pass('the message is ready again');
});

t.test('a group read may carry more result bytes than the broker takes in one message: read whole, as a chord callback reads it', async (t) => {
  // The broker's maxMessageSize bounds what it reads; a reply is bounded by what the client takes.
  const broker = await startTestBroker(t, { limits: { maxMessageSize: 1024 * 1024, maxBodySize: 512 * 1024 } });
  const conn = await connect(broker.url);
  t.teardown(() => conn.close());
  const reconnects: unknown[] = [];
  conn.on('reconnecting', (info) => reconnects.push(info));
  const members = Array.from({ length: 5 }, () => `m-${randomUUID()}`);
  for (const m of members) await conn.storeResult(m, 'SUCCESS', Buffer.alloc(250_000, 7));
  const group = `group-${randomUUID()}`;
  await conn.declareGroup(group, members);
  const read = await conn.getGroup(group);
  t.same(read?.results.map((r) => r?.body?.byteLength), [250_000, 250_000, 250_000, 250_000, 250_000], 'all five members in one reply');
  t.same(reconnects, [], 'the connection was never dropped');
});

t.test('a turn of acks too many for one message is sent in parts: every delivery settled, the socket kept', async (t) => {
  const broker = await startTestBroker(t, { limits: { maxMessageSize: 4_096, maxPreAuthSize: 4_096, maxBodySize: 1_024 } });
  const queue = `cap-acks-${randomUUID().slice(0, 8)}`;
  const count = 3_000;
  const producer = await connect(broker.url);
  t.teardown(() => producer.close());
  await producer.assertQueue(queue, { durable: true });
  for (let i = 0; i < count; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, count - i) }, () => producer.sendToQueue(queue, Buffer.from('m'), { persistent: true })));
  }
  const consumer = await connect(broker.url);
  const reconnects: unknown[] = [];
  consumer.on('reconnecting', (info) => reconnects.push(info));
  const held: { ack(): void }[] = [];
  let release!: () => void;
  const all = new Promise<void>((resolve) => { release = resolve; });
  await consumer.consume(queue, (m) => {
    held.push(m);
    if (held.length === count) release();
  }, { prefetch: count });
  const timer = setTimeout(() => release(), 20_000);
  await all;
  clearTimeout(timer);
  t.equal(held.length, count, 'every message delivered');
  for (const m of held) m.ack(); // one turn: one ack frame of 3,000 tags, about 9 KB
  // A round trip after the acks: they were sent before it, in order.
  await consumer.checkQueue(queue);
  t.same(reconnects, [], 'the connection was never dropped');
  await consumer.close();
  t.equal(await producer.get(queue, { noAck: true }), null, 'nothing requeued when the consumer closed: every ack landed');
});
