// One engine, two front-ends: a message published over AMQP is consumed over the WebSocket and the
// reverse, properties and headers intact; AMQP to AMQP, the property bytes (headers' type tags
// included) arrive exactly as published; a copy the engine changed (dead-lettered) is encoded afresh.
import t from 'tap';
import { connect, type Message } from '../../client/index.js';
import { FieldTable, type HeaderFrame } from '../../server/amqp/codec/index.js';
import { AmqpRawClient } from '../helpers/amqp-raw-client.js';
import { channel, confirmChannel, open, startAmqpBroker, take, unique } from './amqp-helpers.js';

t.test('AMQP publisher -> WebSocket consumer: body, properties and headers', async (t) => {
  const broker = await startAmqpBroker(t);
  const amqp = await open(t, broker.amqpUrl);
  const ch = await confirmChannel(amqp);
  const ws = await connect(broker.url);
  t.teardown(() => ws.close());
  const ex = unique('interop');
  await ch.assertExchange(ex, 'topic', { durable: true });
  const q = unique('to-ws');
  await ch.assertQueue(q, { durable: true });
  await ch.bindQueue(q, ex, 'task.#');
  const got = new Promise<Message>((resolve) => { void ws.consume(q, (m) => { m.ack(); resolve(m); }); });
  await new Promise<void>((resolve, reject) => ch.publish(ex, 'task.add', Buffer.from('{"args":[2,3]}'), {
    contentType: 'application/json', contentEncoding: 'utf-8', persistent: true, priority: 3, correlationId: 'c-1', replyTo: 'replies',
    expiration: '60000', messageId: 'm-1', timestamp: 1_700_000_000, type: 'task', appId: 'app', userId: 'guest',
    headers: { task: 'tasks.add', id: 'c-1', retries: 0, eta: null, nested: { a: [1, 'two', true] }, ratio: 0.5, big: 2 ** 40 },
  }, (err) => (err ? reject(err) : resolve())));
  const m = await got;
  t.equal(m.body.toString(), '{"args":[2,3]}');
  t.match(m.fields, { exchange: ex, routingKey: 'task.add', redelivered: false });
  t.match(m.properties, {
    contentType: 'application/json', contentEncoding: 'utf-8', persistent: true, priority: 3, correlationId: 'c-1', replyTo: 'replies',
    expiration: 60000, messageId: 'm-1', timestamp: 1_700_000_000_000, type: 'task', appId: 'app', userId: 'guest',
  });
  t.same(m.properties.headers, { task: 'tasks.add', id: 'c-1', retries: 0, eta: null, nested: { a: [1, 'two', true] }, ratio: 0.5, big: 2 ** 40 });
});

t.test('WebSocket publisher -> AMQP consumer: body, properties and headers', async (t) => {
  const broker = await startAmqpBroker(t);
  const amqp = await open(t, broker.amqpUrl);
  const ch = await channel(amqp);
  const ws = await connect(broker.url);
  t.teardown(() => ws.close());
  const q = unique('to-amqp');
  await ch.assertQueue(q, { durable: true });
  await ws.publish('', q, Buffer.from('from ws'), {
    persistent: true, contentType: 'text/plain', priority: 1, correlationId: 'c-2', replyTo: 'r', expiration: 30_000, messageId: 'm-2',
    timestamp: 1_700_000_000_123, type: 't', appId: 'ws-app', headers: { s: 'str', n: 7, f: 1.25, b: false, list: ['x', 2], obj: { k: 'v' }, none: null },
  });
  const { messages } = await take(ch, q, 1);
  const m = messages[0]!;
  t.equal(m.content.toString(), 'from ws');
  t.match(m.properties, {
    contentType: 'text/plain', deliveryMode: 2, priority: 1, correlationId: 'c-2', replyTo: 'r', expiration: '30000', messageId: 'm-2',
    timestamp: 1_700_000_000, type: 't', appId: 'ws-app',
  });
  t.same(m.properties.headers, { s: 'str', n: 7, f: 1.25, b: false, list: ['x', 2], obj: { k: 'v' }, none: null });
});

t.test('AMQP -> AMQP: property bytes arrive as published, every header type tag kept; a dead-lettered copy is re-encoded', async (t) => {
  const broker = await startAmqpBroker(t);
  const pub = await AmqpRawClient.connect(broker.amqpPort!);
  await pub.openChannel(1);
  const q = unique('exact');
  pub.method(1, { name: 'queue.declare', queue: q, durable: true });
  await pub.expect('queue.declare-ok', 1);
  // Tags amqplib and plain JavaScript values cannot tell apart: int8, uint16, float32, decimal, timestamp, int16 'U', int64 'L'.
  const headers = FieldTable.fromEntries([
    ['b', { type: 'b', value: -5 }], ['u', { type: 'u', value: 65000 }], ['f', { type: 'f', value: 1.5 }], ['D', { type: 'D', scale: 2, value: 12345 }],
    ['T', { type: 'T', value: 1_700_000_000 }], ['U', { type: 'U', value: -2 }], ['L', { type: 'L', value: 9_007_199_254_740_993n }], ['S', { type: 'S', value: Buffer.from([0xff, 0xfe]) }],
  ]);
  pub.content(1, { name: 'basic.publish', exchange: '', routingKey: q, mandatory: false, immediate: false }, { headers, deliveryMode: 2, clusterId: 'kept-too' }, Buffer.from('exact'));
  const sub = await AmqpRawClient.connect(broker.amqpPort!);
  await sub.openChannel(1);
  sub.method(1, { name: 'basic.consume', queue: q, consumerTag: 'c', noAck: true });
  await sub.expect('basic.deliver', 1);
  const header = await sub.next((f) => f.type === 'header') as HeaderFrame;
  t.same(header.properties.headers?.raw, headers.raw, 'the headers table byte for byte');
  t.equal(header.properties.clusterId, 'kept-too', 'a property the engine has no field for');
  t.equal(header.properties.deliveryMode, 2);

  // Dead-lettered: the engine adds x-death, so the copy's properties are encoded from what it holds.
  const dlq = unique('dlq');
  const src = unique('src');
  for (const [name, args] of [[dlq, {}], [src, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq }]] as const) {
    pub.method(1, { name: 'queue.declare', queue: name, arguments: FieldTable.fromObject(args) });
    await pub.expect('queue.declare-ok', 1);
  }
  pub.content(1, { name: 'basic.publish', exchange: '', routingKey: src, mandatory: false, immediate: false }, { headers: FieldTable.fromObject({ keep: 'me' }), expiration: '0' }, Buffer.from('dies'));
  sub.method(1, { name: 'basic.consume', queue: dlq, consumerTag: 'd', noAck: true });
  const deliver = await sub.expect('basic.deliver', 1);
  t.equal(deliver.routingKey, dlq);
  const dead = await sub.next((f) => f.type === 'header') as HeaderFrame;
  const h = dead.properties.headers!.toObject();
  t.equal(h.keep, 'me');
  t.match(h['x-death'], [{ queue: src, reason: 'expired', count: 1, exchange: '', 'routing-keys': [src] }]);
  t.equal(dead.properties.expiration, undefined, 'the expiration is not carried over');
  pub.destroy();
  sub.destroy();
});
