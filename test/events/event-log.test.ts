// The broker's event log without sockets: a real SQLite store and group commit, an injected clock.
// Capture and the id header, reads from a cursor, bad cursors, retention by count and by age, ids
// that keep growing across a reopen, and the task index read back from the log after a crash.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CeleriacError } from '../../shared/errors.js';
import { EVENT_ID_HEADER } from '../../shared/events.js';
import { EventLog } from '../../server/engine/event-log.js';
import type { EventRetention } from '../../server/engine/events-api.js';
import { GroupCommit, openSqliteStore, type BrokerStore } from '../../server/store/index.js';

interface Log { log: EventLog; store: BrokerStore; writer: GroupCommit; clock: { now: number }; errors: string[] }

function tempFile(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-eventlog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'broker.db');
}

/** An event log over `store` (a fresh in-memory one by default); the store is closed at teardown unless given. */
function openLog(t: Test, retention: Partial<EventRetention> = {}, given?: { store: BrokerStore; clock?: { now: number } }): Log {
  const store = given?.store ?? openSqliteStore({ file: ':memory:', durability: 'full' });
  const writer = new GroupCommit(store);
  const clock = given?.clock ?? { now: 1_000_000 };
  const errors: string[] = [];
  const log = new EventLog({
    store, writer, now: () => clock.now, log: (_level, msg) => errors.push(msg),
    retention: { maxCount: 100_000, maxAge: 86_400_000, ...retention }, vhostNames: () => ['/', 'other'],
  });
  t.teardown(() => {
    writer.close();
    if (given === undefined) store.close();
  });
  return { log, store, writer, clock, errors };
}

/** A Celery-shaped event body. */
function body(type: string, fields: Record<string, unknown> = {}): Uint8Array {
  return Buffer.from(JSON.stringify({ type, hostname: 'w1@h', timestamp: 1_700_000_000, ...fields }));
}

/** Captures one event (committed later with the writer), returning the id its live copies carry. */
function capture(l: Log, type: string, fields: Record<string, unknown> = {}, vhost = '/'): number {
  const props = l.log.capture(vhost, type.replace(/-/g, '.'), body(type, fields), { contentType: 'application/json' });
  return props?.headers?.[EVENT_ID_HEADER] as number;
}

/** Captures and commits one event: a chunk of its own (retention deletes whole chunks). */
function captureAlone(l: Log, type: string, fields: Record<string, unknown> = {}): number {
  const id = capture(l, type, fields);
  l.writer.flush();
  return id;
}

async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (err) {
    return err instanceof CeleriacError ? err.code : `not coded: ${String(err)}`;
  }
  return undefined;
}

t.test('capture: an increasing id in the live copy\'s header, the record in the log, a cursor to read on from', async (t) => {
  const l = openLog(t);
  const ids = [capture(l, 'task-received', { uuid: 'a' }), capture(l, 'task-started', { uuid: 'a' }), capture(l, 'worker-heartbeat'), capture(l, 'task-succeeded', { uuid: 'a', result: 1 })];
  t.same(ids, [1, 2, 3, 4]);
  t.equal(l.log.lastId, 4);
  const props = l.log.capture('/', 'task.sent', body('task-sent'), { contentType: 'application/json', headers: { mine: 'kept' } });
  t.same(props?.headers, { mine: 'kept', [EVENT_ID_HEADER]: 5 }, 'the publisher\'s headers stay');

  const first = l.log.read({ limit: 2 });
  t.same(first.events.map((e) => [e.id, e.type, e.routingKey]), [[1, 'task-received', 'task.received'], [2, 'task-started', 'task.started']]);
  t.same(first.events[0]!.data?.uuid, 'a', 'the body parsed');
  t.equal(first.next, 2, 'a full page: next = its last id');
  t.equal(first.last, 5);
  const rest = l.log.read({ since: first.next });
  t.same(rest.events.map((e) => e.id), [3, 4, 5]);
  t.equal(rest.next, 5, 'caught up: next reaches last');
  t.same(l.log.read({ since: 5 }).events, [], 'nothing after the newest');
  t.same(l.log.read({ types: ['task-started', 'task-sent'] }).events.map((e) => e.id), [2, 5], 'types filter');
  const cursorOnly = l.log.read({ limit: 0 });
  t.same([cursorOnly.events.length, cursorOnly.last], [0, 5], 'limit 0: only the cursor');
});

