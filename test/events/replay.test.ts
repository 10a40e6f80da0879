// subscribe({ since }) through a real broker: the stored history, then the live stream, with no event
// missed or handed on twice — while events keep coming, and across a broker restart on the same
// port (temp-file data) that drops every socket. Also: the history itself survives the restart.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac, connect, EVENTS_EXCHANGE, type AnyEvent, type Connection, type EventInfo } from '../../client/index.js';
import { startBroker, type Broker } from '../../server/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { startTcpGate } from '../helpers/tcp-gate.js';
import { until } from '../helpers/wait.js';

/**
 * Publishes worker-heartbeat events numbered by `seq` (from 1), one every `everyMs`, until stopped.
 * Declares the events exchange first (as every event publisher does; declared again after a reconnect).
 */
async function publisher(conn: Connection, hostname: string, everyMs = 2): Promise<{ stop(): Promise<number>; settled(): Promise<number>; readonly sent: number }> {
  await conn.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: false });
  let sent = 0;
  let stopped = false;
  let pending: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    if (stopped) return;
    const seq = ++sent;
    const body = JSON.stringify({ type: 'worker-heartbeat', hostname, seq, timestamp: Date.now() / 1000, clock: seq, pid: 1, utcoffset: 0, freq: 0, active: 0, processed: 0 });
    pending = Promise.all([pending, conn.publish(EVENTS_EXCHANGE, 'worker.heartbeat', body, { contentType: 'application/json' })]).then(() => undefined);
  }, everyMs);
  return {
    get sent() { return sent; },
    /** Waits until every event sent so far is confirmed (stored); returns how many that is. */
    async settled() {
      const upTo = sent;
      await pending;
      return upTo;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await pending;
      return sent;
    },
  };
}

interface Seen { seq: number; id: number | undefined; replayed: boolean }

/** Keeps the heartbeats of `hostname` a subscription hands on. */
function keep(hostname: string, into: Seen[]): (e: AnyEvent, info: EventInfo) => void {
  return (e, info) => {
    if (e.type === 'worker-heartbeat' && e.hostname === hostname) into.push({ seq: (e as unknown as { seq: number }).seq, id: info.id, replayed: info.replayed });
  };
}

/** Every event handed on once, in id order, and every seq from 1 to `sent` among them. */
function checkStream(t: Test, seen: Seen[], sent: number, from = 1): void {
  const ids = seen.map((s) => s.id!);
  t.ok(ids.every((id, i) => typeof id === 'number' && (i === 0 || id > ids[i - 1]!)), 'ids strictly increase: nothing handed on twice, nothing out of order');
  const seqs = new Set(seen.map((s) => s.seq));
  const missing = [];
  for (let s = from; s <= sent; s++) if (!seqs.has(s)) missing.push(s);
  t.same(missing, [], `every event from ${from} to ${sent} arrived`);
}

t.test('since: history first, then live, while events keep coming: no gap, no repeat', async (t) => {
  const broker = await startTestBroker(t);
  const pubConn = await connect(broker.url);
  t.teardown(() => pubConn.close());
  const pub = await publisher(pubConn, 'flow@test');
  await until(() => pub.sent >= 60, 10_000, '60 published before subscribing');
  const app = new Celeriac({ broker: broker.url });
  t.teardown(() => app.close());
  const seen: Seen[] = [];
  const sub = await app.events.subscribe({ 'worker-heartbeat': keep('flow@test', seen) }, { since: 0 });
  t.teardown(() => sub.close());
  t.ok(seen.length >= 60 && seen.slice(0, 60).every((s) => s.replayed), 'the history was handed on before subscribe resolved');
  await until(() => pub.sent >= 160, 10_000, '100 more published');
  const sent = await pub.stop();
  await until(() => seen.some((s) => s.seq === sent), 10_000, 'the last one');
  checkStream(t, seen, sent);
  t.equal(seen.length, sent, 'each exactly once');
  t.ok(seen.some((s) => !s.replayed), 'the later ones came live');
  t.equal(sub.lastId, seen[seen.length - 1]!.id, 'lastId: where to resume');

  // From a cursor in the middle: only what came after it.
  const from = seen[99]!.id!;
  const later: Seen[] = [];
  const sub2 = await app.events.subscribe({ 'worker-heartbeat': keep('flow@test', later) }, { since: from });
  t.teardown(() => sub2.close());
  t.same(later.map((s) => s.seq), seen.slice(100).map((s) => s.seq));
});

