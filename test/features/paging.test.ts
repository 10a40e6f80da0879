// Deep priority and delayed backlogs page to disk like plain ones: with a small paging threshold,
// a real broker on a temp file keeps most of them on disk only (its stats say so), hands them out
// in priority order and in due-time order, and loses none across a restart.
import t from 'tap';
import type { Broker } from '../../server/index.js';
import type { Connection, Message } from '../../client/index.js';
import { api, queuePath } from '../helpers/http.js';
import { brokersOnOneFile, sleep, unique, until } from './feature-helpers.js';

const THRESHOLD = 20;

interface QueueStats { messages: number; ready: number; delayed: number; paged: number }

/** The queue as the management API lists it. */
async function stats(broker: Broker, queue: string): Promise<QueueStats> {
  return (await api<QueueStats>(broker, queuePath(queue))).body;
}

/** Polls the queue's stats until `ok` holds; rejects after `ms` with the last stats seen. */
async function statsOnceTrue(broker: Broker, queue: string, ok: (s: QueueStats) => boolean, ms: number): Promise<QueueStats> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await stats(broker, queue);
    if (ok(s)) return s;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms; last stats ${JSON.stringify(s)}`);
    await sleep(20);
  }
}

/** A small deterministic generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Consumes `n` messages from `queue` with acks; resolves with them in arrival order. */
async function drainQueue(conn: Connection, queue: string, n: number, timeout: number): Promise<Message[]> {
  const got: Message[] = [];
  await conn.consume(queue, (m) => { got.push(m); m.ack(); }, { prefetch: 1 });
  await until(() => got.length >= n, timeout, `${n} messages from ${queue}`);
  return got;
}

/** Priority order: highest first, publish order (the number in the body) within one priority. */
function priorityOrder(sent: { body: string; priority: number }[]): string[] {
  return sent.map((m, i) => ({ ...m, i })).sort((a, b) => b.priority - a.priority || a.i - b.i).map((m) => m.body);
}

interface SentDelayed { body: string; earliest: number; latest: number }

/**
 * Publishes `n` persistent messages with shuffled delays one after another. The broker's due
 * time of each lies in [earliest, latest]: the clock before the publish and at its confirm, plus
 * the delay.
 */
async function publishDelayed(conn: Connection, queue: string, n: number, spread: number, base: number): Promise<SentDelayed[]> {
  const rnd = seeded(7);
  const sent: SentDelayed[] = [];
  for (let i = 0; i < n; i++) {
    const delay = base + Math.floor(rnd() * spread);
    const before = Date.now();
    await conn.publish('', queue, `d${i}`, { persistent: true, delay });
    sent.push({ body: `d${i}`, earliest: before + delay, latest: Date.now() + delay });
  }
  return sent;
}

/** Every pair whose due times cannot tie arrived in due-time order; returns the pairs out of order. */
function outOfDueOrder(sent: SentDelayed[], arrived: string[]): string[] {
  const pos = new Map(arrived.map((b, i) => [b, i]));
  const bad: string[] = [];
  for (const a of sent) {
    for (const b of sent) {
      if (a.latest < b.earliest && pos.get(a.body)! > pos.get(b.body)!) bad.push(`${a.body} (due by ${a.latest}) after ${b.body} (due from ${b.earliest})`);
    }
  }
  return bad;
}

t.test('a priority queue deeper than the threshold pages each lane and delivers in priority order', async (t) => {
  const brokers = brokersOnOneFile(t, { pagingThreshold: THRESHOLD });
  const broker = await brokers.start();
  const conn = await brokers.open(broker);
  const q = unique('prio-paged');
  await conn.assertQueue(q, { durable: true, maxPriority: 5 });
  const rnd = seeded(42);
  const sent = Array.from({ length: 400 }, (_, i) => ({ body: `p${i}`, priority: Math.floor(rnd() * 6) }));
  await Promise.all(sent.map((m) => conn.publish('', q, m.body, { persistent: true, priority: m.priority })));
  const s = await stats(broker, q);
  t.equal(s.ready, 400, 'every message counted as ready');
  t.ok(s.paged >= 400 - THRESHOLD, `at most the threshold in memory, the rest on disk only (paged ${s.paged})`);
  const got = await drainQueue(conn, q, 400, 20_000);
  t.same(got.map((m) => m.body.toString()), priorityOrder(sent), 'highest priority first, FIFO within a priority');
  t.equal((await stats(broker, q)).messages, 0);
});

t.test('delayed messages past the threshold stay on disk and come out in due-time order', async (t) => {
  const brokers = brokersOnOneFile(t, { pagingThreshold: THRESHOLD });
  const broker = await brokers.start();
  const conn = await brokers.open(broker);
  const q = unique('delay-paged');
  await conn.assertQueue(q, { durable: true });
  // Due between 2 and 3.5 s from now, in shuffled order: later than the publishing takes.
  const sent = await publishDelayed(conn, q, 200, 1_500, 2_000);
  const s = await stats(broker, q);
  // On a busy machine the 200 confirmed publishes can take longer than the first due time.
  const notDue = sent.filter((m) => m.earliest > Date.now()).length;
  t.equal(s.delayed + s.ready, 200, 'all in the queue');
  t.ok(s.delayed >= notDue, `every message not yet due is held (${s.delayed} held, ${notDue} not due)`);
  t.ok(s.paged > 0, `the later-due ones are on disk only (paged ${s.paged})`);
  const got = await drainQueue(conn, q, 200, 30_000);
  const arrived = got.map((m) => m.body.toString());
  t.same([...arrived].sort(), sent.map((m) => m.body).sort(), 'every message once');
  t.same(outOfDueOrder(sent, arrived), [], 'due-time order');
  const after = await stats(broker, q);
  t.equal(after.messages, 0);
  t.equal(after.paged, 0);
});

t.test('delayed messages that fall due with nobody consuming wait on disk too, then drain in order', async (t) => {
  const brokers = brokersOnOneFile(t, { pagingThreshold: THRESHOLD });
  const broker = await brokers.start();
  const conn = await brokers.open(broker);
  const q = unique('due-unconsumed');
  await conn.assertQueue(q, { durable: true });
  const sent = await publishDelayed(conn, q, 200, 200, 300);
  // Once all are due: the threshold ready in memory, the rest still held (waiting or on disk).
  const due = await statsOnceTrue(broker, q, (x) => x.ready === THRESHOLD && x.delayed === 200 - THRESHOLD && x.paged > 0, 15_000);
  t.ok(due.paged > 0, `the ready lanes hold the threshold, the rest of the due backlog waits (paged ${due.paged})`);
  const later = sent.reduce((m, x) => Math.max(m, x.latest), 0);
  await sleep(Math.max(0, later - Date.now()) + 200);
  t.equal((await stats(broker, q)).ready, THRESHOLD, 'and stays so once everything is due');
  const got = await drainQueue(conn, q, 200, 20_000);
  const arrived = got.map((m) => m.body.toString());
  t.same([...arrived].sort(), sent.map((m) => m.body).sort(), 'every message once');
  t.same(outOfDueOrder(sent, arrived), [], 'due-time order');
});

t.test('paged priority and delayed backlogs survive a restart, in order, none lost', async (t) => {
  const brokers = brokersOnOneFile(t, { pagingThreshold: THRESHOLD });
  const prio = unique('prio-restart');
  const delayed = unique('delay-restart');
  const first = await brokers.start();
  const before = await brokers.open(first);
  await before.assertQueue(prio, { durable: true, maxPriority: 3 });
  await before.assertQueue(delayed, { durable: true });
  const rnd = seeded(3);
  const sent = Array.from({ length: 150 }, (_, i) => ({ body: `p${i}`, priority: Math.floor(rnd() * 4) }));
  await Promise.all(sent.map((m) => before.publish('', prio, m.body, { persistent: true, priority: m.priority })));
  const sentDelayed = await publishDelayed(before, delayed, 120, 1_000, 2_000);
  t.ok((await stats(first, prio)).paged > 0, 'priority lanes paged before the restart');
  t.ok((await stats(first, delayed)).paged > 0, 'delayed messages paged before the restart');
  await brokers.stopLast();

  const second = await brokers.start();
  const after = await brokers.open(second);
  const ps = await stats(second, prio);
  t.equal(ps.ready, 150, 'every priority message recovered');
  t.ok(ps.paged > 0, `recovery reads only the first pages (paged ${ps.paged})`);
  const ds = await stats(second, delayed);
  t.equal(ds.delayed + ds.ready, 120, 'every delayed message recovered');
  const got = await drainQueue(after, prio, 150, 20_000);
  t.same(got.map((m) => m.body.toString()), priorityOrder(sent), 'priority order after the restart');
  t.ok(got.every((m) => m.fields.redelivered), 'recovered messages are flagged redelivered');
  const gotDelayed = await drainQueue(after, delayed, 120, 30_000);
  const arrived = gotDelayed.map((m) => m.body.toString());
  t.same([...arrived].sort(), sentDelayed.map((m) => m.body).sort(), 'every delayed message once');
  t.same(outOfDueOrder(sentDelayed, arrived), [], 'due-time order after the restart');
});