t.test('each vhost reads its own events; `from` starts at a time', async (t) => {
  const l = openLog(t);
  capture(l, 'task-received', { uuid: 'a' });
  l.clock.now += 10_000;
  const later = l.clock.now;
  capture(l, 'task-received', { uuid: 'b' }, 'other');
  capture(l, 'task-received', { uuid: 'c' });
  t.same(l.log.readRecords('/', {}).events.map((e) => e.id), [1, 3]);
  t.same(l.log.readRecords('other', {}).events.map((e) => e.id), [2]);
  t.same(l.log.read({ from: later }).events.map((e) => e.id), [2, 3], 'from the first stored at or after the time');
  t.same(l.log.read({ from: later + 1 }).events.map((e) => e.id), [], 'after the newest: nothing');
});

t.test('bad cursor input is refused with ERR_INVALID_ARGUMENT; a log that stores nothing with ERR_PRECONDITION_FAILED', async (t) => {
  const l = openLog(t);
  capture(l, 'task-received', { uuid: 'a' });
  for (const bad of [{ since: -1 }, { since: 1.5 }, { since: '3' }, { limit: 10_001 }, { limit: -1 }, { from: -5 }, { types: 'task-failed' }, { types: [1] }]) {
    t.equal(await codeOf(() => l.log.read(bad as never)), 'ERR_INVALID_ARGUMENT', JSON.stringify(bad));
  }
  let ahead: unknown;
  try {
    l.log.read({ since: 2 });
  } catch (err) {
    ahead = err;
  }
  t.ok(ahead instanceof CeleriacError && ahead.code === 'ERR_INVALID_ARGUMENT', 'a cursor beyond the newest id');
  t.same((ahead as CeleriacError).details, { since: 2, last: 1 });

  const off = openLog(t, { maxCount: 0 });
  const props = { contentType: 'application/json' };
  t.equal(off.log.capture('/', 'task.received', body('task-received', { uuid: 'x' }), props), props, 'stores nothing, adds no id');
  t.equal(off.log.enabled, false);
  t.equal(await codeOf(() => off.log.read()), 'ERR_PRECONDITION_FAILED');
  t.equal(openLog(t, { maxAge: 0 }).log.enabled, false, 'a max age of 0 stores nothing either');
});

t.test('retention by count keeps the newest events; tasks whose events are all gone leave the index', async (t) => {
  const l = openLog(t, { maxCount: 10 });
  for (let i = 0; i < 25; i++) captureAlone(l, 'task-received', { uuid: `t${i}`, name: 'tasks.add' });
  t.ok(l.log.tasks.get('/', 't0'), 'the first task is in the index');
  l.log.prune();
  const kept = l.log.read().events.map((e) => e.id);
  t.same(kept, Array.from({ length: 10 }, (_, i) => 16 + i), 'ids 16..25 kept');
  t.equal(l.log.stats.pruned, 15);
  t.equal(l.log.tasks.get('/', 't0'), null, 'a task whose only event was pruned is gone');
  t.equal(l.log.tasks.get('/', 't3'), null);
  t.ok(l.log.tasks.get('/', 't24'), 'a recent one stays');
  t.same(l.log.tasks.query({ limit: 1000 }).tasks.map((x) => x.id), Array.from({ length: 10 }, (_, i) => `t${24 - i}`), 'and listings hold only the kept');
  l.log.prune();
  t.equal(l.log.stats.pruned, 15, 'nothing more to prune');
});

t.test('retention deletes whole chunks (the events of one commit): one stays while any of its events is within the bounds', async (t) => {
  const l = openLog(t, { maxCount: 3 });
  for (let i = 0; i < 4; i++) capture(l, 'worker-heartbeat');
  l.writer.flush(); // one chunk: ids 1..4
  captureAlone(l, 'worker-heartbeat');
  l.log.prune();
  t.same(l.log.read().events.map((e) => e.id), [1, 2, 3, 4, 5], 'ids 3 and 4 are among the newest 3: the chunk stays');
  captureAlone(l, 'worker-heartbeat');
  captureAlone(l, 'worker-heartbeat');
  l.log.prune();
  t.same(l.log.read().events.map((e) => e.id), [5, 6, 7], 'once none of it is, it goes');
  t.equal(l.log.stats.pruned, 4);
});

