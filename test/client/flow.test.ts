// Flow control seen from the client: when the broker says flow(false), publish() queues locally
// (nothing reaches the broker) and the promise stays pending; close() then fails it.
import t from 'tap';
import { connect } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { sleep, until } from '../helpers/wait.js';

t.test('blocked: publishes are held locally and fail with ERR_CONNECTION_CLOSED on close', async (t) => {
  // A high watermark of 1 byte: the first message the broker holds puts it over its limit.
  const broker = await startTestBroker(t, { memoryHighWatermark: 1 });
  const conn = await connect(broker.url, { requestTimeout: 500 });
  const observer = await connect(broker.url);
  t.teardown(() => observer.close());
  await conn.assertQueue('flow-q');
  const blocked = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no 'blocked' within 10 s")), 10_000);
    conn.once('blocked', (reason) => { clearTimeout(timer); resolve(reason); });
  });
  // The publish may race the first limit check; only what is published after 'blocked' is asserted.
  conn.sendToQueue('flow-q', 'early').catch(() => {});
  t.match(await blocked, /memory/);
  let settled = false;
  const held = conn.sendToQueue('flow-q', 'held').finally(() => { settled = true; });
  held.catch(() => {});
  await new Promise((r) => setTimeout(r, 200));
  t.notOk(settled, 'the publish stays pending while blocked');
  const { messageCount } = await observer.checkQueue('flow-q');
  t.ok(messageCount <= 1, 'the held publish did not reach the broker');
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