t.test('a broker restart drops every socket: the subscriber reads back what it missed, the history survives', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'broker.db');
  let broker: Broker = await startBroker({ port: 0, host: '127.0.0.1', dataFile: file });
  t.teardown(() => broker.close());
  const { port } = broker;
  const fast = { reconnectBackoff: { initial: 20, max: 200 } };
  const pubConn = await connect(broker.url, fast);
  t.teardown(() => pubConn.close());
  // The subscriber reaches the broker through a gate the test shuts while the broker restarts, so
  // events are stored while it is away for certain (not by winning a race against its backoff).
  const gate = await startTcpGate(t, port);
  const app = new Celeriac({ broker: `ws://127.0.0.1:${gate.port}` });
  t.teardown(() => app.close());
  const conn = await app.connection();
  const seen: Seen[] = [];
  const plain: Seen[] = [];
  // One subscription from the start of the history, one live-only: both must miss nothing.
  const sub = await app.events.subscribe({ 'worker-heartbeat': keep('restart@test', seen) }, { since: 0 });
  t.teardown(() => sub.close());
  const live = await app.events.subscribe({ 'worker-heartbeat': keep('restart@test', plain) });
  t.teardown(() => live.close());
  const pub = await publisher(pubConn, 'restart@test');
  await until(() => seen.length >= 50, 10_000, '50 live before the restart');

  let reconnected = 0;
  conn.on('reconnected', () => { reconnected++; });
  gate.shut();
  await broker.close();
  const seenBefore = Math.max(...seen.map((s) => s.seq));
  // Published meanwhile: held by the publisher until it is back, then stored while the subscriber is away.
  await until(() => pub.sent >= seenBefore + 30, 10_000, 'more sent while the broker is down');
  broker = await startBroker({ port, host: '127.0.0.1', dataFile: file });
  await until(() => pubConn.connected, 10_000, 'the publisher reconnected');
  const storedWhileAway = await pub.settled();
  t.equal(reconnected, 0, 'the subscriber is still away');
  gate.open();
  // Its backoff may have grown while the gate was shut (it doubles from 100 ms).
  await until(() => reconnected === 1, 20_000, 'the subscriber reconnected');
  await until(() => pub.sent >= storedWhileAway + 50, 10_000, 'more sent after the restart');
  const sent = await pub.stop();
  await until(() => seen.some((s) => s.seq === sent) && plain.some((s) => s.seq === sent), 10_000, 'the last one on both');
  checkStream(t, seen, sent);
  checkStream(t, plain, sent);
  const whileAway = seen.filter((s) => s.seq > seenBefore && s.seq <= storedWhileAway);
  t.ok(whileAway.length >= 30, 'the events stored while the subscriber was away reached it');
  t.ok(whileAway.every((s) => s.replayed), 'all of them from the history, after the reconnect');

  // The history on the restarted broker holds every event, with the ids the subscriber saw.
  const stored: number[] = [];
  let cursor = 0;
  for (let guard = 0; guard < 100; guard++) {
    const page = await app.events.history({ since: cursor, types: ['worker-heartbeat'] });
    stored.push(...page.events.filter((e) => e.event.hostname === 'restart@test').map((e) => e.id));
    cursor = page.next;
    if (cursor >= page.last) break;
  }
  t.same(stored, seen.map((s) => s.id), 'the restarted broker\'s history is what the subscriber got');
  t.same(broker.events.read({ limit: 1 }).events[0]?.id, 1, 'from the first event on');
});

t.test('the task index, the worker index and the history survive a broker restart (temp-file data)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-restart-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'broker.db');
  const first = await startBroker({ port: 0, host: '127.0.0.1', dataFile: file });
  const app = new Celeriac({ broker: first.url, workerSendTaskEvents: true });
  const add = app.task('restart.add', (a: number, b: number) => a + b);
  const worker = app.worker({ hostname: 'rs@test', log: () => undefined });
  await worker.start();
  const r = await add.delay(20, 22);
  t.equal(await r.get({ timeout: 5_000 }), 42);
  await until(() => first.tasks.get(r.id)?.state === 'SUCCESS', 5_000, 'the success indexed');
  await worker.close();
  await app.close();
  const before = first.events.read();
  await first.close();

  const second = await startBroker({ port: 0, host: '127.0.0.1', dataFile: file });
  t.teardown(() => second.close());
  const after = second.events.read();
  t.same(after.events.map((e) => [e.id, e.type]), before.events.map((e) => [e.id, e.type]), 'the same events, the same ids');
  const task = second.tasks.get(r.id);
  t.equal(task?.state, 'SUCCESS');
  t.equal(task?.result, 42);
  t.same(task?.timeline.map((e) => e.type), ['task-received', 'task-started', 'task-succeeded']);
  t.same(second.tasks.query({ name: 'restart.add' }).tasks.map((x) => x.id), [r.id]);
  const w = second.workers.list().find((x) => x.hostname === 'rs@test');
  t.equal(w?.online, false, 'the worker went offline before the restart');
  t.type(w?.offlineAt, 'number');
  t.equal(second.events.lastId, before.last, 'ids go on from where they were');
});
