// The task link's stepwise finish (result-backend/link.ts), the fallback for a transport and result
// backend without a shared transaction, run here over broker-server's two implementations with the
// atomic finish left out: result first, follow-ups next, ack last, so a failed step loses nothing.
import t, { type Test } from 'tap';
import { connect, type Connection } from '../../client/index.js';
import { BrokerServerResults } from '../../client/result-backend/broker-server.js';
import { pairLink } from '../../client/result-backend/link.js';
import type { TaskLink } from '../../client/result-backend/result-backend.js';
import { BrokerServerTransport } from '../../client/transport/broker-server.js';
import type { Delivery } from '../../client/transport/transport.js';
import { Celeriac } from '../../client/app/celeriac.js';
import { startTestBroker } from '../helpers/broker.js';

let n = 0;
const uniq = (what: string): string => `stepwise.${what}.${process.pid}.${++n}`;

/** A link over `conn` without the atomic finish: what a pair of separate services gets. */
function stepwise(conn: Connection): TaskLink {
  return pairLink(new BrokerServerTransport(conn), new BrokerServerResults(conn), { close: () => conn.close() });
}

/** One message published to a fresh queue and consumed (prefetch 1): its delivery, not settled. */
async function oneDelivery(conn: Connection, queue: string): Promise<Delivery> {
  await conn.assertQueue(queue, { durable: true });
  await conn.publish('', queue, 'task', { persistent: true });
  return new Promise<Delivery>((resolve) => { void conn.consume(queue, (msg) => resolve(msg), { prefetch: 1 }); });
}

async function setup(t: Test): Promise<{ url: string; open: () => Promise<Connection> }> {
  const broker = await startTestBroker(t);
  const open = async (): Promise<Connection> => {
    const c = await connect(broker.url, { reconnect: false });
    t.teardown(() => c.close());
    return c;
  };
  return { url: broker.url, open };
}

t.test('the stepwise finish stores the result, publishes the follow-ups with their PENDING record, then acks', async (t) => {
  const { open } = await setup(t);
  const conn = await open();
  const link = stepwise(conn);
  t.equal(link.atomic, false);
  const [work, next] = [uniq('work'), uniq('next')];
  await conn.assertQueue(next, { durable: true });
  const msg = await oneDelivery(conn, work);
  const [done, following] = [uniq('done'), uniq('following')];
  const sent = await link.finish({
    ack: msg,
    result: { taskId: done, state: 'SUCCESS', body: Buffer.from('{"result":5}'), options: { contentType: 'application/json' } },
    publishes: [{ exchange: '', routingKey: next, body: Buffer.from('next step'), props: { persistent: true }, track: { taskId: following } }],
  });
  t.equal(sent, true);
  t.equal(msg.settled, true, 'the delivery was acked');
  t.equal((await link.results.getResult(done))?.state, 'SUCCESS');
  t.equal((await link.results.getResult(following))?.state, 'PENDING', 'the follow-up is known before it runs');
  t.equal((await conn.checkQueue(next)).messageCount, 1, 'the follow-up was published');
  await conn.close();
  const after = await open();
  t.equal((await after.checkQueue(work)).messageCount, 0, 'the ack reached the broker: nothing came back when the connection closed');
});

t.test('a step that fails stops the rest and leaves the delivery unacked: nothing is lost', async (t) => {
  const { open } = await setup(t);
  const conn = await open();
  const link = stepwise(conn);
  const work = uniq('work');
  const msg = await oneDelivery(conn, work);
  const done = uniq('done');
  await t.rejects(link.finish({
    ack: msg,
    result: { taskId: done, state: 'SUCCESS', body: Buffer.from('{}') },
    publishes: [{ exchange: uniq('no-such-exchange'), routingKey: 'x', body: Buffer.from('lost?') }],
  }), { code: 'ERR_NOT_FOUND' });
  t.equal(msg.settled, false, 'not acked: the caller may still settle it');
  t.equal((await link.results.getResult(done))?.state, 'SUCCESS', 'unlike the atomic finish, the step before stays done');
  await conn.close();
  const after = await open();
  t.equal((await after.checkQueue(work)).messageCount, 1, 'the broker took the message back when the connection closed');
});

t.test('with ackRequired, a delivery no longer live gets nothing: no copy beside the requeued original', async (t) => {
  const { open } = await setup(t);
  const first = await open();
  const [work, later] = [uniq('work'), uniq('later')];
  const msg = await oneDelivery(first, work);
  await first.close();
  t.equal(msg.deliveryLive, false);
  const conn = await open();
  await conn.assertQueue(later, { durable: true });
  const sent = await stepwise(conn).finish({ ack: msg, publishes: [{ exchange: '', routingKey: later, body: Buffer.from('copy') }], ackRequired: true });
  t.equal(sent, false);
  t.equal((await conn.checkQueue(later)).messageCount, 0, 'no copy was published');
  t.equal((await conn.checkQueue(work)).messageCount, 1, 'the original is back in its queue');
});

t.test('a tracked publish without the atomic path: PENDING first, then the message', async (t) => {
  const { open } = await setup(t);
  const conn = await open();
  const link = stepwise(conn);
  const [queue, id] = [uniq('q'), uniq('id')];
  await conn.assertQueue(queue, { durable: true });
  await link.publishTracked({ exchange: '', routingKey: queue, body: Buffer.from('m'), track: { taskId: id, expires: 60_000 } });
  const rec = await link.results.getResult(id);
  t.equal(rec?.state, 'PENDING');
  t.ok(rec?.expiresAt !== undefined && rec.expiresAt > Date.now(), 'with the track expiry');
  t.equal((await conn.checkQueue(queue)).messageCount, 1);
});

t.test("the app's broker-server link has the one-transaction finish", async (t) => {
  const { url } = await setup(t);
  const app = new Celeriac({ broker: url });
  t.teardown(() => app.close());
  const link = await app.link();
  t.equal(link.atomic, true);
  t.equal(link.transport.connected, true);
  t.equal(await app.backend(), link.results, 'results are read through the same link');
});
