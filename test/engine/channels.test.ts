// Engine channels (openChannel, what the AMQP listener opens per channel) and exchange-to-exchange
// bindings, without sockets: tags and consumers per channel, exclusive queues per connection, the
// channel-wide prefetch, recover, closing, flow told to connections only; routing through exchanges.
import t from 'tap';
import type { Delivery, DeliverySink, EngineConnection } from '../../server/engine/index.js';
import { openHarness, text, until, type Harness } from './engine-harness.js';

interface Channel { ch: EngineConnection; deliveries: Delivery[]; cancelled: string[]; flows: boolean[] }

function channel(h: Harness, conn: EngineConnection): Channel {
  const c: Channel = { ch: undefined as unknown as EngineConnection, deliveries: [], cancelled: [], flows: [] };
  const sink: DeliverySink = {
    writable: () => true,
    deliver: (d) => c.deliveries.push(d),
    consumerCancelled: (tag) => c.cancelled.push(tag),
    flow: (active) => c.flows.push(active),
  };
  c.ch = h.engine.openChannel(conn, sink);
  return c;
}

t.test('each channel numbers its own deliveries from 1 and holds its own consumers and unacked', async (t) => {
  const h = openHarness(t);
  const { conn } = h.connect();
  const [a, b] = [channel(h, conn), channel(h, conn)];
  h.engine.declareQueue(a.ch, 'q', {});
  h.engine.consume(a.ch, 'q', { consumerTag: 'same' });
  h.engine.consume(b.ch, 'q', { consumerTag: 'same' }); // a tag is per channel, as in AMQP
  for (let i = 0; i < 4; i++) await h.publish(conn, '', 'q', `m${i}`);
  await until(() => a.deliveries.length + b.deliveries.length === 4);
  t.same(a.deliveries.map((d) => d.deliveryTag), [1, 2], 'round-robin; tags per channel');
  t.same(b.deliveries.map((d) => d.deliveryTag), [1, 2]);
  t.throws(() => h.engine.ack(a.ch, 3, false), { code: 'ERR_UNKNOWN_DELIVERY_TAG' });
  h.engine.ack(a.ch, 2, true);
  // Closing a channel requeues its unacked deliveries (to the other channel's consumer) and leaves the connection.
  h.engine.closeConnection(b.ch);
  await until(() => a.deliveries.length === 4);
  t.same(a.deliveries.slice(2).map((d) => [text(d), d.redelivered]), [['m1', true], ['m3', true]]);
  t.equal(h.engine.overview().connections.length, 1, 'channels are not listed as connections');
});

t.test('an exclusive queue belongs to the connection: its other channels use it, it goes when the connection closes', async (t) => {
  const h = openHarness(t);
  const { conn } = h.connect();
  const other = h.connect();
  const [a, b] = [channel(h, conn), channel(h, conn)];
  const { queue } = h.engine.declareQueue(a.ch, '', { exclusive: true });
  h.engine.consume(b.ch, queue, {});
  t.throws(() => h.engine.consume(channel(h, other.conn).ch, queue, {}), { code: 'ERR_RESOURCE_LOCKED' });
  h.engine.closeConnection(a.ch);
  t.equal(h.engine.declareQueue(b.ch, queue, { passive: true }).consumerCount, 1, 'closing the declaring channel leaves the queue');
  h.engine.closeConnection(conn);
  t.throws(() => h.engine.declareQueue(other.conn, queue, { passive: true }), { code: 'ERR_NOT_FOUND' });
  t.throws(() => h.engine.consume(b.ch, queue, {}), 'its channels closed with it');
});

