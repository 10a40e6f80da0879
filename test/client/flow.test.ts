// Flow control seen from the client: when the broker says flow(false), publish() queues locally
// (nothing reaches the broker) and the promise stays pending; close() then fails it.
import t from 'tap';
import { connect } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';

t.test('blocked: publishes are held locally and fail with ERR_CONNECTION_CLOSED on close', async (t) => {
  // An RSS high watermark of 1 byte keeps this broker over its limit from its first check on.
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
