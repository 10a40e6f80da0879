// Soft and hard errors on the AMQP listener, with RabbitMQ's reply codes: a soft one closes its
// channel (404, 403, 405, 406) and the connection goes on; a hard one closes the connection (503,
// 504, 530, 540) naming the method; tx and other unimplemented methods answer 540, never nothing.
import t from 'tap';
import { AmqpRawClient } from '../helpers/amqp-raw-client.js';
import { channel, closedWith, open, startAmqpBroker, unique } from './amqp-helpers.js';

t.test('soft errors close the channel with 404, 406, 403, 405 and the right ids; the connection goes on', async (t) => {
  const broker = await startAmqpBroker(t);
  const conn = await open(t, broker.amqpUrl);
  const cases: [string, (ch: Awaited<ReturnType<typeof channel>>) => Promise<unknown>, number, number, number][] = [
    ['passive declare of a missing queue', (ch) => ch.checkQueue(unique('missing')), 404, 50, 10],
    ['passive declare of a missing exchange', (ch) => ch.checkExchange(unique('missing')), 404, 40, 10],
    ['publish to a missing exchange', async (ch) => { ch.publish(unique('nx'), 'k', Buffer.from('x')); return ch.assertQueue(''); }, 404, 60, 40],
    ['redeclare with other options', async (ch) => { const q = unique('q'); await ch.assertQueue(q, { durable: true }); return ch.assertQueue(q, { durable: false }); }, 406, 50, 10],
    ['an x-argument the broker does not have', (ch) => ch.assertQueue(unique('q'), { arguments: { 'x-queue-mode': 'lazy' } }), 406, 50, 10],
    ['ack of an unknown delivery tag', async (ch) => { ch.ack({ fields: { deliveryTag: 99 } } as never); return ch.assertQueue(''); }, 406, 60, 80],
    ['an expiration that is not a number', async (ch) => { ch.sendToQueue(unique('q'), Buffer.from('x'), { expiration: 'soon' }); return ch.assertQueue(''); }, 406, 60, 40],
    ['a user-id other than the connection\'s user', async (ch) => { ch.sendToQueue(unique('q'), Buffer.from('x'), { userId: 'mallory' }); return ch.assertQueue(''); }, 406, 60, 40],
    ['declaring an amq.* exchange', (ch) => ch.assertExchange('amq.mine', 'direct'), 403, 40, 10],
    ['binding to the default exchange', async (ch) => { const q = unique('q'); await ch.assertQueue(q); return ch.bindQueue(q, '', 'k'); }, 403, 50, 20],
  ];
  for (const [what, act, code, classId, methodId] of cases) {
    const ch = await channel(conn);
    const closed = closedWith(ch);
    await act(ch).catch(() => undefined);
    const err = await closed;
    t.same([err.code, err.classId, err.methodId], [code, classId, methodId], what);
  }
  const owner = await open(t, broker.amqpUrl);
  const q = (await (await channel(owner)).assertQueue('', { exclusive: true })).queue;
  const ch = await channel(conn);
  const closed = closedWith(ch);
  await ch.assertQueue(q, { exclusive: true }).catch(() => undefined);
  t.same((await closed).code, 405, 'an exclusive queue of another connection: 405 resource-locked');
  t.same(conn.errors, [], 'the connection is untouched');
  t.ok(await (await channel(conn)).assertQueue(''), 'and still serves channels');
});

