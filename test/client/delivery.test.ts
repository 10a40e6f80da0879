// Delivery semantics seen from the client: prefetch, nack with requeue (redelivered flag and
// delivery count), double settle throwing locally, handler failures, noAck consumers.
import t, { type Test } from 'tap';
import { connect, type Connection, type Message } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { sleep, until, untilAsync } from '../helpers/wait.js';

async function open(t: Test): Promise<Connection> {
  const broker = await startTestBroker(t);
  const conn = await connect(broker.url);
  t.teardown(() => conn.close());
  return conn;
}

t.test('prefetch 2: at most 2 unacked deliveries outstanding', async (t) => {
  const conn = await open(t);
  await conn.assertQueue('dl-prefetch');
  const held: Message[] = [];
  let maxOutstanding = 0;
  let received = 0;
  await conn.consume('dl-prefetch', (m) => {
    received++;
    held.push(m);
    maxOutstanding = Math.max(maxOutstanding, held.length);
  }, { prefetch: 2 });
  await Promise.all(Array.from({ length: 10 }, (_, i) => conn.sendToQueue('dl-prefetch', `m${i}`)));
  await until(() => received === 2, 10_000, 'two deliveries');
  // The broker's own count is the proof: eight held back as ready, not a pause that hopes to see a third.
  t.equal((await conn.checkQueue('dl-prefetch')).messageCount, 8, 'the other eight stay ready');
  t.equal(received, 2, 'no third delivery while two are unacked');
  while (received < 10) {
    const m = held.shift();
    if (m !== undefined) m.ack();
    await until(() => held.length > 0 || received === 10, 5_000, 'next delivery');
  }
  for (const m of held.splice(0)) m.ack();
  t.equal(maxOutstanding, 2);
  t.equal((await conn.checkQueue('dl-prefetch')).messageCount, 0);
});

t.test('nack with requeue: redelivered flag and delivery count grow; reject drops', async (t) => {
  const conn = await open(t);
  await conn.assertQueue('dl-nack');
  const seen: Array<{ redelivered: boolean; deliveryCount: number }> = [];
  await conn.consume('dl-nack', (m) => {
    seen.push({ redelivered: m.fields.redelivered, deliveryCount: m.fields.deliveryCount });
    if (seen.length < 3) m.nack();
    else m.reject();
  }, { prefetch: 1 });
  await conn.sendToQueue('dl-nack', 'again and again');
  await until(() => seen.length === 3, 5_000, 'three deliveries');
  t.same(seen, [
    { redelivered: false, deliveryCount: 1 },
    { redelivered: true, deliveryCount: 2 },
    { redelivered: true, deliveryCount: 3 },
  ]);
  // The reject leaves before the next request on this socket; the bounded poll covers a later apply.
  await untilAsync(async () => (await conn.checkQueue('dl-nack')).messageCount === 0, 10_000, 'the rejected message to go');
  t.equal(seen.length, 3, 'rejected without requeue: gone');
});

t.test('double ack throws locally and never reaches the broker', async (t) => {
  const conn = await open(t);
  await conn.assertQueue('dl-double');
  const errors: unknown[] = [];
  conn.on('error', (e) => errors.push(e));
  let thrown: unknown;
  let count = 0;
  await conn.consume('dl-double', (m) => {
    count++;
    m.ack();
    try {
      m.ack();
    } catch (e) {
      thrown = e;
    }
  });
  await conn.sendToQueue('dl-double', 'once');
  await until(() => count === 1);
  t.match(thrown, { code: 'ERR_UNKNOWN_DELIVERY_TAG', message: /already settled/ });
  // The connection is still fine: a broker-side double ack would have closed it.
  await conn.sendToQueue('dl-double', 'twice');
  await until(() => count === 2);
  t.ok(conn.connected);
  t.same(errors, []);
  t.equal((await conn.checkQueue('dl-double')).messageCount, 0);
});

t.test('a failing handler: handlerError is emitted, the message stays unsettled until settled', async (t) => {
  const conn = await open(t);
  await conn.assertQueue('dl-throw');
  const failures: Array<[unknown, Message]> = [];
  conn.on('handlerError', (err, msg) => failures.push([err, msg]));
  let calls = 0;
  await conn.consume('dl-throw', async (m) => {
    calls++;
    if (m.body.toString() === 'sync') throw new Error('sync boom');
    await sleep(1);
    throw new Error('async boom');
  }, { prefetch: 2 });
  await conn.sendToQueue('dl-throw', 'sync');
  await conn.sendToQueue('dl-throw', 'async');
  await until(() => failures.length === 2, 5_000, 'two handler errors');
  t.same(failures.map(([e]) => (e as Error).message).sort(), ['async boom', 'sync boom']);
  await conn.sendToQueue('dl-throw', 'third');
  t.equal((await conn.checkQueue('dl-throw')).messageCount, 1, 'the third waits ready on the broker');
  t.equal(calls, 2, 'both unsettled messages still hold the prefetch slots');
  for (const [, msg] of failures) {
    t.notOk(msg.settled);
    msg.ack();
  }
  await until(() => calls === 3, 5_000, 'the third delivery once slots freed');
});

t.test('noAck consumer: messages count as acked when sent', async (t) => {
  const conn = await open(t);
  await conn.assertQueue('dl-noack');
  const got: Message[] = [];
  await conn.consume('dl-noack', (m) => { got.push(m); }, { noAck: true });
  await Promise.all([conn.sendToQueue('dl-noack', 'a'), conn.sendToQueue('dl-noack', 'b')]);
  await until(() => got.length === 2);
  t.ok(got.every((m) => m.settled));
  t.throws(() => got[0]!.ack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' });
  t.equal((await conn.checkQueue('dl-noack')).messageCount, 0);
});

t.test('many messages: acks coalesce and every publish is confirmed', async (t) => {
  const conn = await open(t);
  await conn.assertQueue('dl-many', { durable: true });
  let acked = 0;
  await conn.consume('dl-many', (m) => { m.ack(); acked++; }, { prefetch: 100 });
  const n = 5_000;
  const body = Buffer.alloc(200, 7);
  const pubs: Promise<void>[] = [];
  for (let i = 0; i < n; i++) pubs.push(conn.sendToQueue('dl-many', body, { persistent: true }));
  await Promise.all(pubs);
  await until(() => acked === n, 20_000, `${n} acks`);
  t.equal(acked, n);
  await until(() => true);
  t.equal((await conn.checkQueue('dl-many')).messageCount, 0);
});