t.test('a channel prefetch bounds all its consumers together; each consumer\'s own applies too', async (t) => {
  const h = openHarness(t);
  const { conn } = h.connect();
  const c = channel(h, conn);
  h.engine.declareQueue(c.ch, 'p1', {});
  h.engine.declareQueue(c.ch, 'p2', {});
  h.engine.setPrefetch(c.ch, 3);
  h.engine.consume(c.ch, 'p1', { consumerTag: 'one', prefetch: 1 });
  h.engine.consume(c.ch, 'p2', { consumerTag: 'two' });
  for (let i = 0; i < 5; i++) {
    await h.publish(conn, '', 'p1', `a${i}`);
    await h.publish(conn, '', 'p2', `b${i}`);
  }
  await until(() => c.deliveries.length === 3);
  t.equal(c.deliveries.filter((d) => d.consumerTag === 'one').length, 1, 'consumer one stops at its own prefetch');
  // An ack of p1's delivery frees a channel slot that p2's consumer takes (p1's is at its own limit again).
  const first = c.deliveries.find((d) => d.consumerTag === 'one')!;
  h.engine.ack(c.ch, first.deliveryTag, false);
  await until(() => c.deliveries.length === 4);
  h.engine.setPrefetch(c.ch, 0);
  await until(() => c.deliveries.filter((d) => d.consumerTag === 'two').length === 5, 5_000, 'no channel limit');
  t.equal(c.deliveries.filter((d) => d.consumerTag === 'one').length, 2);
  t.throws(() => h.engine.setPrefetch(c.ch, 70_000), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('recover requeues every unacked delivery of the channel, redelivered; flow goes to connections only', async (t) => {
  const h = openHarness(t, ':memory:', { memoryHighWatermark: 10_000, memoryLowWatermark: 1_000 });
  const { conn, sink } = h.connect();
  const c = channel(h, conn);
  h.engine.declareQueue(c.ch, 'r', {});
  h.engine.consume(c.ch, 'r', {});
  await h.publish(conn, '', 'r', 'one');
  await until(() => c.deliveries.length === 1);
  t.ok(h.engine.get(c.ch, 'r', false) === null, 'nothing else ready');
  h.engine.recover(c.ch);
  await until(() => c.deliveries.length === 2);
  t.same([c.deliveries[1]!.deliveryTag, c.deliveries[1]!.redelivered], [2, true]);
  // Over the memory watermark: the connection's sink hears of it, never its channel's.
  for (let i = 0; i < 4; i++) await h.publish(conn, '', 'r', 'x'.repeat(4_000)).catch(() => undefined);
  await until(() => sink.flows.includes(false), 5_000, 'flow off');
  t.same(c.flows, []);
});

t.test('exchange-to-exchange bindings route by each exchange\'s own type, once per queue, through cycles', async (t) => {
  const h = openHarness(t);
  const { conn } = h.connect();
  const e = h.engine;
  e.declareExchange(conn, 'front', 'topic', {});
  e.declareExchange(conn, 'mid', 'direct', {});
  e.declareExchange(conn, 'fan', 'fanout', {});
  for (const q of ['q-mid', 'q-fan', 'q-front']) e.declareQueue(conn, q, {});
  e.bindExchange(conn, 'mid', 'front', 'a.#', {});
  e.bindExchange(conn, 'fan', 'mid', 'a.b', {});
  e.bindExchange(conn, 'front', 'fan', '', {}); // a cycle back to the start
  e.bindQueue(conn, 'q-mid', 'mid', 'a.b', {});
  e.bindQueue(conn, 'q-fan', 'fan', '', {});
  e.bindQueue(conn, 'q-front', 'front', '#', {});
  e.bindQueue(conn, 'q-fan', 'front', 'a.*', {}); // a second path to q-fan
  await h.publish(conn, 'front', 'a.b', 'ab', {}, true);
  await h.publish(conn, 'front', 'a.c', 'ac', {}, true);
  const depth = (q: string): number => e.declareQueue(conn, q, { passive: true }).messageCount;
  t.same([depth('q-mid'), depth('q-fan'), depth('q-front')], [1, 2, 2], 'a.b reaches all three once; a.c stops at mid (direct a.b)');
  t.same(e.bindings().filter((b) => b.destinationType === 'exchange').map((b) => `${b.source}->${b.destination}`).sort(), ['fan->front', 'front->mid', 'mid->fan']);
  e.unbindExchange(conn, 'mid', 'front', 'a.#', {});
  await h.publish(conn, 'front', 'a.b', 'ab again', {}, true);
  t.same([depth('q-mid'), depth('q-fan'), depth('q-front')], [1, 3, 3], 'unbound: mid (and fan through it) no longer reached from front');
  t.throws(() => e.bindExchange(conn, 'nope', 'front', '', {}), { code: 'ERR_NOT_FOUND' });
  t.throws(() => e.bindExchange(conn, 'front', '', '', {}), { code: 'ERR_ACCESS_DENIED' });
  // Deleting an exchange drops the bindings to it; an auto-delete source left with none goes too.
  e.declareExchange(conn, 'auto', 'fanout', { autoDelete: true });
  e.bindExchange(conn, 'fan', 'auto', '', {});
  e.deleteExchange(conn, 'fan', {});
  t.throws(() => e.checkExchange(conn, 'auto'), { code: 'ERR_NOT_FOUND' }, 'auto-delete source went with its last binding');
  t.same(e.bindings().filter((b) => b.destinationType === 'exchange').map((b) => `${b.source}->${b.destination}`), []);
});

t.test('durable exchange bindings survive a restart', async (t) => {
  const dir = t.testdir();
  const file = `${dir}/e2e.db`;
  const h1 = openHarness(t, file);
  const a = h1.connect().conn;
  h1.engine.declareExchange(a, 'src', 'topic', { durable: true });
  h1.engine.declareExchange(a, 'dst', 'fanout', { durable: true });
  h1.engine.declareQueue(a, 'dq', { durable: true });
  h1.engine.bindQueue(a, 'dq', 'dst', '', {});
  h1.engine.bindExchange(a, 'dst', 'src', 'k.*', {});
  await h1.close();
  const h2 = openHarness(t, file);
  const b = h2.connect().conn;
  await h2.publish(b, 'src', 'k.x', 'after restart', { persistent: true }, true);
  t.equal(h2.engine.declareQueue(b, 'dq', { durable: true }).messageCount, 1);
});
