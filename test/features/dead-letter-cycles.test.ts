// Dead-letter cycles end (RabbitMQ's rule): a copy that would go back into a queue it already
// died in, with no client reject in between, is dropped and counted on /metrics; a loop with a
// reject in it goes on, since a client drives it.
import t, { type Test } from 'tap';
import type { Connection } from '../../client/index.js';
import { connect } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { GUEST, api } from '../helpers/http.js';
import { unique, until } from './feature-helpers.js';

const WAIT_MS = 10_000;
const CYCLES = 'celeriac_messages_dead_letter_cycle_dropped_total';

interface Death { queue: string; reason: string; count: number }

async function brokerWithClient(t: Test): Promise<{ conn: Connection; httpUrl: string }> {
  const broker = await startTestBroker(t);
  const conn = await connect(broker.url, { reconnect: false });
  conn.on('error', () => undefined);
  t.teardown(() => conn.close());
  return { conn, httpUrl: broker.httpUrl };
}

/** One counter's value from GET /metrics. */
async function counter(httpUrl: string, name: string): Promise<number | undefined> {
  const res = await fetch(`${httpUrl}/metrics`, { headers: { authorization: GUEST }, signal: AbortSignal.timeout(WAIT_MS) });
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function untilCounter(httpUrl: string, name: string, value: number): Promise<void> {
  const end = Date.now() + WAIT_MS;
  while ((await counter(httpUrl, name)) !== value) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${name} to reach ${value}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function deadLettered(httpUrl: string): Promise<number> {
  return (await api<{ totals: { deadLettered: number } }>({ httpUrl }, '/api/overview')).body.totals.deadLettered;
}

t.test('A (TTL) <-> B (TTL): the message is dropped after one round and counted', async (t) => {
  const { conn, httpUrl } = await brokerWithClient(t);
  const a = unique('cycle-a');
  const b = unique('cycle-b');
  await conn.assertQueue(a, { messageTtl: 10, deadLetterExchange: '', deadLetterRoutingKey: b });
  await conn.assertQueue(b, { messageTtl: 10, deadLetterExchange: '', deadLetterRoutingKey: a });
  await conn.publish('', a, Buffer.from('ping'));
  await untilCounter(httpUrl, CYCLES, 1);
  t.equal(await deadLettered(httpUrl), 2, 'dead-lettered twice: A to B, then B back towards A (dropped)');
  t.equal((await conn.checkQueue(a)).messageCount, 0);
  t.equal((await conn.checkQueue(b)).messageCount, 0, 'nothing left to go round');
});

t.test('a loop of different automatic reasons (maxlen, then expired) ends too', async (t) => {
  const { conn, httpUrl } = await brokerWithClient(t);
  const a = unique('cycle-cap');
  const b = unique('cycle-ttl');
  await conn.assertQueue(a, { maxLength: 1, deadLetterExchange: '', deadLetterRoutingKey: b });
  await conn.assertQueue(b, { messageTtl: 10, deadLetterExchange: '', deadLetterRoutingKey: a });
  await conn.publish('', a, Buffer.from('first'));
  await conn.publish('', a, Buffer.from('second')); // pushes 'first' out to b, which expires it back
  await untilCounter(httpUrl, CYCLES, 1);
  t.equal((await conn.checkQueue(b)).messageCount, 0);
  const kept = await conn.get(a, { noAck: true });
  t.equal(kept?.body.toString(), 'second', "'first' was dropped, not let back in to push 'second' out");
});

t.test('a loop with a client reject in it keeps going, as in RabbitMQ', async (t) => {
  const { conn, httpUrl } = await brokerWithClient(t);
  const a = unique('loop-ttl');
  const b = unique('loop-reject');
  await conn.assertQueue(a, { messageTtl: 10, deadLetterExchange: '', deadLetterRoutingKey: b });
  await conn.assertQueue(b, { deadLetterExchange: '', deadLetterRoutingKey: a });
  const seen: Death[][] = [];
  const { consumerTag } = await conn.consume(b, (m) => {
    seen.push(m.properties.headers!['x-death'] as Death[]);
    if (seen.length < 3) m.reject();
    else m.ack();
  }, { prefetch: 1 });
  await conn.publish('', a, Buffer.from('round and round'));
  await until(() => seen.length === 3, WAIT_MS, 'three rounds through the rejecting consumer');
  await conn.cancel(consumerTag);
  const last = seen[2]!;
  t.same(last.map((d) => [d.queue, d.reason, d.count]), [[a, 'expired', 3], [b, 'rejected', 2]], 'three expiries in A, two rejects in B');
  t.equal(await counter(httpUrl, CYCLES), 0, 'nothing dropped');
});
