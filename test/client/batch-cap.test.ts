// The client respects the broker's announced maxFramesPerMessage: a turn with more frames than
// that leaves as several messages in order, so the broker never closes the connection for it.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { connect } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';

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