t.test('a pruned task comes back with a later event, starting afresh', async (t) => {
  const l = openLog(t, { maxCount: 2 });
  captureAlone(l, 'task-received', { uuid: 'gone' });
  captureAlone(l, 'worker-heartbeat');
  captureAlone(l, 'worker-heartbeat');
  l.log.prune();
  t.equal(l.log.tasks.get('/', 'gone'), null);
  capture(l, 'task-started', { uuid: 'gone' });
  const again = l.log.tasks.get('/', 'gone');
  t.same(again?.info.state, 'STARTED', 'a later event starts it afresh');
  t.same(again?.info.firstEventId, 4);
});

t.test('retention by age deletes what is older, oldest first, and stops at the first young chunk', async (t) => {
  const l = openLog(t, { maxAge: 60_000 });
  capture(l, 'worker-online');
  captureAlone(l, 'task-received', { uuid: 'old' });
  l.clock.now += 30_000;
  captureAlone(l, 'task-received', { uuid: 'young' });
  l.clock.now += 30_001; // the first two are 60,001 ms old, the third 30,001 ms
  l.log.prune();
  t.same(l.log.read().events.map((e) => e.id), [3]);
  t.equal(l.log.tasks.get('/', 'old'), null);
  t.same(l.log.workers.list(), [], 'a worker whose events are all gone leaves the worker index');
  t.ok(l.log.tasks.get('/', 'young'));
});

t.test('ids keep growing after a reopen of the file, even when every event was pruned', async (t) => {
  const file = tempFile(t);
  const store1 = openSqliteStore({ file, durability: 'full' });
  const l1 = openLog(t, { maxCount: 2 }, { store: store1 });
  for (let i = 0; i < 5; i++) captureAlone(l1, 'worker-heartbeat');
  l1.log.prune();
  l1.writer.close();
  store1.close();
  const store2 = openSqliteStore({ file, durability: 'full' });
  t.teardown(() => store2.close());
  const l2 = openLog(t, { maxCount: 2 }, { store: store2 });
  t.equal(l2.log.lastId, 5);
  t.same(l2.log.read().events.map((e) => e.id), [4, 5], 'the kept ones survive');
  t.equal(capture(l2, 'worker-heartbeat'), 6);
});

t.test('after a crash the indexes are rebuilt from the stored events: nothing of them is written but the events', async (t) => {
  const file = tempFile(t);
  const store1 = openSqliteStore({ file, durability: 'full' });
  const l1 = openLog(t, {}, { store: store1 });
  capture(l1, 'task-received', { uuid: 'early', name: 'tasks.add', args: [1] });
  capture(l1, 'task-received', { uuid: 'x', name: 'tasks.add', args: [2, 3] });
  capture(l1, 'task-started', { uuid: 'x' });
  capture(l1, 'task-succeeded', { uuid: 'x', result: 5, runtime: 0.1 });
  capture(l1, 'worker-online', { freq: 2, pool: 'async', concurrency: 4 });
  l1.writer.flush(); // the events are committed
  store1.close(); // no close of the log: a crash

  const store2 = openSqliteStore({ file, durability: 'full' });
  t.teardown(() => store2.close());
  const l2 = openLog(t, {}, { store: store2 });
  const x = l2.log.tasks.get('/', 'x');
  t.equal(x?.info.state, 'SUCCESS', 'rebuilt from the log at start');
  t.same(x?.info.args, [2, 3]);
  t.equal(x?.info.result, 5);
  t.same(x?.events.map((e) => e.id), [2, 3, 4]);
  t.same(l2.log.tasks.get('/', 'early')?.events.map((e) => e.id), [1]);
  t.same(l2.log.tasks.query().tasks.map((x) => [x.id, x.state, x.name, x.worker]), [['x', 'SUCCESS', 'tasks.add', 'w1@h'], ['early', 'RECEIVED', 'tasks.add', 'w1@h']]);
  t.same(l2.log.workers.list().map((w) => [w.hostname, w.pool, w.concurrency]), [['w1@h', 'async', 4]]);
  t.same(l2.errors, []);
});
