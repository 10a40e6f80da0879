// What the amqplib differential suite (test/amqp-diff/) found broker-server doing otherwise than
// RabbitMQ 3.10, pinned here without a RabbitMQ: x-death with RabbitMQ's field types and no
// x-last-death-*; a per-consumer basic.qos lifting the channel's limit; redeclare refusals in
// RabbitMQ's words (405 for a different exclusive flag, 406 "inequivalent arg" in its order).
import t from 'tap';
import type { ConsumeMessage } from 'amqplib';
import { sleep, until } from '../helpers/wait.js';
import { channel, closedWith, confirmChannel, open, startAmqpBroker, unique } from './amqp-helpers.js';

t.test('a dead-lettered copy carries x-death as RabbitMQ types it: time a timestamp, original-expiration a string', async (t) => {
  const broker = await startAmqpBroker(t);
  const ch = await confirmChannel(await open(t, broker.amqpUrl));
  const [src, dead] = [unique('src'), unique('dead')];
  await ch.assertQueue(dead);
  await ch.assertQueue(src, { deadLetterExchange: '', deadLetterRoutingKey: dead });
  ch.sendToQueue(src, Buffer.from('x'), { expiration: '20' });
  await ch.waitForConfirms();
  let got: ConsumeMessage | undefined;
  await ch.consume(dead, (m) => { if (m !== null) got = m; }, { noAck: true });
  await until(() => got !== undefined, 5_000, 'the dead-lettered copy');
  const headers = got!.properties.headers!;
  const [death] = headers['x-death'] as unknown as Record<string, unknown>[];
  t.same(Object.keys(death!), ['count', 'reason', 'queue', 'time', 'exchange', 'routing-keys', 'original-expiration'], "RabbitMQ's field order");
  t.match(death, { count: 1, reason: 'expired', queue: src, exchange: '', 'routing-keys': [src], 'original-expiration': '20' });
  t.match(death!['time'], { '!': 'timestamp', value: Number }, 'time is a timestamp (T), as amqplib decodes one');
  t.same(Object.keys(headers).filter((k) => k.startsWith('x-')).sort(), ['x-death', 'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason'], 'no x-last-death-* (RabbitMQ 3.10)');
  t.equal(got!.properties.expiration, undefined, 'the expiration is not kept on the copy');
});

t.test('a per-consumer basic.qos lifts the channel-wide limit, as RabbitMQ does', async (t) => {
  const broker = await startAmqpBroker(t);
  const ch = await channel(await open(t, broker.amqpUrl));
  const q = unique('pf');
  await ch.assertQueue(q);
  for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
  await ch.prefetch(2, true);
  await ch.prefetch(5);
  const held: ConsumeMessage[] = [];
  await ch.consume(q, (m) => { if (m !== null) held.push(m); });
  await until(() => held.length >= 5, 5_000, 'the consumer\'s own prefetch of 5');
  await sleep(100);
  t.equal(held.length, 5, 'the channel limit of 2 no longer applies; the consumer\'s 5 does');
});

t.test('redeclares are refused in RabbitMQ\'s words and order', async (t) => {
  const broker = await startAmqpBroker(t);
  const conn = await open(t, broker.amqpUrl);
  const setup = await channel(conn);
  const [q, plain, ex] = [unique('args'), unique('plain'), unique('ex')];
  await setup.assertQueue(q, { durable: true, arguments: { 'x-message-ttl': 1000, 'x-max-priority': 3 } });
  await setup.assertQueue(plain);
  await setup.assertExchange(ex, 'direct', { durable: true });
  const cases: [string, (ch: Awaited<ReturnType<typeof channel>>) => Promise<unknown>, number, string][] = [
    ['another ttl', (ch) => ch.assertQueue(q, { durable: true, arguments: { 'x-message-ttl': 2000, 'x-max-priority': 3 } }), 406,
      `PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '${q}' in vhost '/': received '2000' but current is '1000'`],
    ['durable, before the arguments', (ch) => ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 2000 } }), 406,
      `PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${q}' in vhost '/': received 'false' but current is 'true'`],
    ['an argument left out', (ch) => ch.assertQueue(q, { durable: true, arguments: { 'x-message-ttl': 1000 } }), 406,
      `PRECONDITION_FAILED - inequivalent arg 'x-max-priority' for queue '${q}' in vhost '/': received none but current is the value '3'`],
    ['an argument added', (ch) => ch.assertQueue(plain, { deadLetterExchange: 'dlx' }), 406,
      `PRECONDITION_FAILED - inequivalent arg 'x-dead-letter-exchange' for queue '${plain}' in vhost '/': received the value 'dlx' but current is none`],
    ['exclusive asked of a queue that is not', (ch) => ch.assertQueue(plain, { exclusive: true }), 405,
      `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${plain}' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`],
    ['an exchange of another type', (ch) => ch.assertExchange(ex, 'topic', { durable: true }), 406,
      `PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${ex}' in vhost '/': received 'topic' but current is 'direct'`],
    ['an exchange with another auto-delete', (ch) => ch.assertExchange(ex, 'direct', { durable: true, autoDelete: true }), 406,
      `PRECONDITION_FAILED - inequivalent arg 'auto_delete' for exchange '${ex}' in vhost '/': received 'true' but current is 'false'`],
  ];
  for (const [what, act, code, text] of cases) {
    const ch = await channel(conn);
    const closed = closedWith(ch);
    await act(ch).catch(() => undefined);
    const err = await closed;
    t.equal(err.code, code, `${what}: code`);
    t.equal(/with message "(.*)"$/s.exec(err.message)?.[1], text, `${what}: text`);
  }
});
