// `multiple` settles through a real broker: ack and nack "all up to" this delivery, per
// connection (across consumers and get()), and in order with the tags acked singly in the same turn.
import t, { type Test } from 'tap';
import { connect, type CeleriacError, type Connection, type Message } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';

let counter = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;

/** A broker and an opener of connections that fail the test on any connection error. */
async function setUp(t: Test): Promise<{ open: () => Promise<Connection>; errors: CeleriacError[] }> {
  const broker = await startTestBroker(t);
  const errors: CeleriacError[] = [];
  const open = async (): Promise<Connection> => {
    const conn = await connect(broker.url, { reconnect: false });
    conn.on('error', (err) => errors.push(err));
    t.teardown(() => conn.close());
    return conn;
  };
  return { open, errors };
}

/** Closes `conn`, so the broker requeues what it left unacked, then drains `queue` with get(). */
async function leftUnacked(conn: Connection, other: Connection, queue: string): Promise<string[]> {
  await conn.close();
  const out: string[] = [];
  for (;;) {
    const m = await other.get(queue);
    if (m === null) return out;
    t.ok(m.fields.redelivered, `${m.body.toString()} comes back flagged redelivered`);
    out.push(m.body.toString());
    m.ack();
  }
}

const bodies = (msgs: Message[]): string[] => msgs.map((m) => m.body.toString());

/** Declares a fresh queue, consumes it leaving every delivery unsettled, publishes m0..m{n-1} and waits for all n. */
async function holdDeliveries(conn: Connection, prefix: string, n: number, prefetch: number, what: string): Promise<{ q: string; held: Message[] }> {
  const q = unique(prefix);
  await conn.assertQueue(q);
  const held: Message[] = [];
  await conn.consume(q, (m) => { held.push(m); }, { prefetch });
  await Promise.all(Array.from({ length: n }, (_, i) => conn.sendToQueue(q, `m${i}`)));
  await until(() => held.length === n, 5_000, what);
  return { q, held };
}

t.test('ack({ multiple }) across 10 deliveries settles the first six and leaves the last four', async (t) => {
  const { open, errors } = await setUp(t);
  const conn = await open();
  const { q, held } = await holdDeliveries(conn, 'am-ten', 10, 20, 'ten deliveries');
  t.same(bodies(held), Array.from({ length: 10 }, (_, i) => `m${i}`));

  held[5]!.ack({ multiple: true });
  t.same(held.map((m) => m.settled), [true, true, true, true, true, true, false, false, false, false]);
  for (let i = 0; i < 6; i++) t.throws(() => held[i]!.ack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' }, `m${i} is settled`);

  const other = await open();
  t.same(await leftUnacked(conn, other, q), ['m6', 'm7', 'm8', 'm9'], 'the broker kept exactly the later four unacked');
  t.same(errors, [], 'no connection error');
});

t.test('nack({ multiple, requeue }) redelivers the earlier ones flagged, in order', async (t) => {
  const { open, errors } = await setUp(t);
  const conn = await open();
  const { q, held: seen } = await holdDeliveries(conn, 'am-nack', 5, 10, 'five deliveries');

  seen[3]!.nack({ multiple: true, requeue: true });
  t.same(seen.map((m) => m.settled), [true, true, true, true, false]);
  await until(() => seen.length === 9, 5_000, 'four redeliveries');
  const again = seen.slice(5);
  t.same(bodies(again), ['m0', 'm1', 'm2', 'm3'], 'requeued in their queue order');
  t.ok(again.every((m) => m.fields.redelivered), 'flagged redelivered');
  t.same(again.map((m) => m.fields.deliveryCount), [2, 2, 2, 2]);
  t.notOk(seen[4]!.settled, 'the later delivery is untouched');

  // requeue: false drops the earlier ones (no dead-letter exchange here).
  again[3]!.nack({ multiple: true, requeue: false });
  t.ok(seen[4]!.settled && again.every((m) => m.settled), 'm4 (a lower tag than the redeliveries) went too');
  const other = await open();
  t.same(await leftUnacked(conn, other, q), [], 'nothing left unacked or ready');
  t.same(errors, []);
});

t.test('a multiple ack settles lower tags of other consumers and of get() on the same connection', async (t) => {
  const { open, errors } = await setUp(t);
  const conn = await open();
  const qa = unique('am-a');
  const qb = unique('am-b');
  const qg = unique('am-g');
  await conn.assertQueue(qa);
  await conn.assertQueue(qb);
  await conn.assertQueue(qg);
  const a: Message[] = [];
  const b: Message[] = [];
  await conn.consume(qa, (m) => { a.push(m); }, { prefetch: 10 });
  await Promise.all([conn.sendToQueue(qa, 'a0'), conn.sendToQueue(qa, 'a1'), conn.sendToQueue(qg, 'g0')]);
  await until(() => a.length === 2, 5_000, 'consumer A deliveries');
  const got = await conn.get(qg);
  t.ok(got !== null && !got.settled);
  await conn.consume(qb, (m) => { b.push(m); }, { prefetch: 10 });
  await Promise.all([conn.sendToQueue(qb, 'b0'), conn.sendToQueue(qb, 'b1')]);
  await until(() => b.length === 2, 5_000, 'consumer B deliveries');
  t.ok(Math.max(...a.map((m) => m.fields.deliveryTag), got!.fields.deliveryTag) < b[0]!.fields.deliveryTag, 'A and get() hold the lower tags');

  b[0]!.ack({ multiple: true });
  t.ok(a.every((m) => m.settled), "consumer A's messages are settled by B's multiple ack");
  t.ok(got!.settled, 'so is the get() message');
  t.throws(() => a[0]!.ack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' });
  t.throws(() => got!.nack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' });
  t.notOk(b[1]!.settled);

  const other = await open();
  t.same(await leftUnacked(conn, other, qa), [], 'the broker acked A too');
  t.same(await leftUnacked(conn, other, qg), [], 'and the get() message');
  t.same(await leftUnacked(conn, other, qb), ['b1'], 'only the later delivery of B stays');
  t.same(errors, []);
});

t.test('single settles and a multiple ack in one turn reach the broker in a consistent order', async (t) => {
  const { open, errors } = await setUp(t);
  const conn = await open();
  const { q, held: seen } = await holdDeliveries(conn, 'am-turn', 6, 10, 'six deliveries');

  // One turn: a collected requeue of m0 and ack of m1, then a multiple ack up to m3, then m5.
  // Were the multiple ack written first, it would ack m0 and the nack of m0 would be an unknown tag.
  seen[0]!.nack({ requeue: true });
  seen[1]!.ack();
  seen[3]!.ack({ multiple: true });
  seen[5]!.ack();
  await until(() => seen.length === 7, 5_000, 'm0 redelivered');
  t.equal(seen[6]!.body.toString(), 'm0');
  t.ok(seen[6]!.fields.redelivered);
  seen[6]!.ack();

  const other = await open();
  t.same(await leftUnacked(conn, other, q), ['m4'], 'm2 went with the multiple ack, m5 singly; m4 stays');
  t.same(errors, [], 'no ERR_UNKNOWN_DELIVERY_TAG');
});
