// amqplib against broker-server's AMQP listener: declare, bind, publish, consume, ack; topic routing
// with # and *; publisher confirms; prefetch per consumer and per channel; get; purge;
// nack/requeue/redelivered; mandatory returns; server-named exclusive queues; consumer cancel notify.
import t from 'tap';
import { until } from '../helpers/wait.js';
import { channel, confirmChannel, open, startAmqpBroker, take, unique } from './amqp-helpers.js';

t.test('declare, bind, publish, consume and ack over a topic exchange with # and *', async (t) => {
  const broker = await startAmqpBroker(t);
  const conn = await open(t, broker.amqpUrl);
  const ch = await channel(conn);
  const ex = unique('topic');
  await ch.assertExchange(ex, 'topic', { durable: true });
  const patterns: Record<string, string> = { hash: 'a.#', star: 'a.*', mid: '*.b.*', all: '#', exact: 'a.b' };
  const queues: Record<string, string> = {};
  for (const [k, pattern] of Object.entries(patterns)) {
    queues[k] = (await ch.assertQueue(unique(k), { durable: true })).queue;
    await ch.bindQueue(queues[k]!, ex, pattern);
  }
  const keys = ['a', 'a.b', 'a.b.c', 'x.b.y', 'b'];
  for (const key of keys) ch.publish(ex, key, Buffer.from(key), { persistent: true });
  const expect: Record<string, string[]> = {
    hash: ['a', 'a.b', 'a.b.c'], star: ['a.b'], mid: ['a.b.c', 'x.b.y'], all: keys, exact: ['a.b'],
  };
  for (const [k, want] of Object.entries(expect)) {
    const { messages } = await take(ch, queues[k]!, want.length);
    t.same(messages.map((m) => m.content.toString()).sort(), [...want].sort(), `${k} (${patterns[k]})`);
    t.match(messages[0]!.fields, { exchange: ex, redelivered: false, deliveryTag: Number });
  }
  const declared = await ch.checkQueue(queues.all!);
  t.same([declared.messageCount, declared.consumerCount], [0, 1], 'all acked; one consumer');
});

t.test('publisher confirms: each publish acked, several at once with multiple; a durable one after its commit', async (t) => {
  const broker = await startAmqpBroker(t);
  const conn = await open(t, broker.amqpUrl);
  const ch = await confirmChannel(conn);
  const q = (await ch.assertQueue(unique('confirm'), { durable: true })).queue;
  const acks: { deliveryTag: number; multiple: boolean }[] = [];
  (ch as unknown as { on(ev: 'ack', fn: (f: { deliveryTag: number; multiple: boolean }) => void): void }).on('ack', (f) => acks.push(f));
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => new Promise<number>((resolve, reject) => {
    ch.publish('', q, Buffer.from(`m${i}`), { persistent: i % 2 === 0 }, (err) => (err ? reject(err) : resolve(i)));
  })));
  t.equal(results.length, 50, 'every publish confirmed');
  t.ok(acks.some((a) => a.multiple), 'publishes settled together are acked with multiple');
  t.equal(Math.max(...acks.map((a) => a.deliveryTag)), 50, 'the acks reach the last publish');
  t.equal((await ch.checkQueue(q)).messageCount, 50);
  await ch.waitForConfirms();
});

t.test('prefetch: per consumer (global false) and per channel (global true, as RabbitMQ reads it)', async (t) => {
  const broker = await startAmqpBroker(t);
  const conn = await open(t, broker.amqpUrl);
  const ch = await channel(conn);
  const [q1, q2] = [unique('pf1'), unique('pf2')];
  await ch.assertQueue(q1);
  await ch.assertQueue(q2);
  for (let i = 0; i < 10; i++) {
    ch.sendToQueue(q1, Buffer.from(`a${i}`));
    ch.sendToQueue(q2, Buffer.from(`b${i}`));
  }
  await ch.prefetch(2); // per consumer
  await ch.prefetch(3, true); // the whole channel
  const held: { tag: string; msg: import('amqplib').ConsumeMessage }[] = [];
  const c1 = await ch.consume(q1, (m) => { if (m !== null) held.push({ tag: 'one', msg: m }); });
  const c2 = await ch.consume(q2, (m) => { if (m !== null) held.push({ tag: 'two', msg: m }); });
  await until(() => held.length === 3);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(held.length, 3, 'the channel limit holds across both consumers');
  t.ok(held.filter((h) => h.tag === 'one').length <= 2 && held.filter((h) => h.tag === 'two').length <= 2, 'each consumer within its own 2');
  ch.ack(held[0]!.msg);
  await until(() => held.length === 4, 5_000, 'the freed channel slot used');
  // Lifting the channel limit leaves each consumer at its own prefetch of 2: 2 + 2 unacked, 5 delivered.
  await ch.prefetch(0, true);
  await until(() => held.length === 5, 5_000, 'deliveries up to the consumers\' own limits');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(held.length, 5, 'no more than each consumer\'s prefetch');
  ch.ackAll();
  await ch.cancel(c1.consumerTag);
  await ch.cancel(c2.consumerTag);
});

