// The broker's limits on AMQP connections: flow control as connection.blocked / unblocked (a
// publishing connection is not read meanwhile), and the connection caps shared with the WebSocket port.
import t from 'tap';
import { until, untilAsync } from '../helpers/wait.js';
import { channel, confirmChannel, open, startAmqpBroker, unique } from './amqp-helpers.js';
import amqp from 'amqplib';

t.test('over the memory watermark: connection.blocked to clients that take it, publishers held, unblocked after', async (t) => {
  const broker = await startAmqpBroker(t, { memoryHighWatermark: 1024 * 1024, memoryLowWatermark: 256 * 1024 });
  const observer = await open(t, broker.amqpUrl);
  const producer = await open(t, broker.amqpUrl);
  const events: string[] = [];
  observer.on('blocked', (reason: string) => events.push(`blocked ${reason}`));
  observer.on('unblocked', () => events.push('unblocked'));
  const q = unique('fill');
  const och = await channel(observer);
  await och.assertQueue(q);
  const pch = await confirmChannel(producer);
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < 32; i++) pch.sendToQueue(q, chunk);
  await pch.waitForConfirms();
  await until(() => events.length > 0, 5_000, 'connection.blocked');
  t.match(events[0], /^blocked .*memory/);
  // The producer published, so it is not read while blocked: this publish waits for its confirm.
  let confirmed = false;
  pch.sendToQueue(q, Buffer.from('held'), {}, () => { confirmed = true; });
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(confirmed, 'a blocked publisher\'s publish is not taken');
  // The observer never published: it is still read, and its purge brings the broker under the low watermark.
  await och.purgeQueue(q);
  await until(() => events.includes('unblocked'), 5_000, 'connection.unblocked');
  await until(() => confirmed, 5_000, 'the held publish confirmed once unblocked');
  t.equal((await och.checkQueue(q)).messageCount, 1);
});

t.test('AMQP connections count against the connection caps; one over is closed, the broker goes on', async (t) => {
  const broker = await startAmqpBroker(t, { maxConnectionsPerAddress: 2 });
  await open(t, broker.amqpUrl);
  const second = await open(t, broker.amqpUrl);
  await t.rejects(amqp.connect(broker.amqpUrl), 'the third from the same address is refused');
  await second.close();
  // The broker counts the closed socket out once it sees it close: retried until then.
  let again: amqp.ChannelModel | undefined;
  await untilAsync(async () => {
    again = await amqp.connect(broker.amqpUrl).catch(() => undefined);
    return again !== undefined;
  }, 5_000, 'a freed place');
  t.teardown(() => again?.close().catch(() => undefined));
  t.ok(await again!.createChannel(), 'a place freed is taken again');
});
