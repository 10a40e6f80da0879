// Flow control seen from the client: when the broker says flow(false), publish() queues locally
// (nothing reaches the broker) and the promise stays pending; close() then fails it.
//
// The broker is made to cross its limit only after the listener is in place. 'blocked' is an edge:
// a connection that opens on an already-blocked broker gets its flow frame with the welcome and emits
// 'blocked' inside connect(), before a caller can listen (it reads `conn.blocked`). An RSS watermark of 1 byte trips at the
// first limit check (1 s after start), which a loaded machine can pass before connect() returns, so
// this test trips the store watermark on purpose, by filling the store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { connect } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { sleep, until } from '../helpers/wait.js';

t.test('blocked: publishes are held locally and fail with ERR_CONNECTION_CLOSED on close', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-flow-'));
  const broker = await startTestBroker(t, { dataFile: join(dir, 'flow.db'), storeHighWatermark: 1024 * 1024 });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const conn = await connect(broker.url, { requestTimeout: 2_000 });
  const observer = await connect(broker.url);
  const producer = await connect(broker.url, { requestTimeout: 2_000 }); // its close() waits that long for held publishes
  t.teardown(() => Promise.all([conn.close(), observer.close(), producer.close()]));
  const queue = `flow-${randomUUID().slice(0, 8)}`;
  const filler = `${queue}-filler`;
  await conn.assertQueue(queue);
  await producer.assertQueue(filler, { durable: true });
  const blocked = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no 'blocked' within 20 s")), 20_000);
    conn.once('blocked', (reason) => { clearTimeout(timer); resolve(reason); });
  });
  // 2 MiB of persistent messages on a durable queue take the data file past its 1 MiB watermark.
  // They go through another connection: the broker stops reading a connection that publishes while
  // blocked, and `conn` must stay readable for the round trip below. Not awaited: the block may
  // come before the last of them are sent; those are then held (and failed by close()).
  t.notOk(conn.blocked, 'not blocked before the store fills');
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < 32; i++) producer.sendToQueue(filler, chunk, { persistent: true }).catch(() => {});
  t.match(await blocked, /store/);
  t.ok(conn.blocked, 'blocked reads true once blocked');
  // A connection opened now gets the flow frame with its welcome, before anyone could listen.
  const late = await connect(broker.url, { requestTimeout: 2_000 });
  t.teardown(() => late.close());
  t.ok(late.blocked, 'a connection opened on a blocked broker knows at once');

  let settled = false;
  const held = conn.sendToQueue(queue, 'held').finally(() => { settled = true; });
  held.catch(() => {});
  // A request on the same socket is answered while blocked (only publishes are held): once it is,
  // anything written before it has reached the broker, and the queue shows the publish did not.
  t.equal((await conn.checkQueue(queue)).messageCount, 0, 'the held publish did not reach the broker');
  // negative check: past requestTimeout, a held publish is still pending (not timed while blocked).
  await new Promise((r) => setTimeout(r, 2_500));
  t.notOk(settled, 'the publish stays pending while blocked');
  t.equal((await observer.checkQueue(queue)).messageCount, 0, 'still nothing on the broker');
  await conn.close();
  await t.rejects(held, { code: 'ERR_CONNECTION_CLOSED' });
});

t.test('a drained broker unblocks its publishers at once, and what they held is delivered', async (t) => {
  // 64 KiB of messages and buffers held blocks; the low watermark (80%) unblocks. A 1 KiB message
  // counts ~1.3 KiB, so about fifty queued messages block. RSS never gets near these figures.
  const broker = await startTestBroker(t, { memoryHighWatermark: 64 * 1024 });
  const publisher = await connect(broker.url);
  const consumer = await connect(broker.url);
  t.teardown(() => consumer.close());
  t.teardown(() => publisher.close());
  const q = `drain-q-${process.pid}`;
  await publisher.assertQueue(q);
  const event = (name: 'blocked' | 'unblocked', ms: number): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${name}' within ${ms} ms`)), ms);
    publisher.once(name, () => { clearTimeout(timer); resolve(); });
  });
  const blocked = event('blocked', 10_000);
  let isBlocked = false;
  publisher.once('blocked', () => { isBlocked = true; });
  const body = Buffer.alloc(1024, 7);
  const sends: Promise<void>[] = [];
  // A few at a time, so the broker's verdict can land between them (publishes after it wait in the client).
  for (let i = 0; i < 5_000 && !isBlocked; i++) {
    sends.push(publisher.sendToQueue(q, body));
    if (i % 10 === 9) await sleep(2);
  }
  await blocked;
  // Consuming drains the queue; the publisher must be let go as the held bytes fall, not when RSS does.
  const unblocked = event('unblocked', 5_000);
  let got = 0;
  await consumer.consume(q, (m) => { got++; m.ack(); }, { prefetch: 10 });
  await unblocked;
  t.pass('unblocked once the queue drained');
  await Promise.all(sends);
  await until(() => got === sends.length, 10_000, `all ${sends.length} delivered`);
  t.equal(got, sends.length, 'the held publishes went through after the unblock');
});