t.test('basic.get, get-empty, purge; nack and reject requeue with redelivered set, or drop', async (t) => {
  const broker = await startAmqpBroker(t);
  const conn = await open(t, broker.amqpUrl);
  const ch = await channel(conn);
  const q = (await ch.assertQueue(unique('get'))).queue;
  t.equal(await ch.get(q), false, 'get-empty');
  for (const body of ['one', 'two', 'three']) ch.sendToQueue(q, Buffer.from(body), { messageId: body });
  const first = await ch.get(q);
  if (first === false) throw new Error('expected a message');
  t.match(first.fields, { deliveryTag: 1, redelivered: false, exchange: '', routingKey: q, messageCount: 2 });
  t.equal(first.properties.messageId, 'one');
  ch.nack(first, false, true);
  const again = await ch.get(q);
  if (again === false) throw new Error('expected the requeued message');
  t.same([again.content.toString(), again.fields.redelivered, again.fields.deliveryTag], ['one', true, 2], 'requeued to the head, redelivered');
  ch.reject(again, false);
  const second = await ch.get(q, { noAck: true });
  t.equal(second !== false && second.content.toString(), 'two', 'the rejected one is gone');
  t.same(await ch.purgeQueue(q), { messageCount: 1 });
  t.equal(await ch.get(q), false);
  // nack multiple requeues every outstanding delivery up to the tag.
  for (const body of ['x', 'y', 'z']) ch.sendToQueue(q, Buffer.from(body));
  const { messages, consumerTag } = await take(ch, q, 3, {}, () => undefined);
  await ch.cancel(consumerTag);
  ch.nack(messages[2]!, true, true);
  const redelivered = await take(ch, q, 3);
  t.same(redelivered.messages.map((m) => [m.content.toString(), m.fields.redelivered]), [['x', true], ['y', true], ['z', true]]);
});

t.test('mandatory: an unroutable message comes back with basic.return before its confirm', async (t) => {
  const broker = await startAmqpBroker(t);
  const conn = await open(t, broker.amqpUrl);
  const ch = await confirmChannel(conn);
  const ex = unique('direct');
  await ch.assertExchange(ex, 'direct');
  const events: string[] = [];
  ch.on('return', (m: import('amqplib').Message) => events.push(`return ${m.fields.routingKey} ${(m.fields as unknown as { replyCode: number }).replyCode} ${m.content.toString()} ${String(m.properties.headers?.h)}`));
  await new Promise<void>((resolve, reject) => ch.publish(ex, 'nowhere', Buffer.from('lost'), { mandatory: true, headers: { h: 'kept' } }, (err) => {
    events.push('confirmed');
    if (err) reject(err); else resolve();
  }));
  t.same(events, ['return nowhere 312 lost kept', 'confirmed']);
  // Not mandatory: dropped quietly, still confirmed.
  await new Promise<void>((resolve, reject) => ch.publish(ex, 'nowhere', Buffer.from('dropped'), {}, (err) => {
    events.push('confirmed');
    if (err) reject(err); else resolve();
  }));
  t.same(events.slice(2), ['confirmed']);
});

t.test('a server-named exclusive queue: other connections are refused (405), it goes with its connection', async (t) => {
  const broker = await startAmqpBroker(t);
  const owner = await open(t, broker.amqpUrl);
  const ch = await channel(owner);
  const { queue } = await ch.assertQueue('', { exclusive: true });
  t.match(queue, /^amq\.gen-/);
  // Another channel of the same connection may use it.
  const ch2 = await channel(owner);
  ch2.sendToQueue(queue, Buffer.from('mine'));
  const got = await take(ch2, queue, 1);
  t.equal(got.messages[0]!.content.toString(), 'mine');
  const other = await open(t, broker.amqpUrl);
  const och = await channel(other);
  const closed = new Promise<Error & { code?: number }>((resolve) => och.once('error', resolve));
  await t.rejects(och.consume(queue, () => undefined));
  t.equal((await closed).code, 405, 'RESOURCE_LOCKED');
  await owner.close();
  const probe = await channel(other);
  await t.rejects(probe.checkQueue(queue), 'gone with its connection');
});

t.test('a consumer of a deleted queue gets basic.cancel (consumer_cancel_notify)', async (t) => {
  const broker = await startAmqpBroker(t);
  const conn = await open(t, broker.amqpUrl);
  const ch = await channel(conn);
  const q = (await ch.assertQueue(unique('gone'))).queue;
  let cancelled = false;
  await ch.consume(q, (m) => { if (m === null) cancelled = true; });
  const admin = await channel(conn);
  t.same(await admin.deleteQueue(q), { messageCount: 0 });
  await until(() => cancelled, 5_000, 'the consumer callback called with null');
  // The channel goes on.
  t.ok((await ch.assertQueue(unique('after'))).queue);
});

t.test('recover requeues the channel\'s unacked deliveries, redelivered', async (t) => {
  const broker = await startAmqpBroker(t);
  const conn = await open(t, broker.amqpUrl);
  const ch = await channel(conn);
  const q = (await ch.assertQueue(unique('recover'))).queue;
  ch.sendToQueue(q, Buffer.from('once'));
  const seen: [string, boolean][] = [];
  await ch.consume(q, (m) => { if (m !== null) seen.push([m.content.toString(), m.fields.redelivered]); });
  await until(() => seen.length === 1);
  await ch.recover();
  await until(() => seen.length === 2);
  t.same(seen, [['once', false], ['once', true]]);
});

t.test('a body larger than frame-max travels in several body frames both ways', async (t) => {
  const broker = await startAmqpBroker(t);
  const conn = await open(t, `${broker.amqpUrl}?frameMax=4096`);
  const ch = await channel(conn);
  const q = (await ch.assertQueue(unique('big'))).queue;
  const body = Buffer.alloc(300_000);
  for (let i = 0; i < body.length; i++) body[i] = i % 251;
  ch.sendToQueue(q, body);
  const { messages } = await take(ch, q, 1);
  t.ok(messages[0]!.content.equals(body), '300 kB in 4 kB frames, in and out');
});