t.test('hard errors close the connection: 540 for tx, immediate, prefetch size and recover without requeue', async (t) => {
  const broker = await startAmqpBroker(t);
  const cases: [string, (c: AmqpRawClient) => void, number, number, number, RegExp][] = [
    ['tx.select', (c) => c.method(1, { name: 'tx.select' }), 540, 90, 10, /NOT_IMPLEMENTED - tx.select is not implemented/],
    ['tx.commit', (c) => c.method(1, { name: 'tx.commit' }), 540, 90, 20, /NOT_IMPLEMENTED/],
    ['basic.qos with a prefetch size', (c) => c.method(1, { name: 'basic.qos', prefetchSize: 1024, prefetchCount: 1, global: false }), 540, 60, 10, /prefetch_size!=0/],
    ['basic.recover without requeue', (c) => c.method(1, { name: 'basic.recover', requeue: false }), 540, 60, 110, /requeue=false/],
    ['channel.flow active false', (c) => c.method(1, { name: 'channel.flow', active: false }), 540, 20, 20, /active=false/],
    ['a server\'s method (basic.deliver) from a client', (c) => c.content(1, { name: 'basic.deliver', consumerTag: 'x', deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'k' }, {}, Buffer.from('b')), 540, 60, 60, /NOT_IMPLEMENTED/],
    ['publish with immediate', (c) => c.content(1, { name: 'basic.publish', exchange: '', routingKey: 'k', mandatory: false, immediate: true }, {}, Buffer.from('b')), 540, 60, 40, /immediate=true/],
    ['an unknown exchange type', (c) => c.method(1, { name: 'exchange.declare', exchange: unique('x'), type: 'x-delayed-message' }), 503, 40, 10, /COMMAND_INVALID - invalid exchange type/],
    ['a second channel.open', (c) => c.method(1, { name: 'channel.open' }), 504, 20, 10, /CHANNEL_ERROR - second 'channel.open'/],
    ['a method on a channel never opened', (c) => c.method(7, { name: 'queue.declare', queue: '' }), 504, 50, 10, /CHANNEL_ERROR - expected 'channel.open' on channel 7/],
    ['a consumer tag in use on the channel', (c) => {
      c.method(1, { name: 'queue.declare', queue: 'ctag-q' });
      c.method(1, { name: 'basic.consume', queue: 'ctag-q', consumerTag: 'dup' });
      c.method(1, { name: 'basic.consume', queue: 'ctag-q', consumerTag: 'dup' });
    }, 530, 60, 20, /NOT_ALLOWED - attempt to reuse consumer tag 'dup'/],
    ['a body frame without a content method', (c) => c.send(Buffer.from([3, 0, 1, 0, 0, 0, 1, 0x61, 0xce])), 505, 0, 0, /UNEXPECTED_FRAME/],
    ['a connection method the client may not send', (c) => c.method(0, { name: 'connection.tune', channelMax: 0, frameMax: 0, heartbeat: 0 }), 503, 10, 30, /COMMAND_INVALID/],
  ];
  for (const [what, act, code, classId, methodId, text] of cases) {
    const c = await AmqpRawClient.connect(broker.amqpPort!);
    await c.openChannel(1);
    act(c);
    const close = await c.expect('connection.close', 0);
    t.same([close.replyCode, close.classId, close.methodId], [code, classId, methodId], what);
    t.match(close.replyText, text, `${what}: text`);
    c.method(0, { name: 'connection.close-ok' });
    await c.whenClosed();
  }
});

t.test('amqplib sees tx.select end its connection with 540, as RabbitMQ answers a method it does not implement', async (t) => {
  const broker = await startAmqpBroker(t);
  const conn = await open(t, broker.amqpUrl);
  const ch = await channel(conn);
  const closed = closedWith(conn);
  // amqplib has no tx API; its channel's rpc sends any method.
  const rpc = (ch as unknown as { rpc(method: number, fields: object, expect: number): Promise<unknown> });
  await t.rejects(rpc.rpc(0x005a000a, {}, 0x005a000b), 'tx.select gets no tx.select-ok');
  const err = await closed;
  t.match(err.message, /540 \(NOT-IMPLEMENTED\)/);
});

t.test('after a soft error the channel discards everything until close-ok, then its number opens again', async (t) => {
  const broker = await startAmqpBroker(t);
  const c = await AmqpRawClient.connect(broker.amqpPort!);
  await c.openChannel(1);
  c.method(1, { name: 'queue.declare', queue: 'missing-q', passive: true });
  const close = await c.expect('channel.close', 1);
  t.same([close.replyCode, close.classId, close.methodId], [404, 50, 10]);
  // Sent before the close-ok: discarded, not answered (a declare-ok would be an error here).
  c.method(1, { name: 'queue.declare', queue: '' });
  c.content(1, { name: 'basic.publish', exchange: '', routingKey: 'x', mandatory: false, immediate: false }, {}, Buffer.from('dropped'));
  c.method(1, { name: 'channel.close-ok' });
  await c.openChannel(1);
  c.method(1, { name: 'queue.declare', queue: 'after-reopen' });
  const ok = await c.expect('queue.declare-ok', 1);
  t.equal(ok.queue, 'after-reopen');
  t.same(c.inbox.filter((f) => f.type === 'method' && f.method.name === 'queue.declare-ok'), [], 'nothing answered while closing');
  c.destroy();
});

t.test('a message over maxBodySize closes its channel with 406 before the body is read', async (t) => {
  const broker = await startAmqpBroker(t, { limits: { maxBodySize: 1000 } });
  const conn = await open(t, broker.amqpUrl);
  const ch = await channel(conn);
  const closed = closedWith(ch);
  ch.sendToQueue('big', Buffer.alloc(5000));
  const err = await closed;
  t.same([err.code, err.classId, err.methodId], [406, 60, 40]);
  t.match(err.message, /message size 5000 is larger than configured max size 1000/);
  t.ok(await (await channel(conn)).assertQueue(''), 'the connection goes on');
});
