// The stored event history through a real broker and a real worker: events read back from a
// cursor (the ids live subscribers see), the task index (a failure with its traceback, a success
// with its result and timeline, queries), the worker index (online, then offline), bad cursors.
import t from 'tap';
import { CeleriacError, type AnyEvent, type EventInfo } from '../../client/index.js';
import { taskEnv } from '../tasks/task-helpers.js';
import { until } from '../helpers/wait.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof CeleriacError ? err.code : `not coded: ${String(err)}`;
  }
  return undefined;
}

t.test('a worker\'s events are stored and read back from a cursor, with the ids live subscribers saw', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  const live: [AnyEvent, EventInfo][] = [];
  const sub = await app.events.subscribe({ '*': (e, info) => live.push([e, info]) });
  t.teardown(() => sub.close());
  const workerApp = newApp();
  workerApp.task('hist.add', (a: number, b: number) => a + b);
  await startWorker(workerApp, { sendEvents: true, hostname: 'hist@test' });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await app.sendTask('hist.add', [i, 1]);
    t.equal(await r.get({ timeout: 5_000 }), i + 1);
    ids.push(r.id);
  }
  await until(() => live.filter(([e]) => e.type === 'task-succeeded').length === 3, 5_000, 'three task-succeeded live');

  const all = await app.events.history();
  const stored = all.events;
  // Per task in order; across tasks they may interleave (a result reaches the producer, which
  // sends the next task, before the worker's task-succeeded reaches the broker).
  for (const id of ids) {
    const own = stored.filter((e) => 'uuid' in e.event && e.event.uuid === id).map((e) => e.event.type);
    t.same(own, ['task-received', 'task-started', 'task-succeeded'], `task ${id}'s events in order`);
  }
  t.equal(stored.filter((e) => e.event.type.startsWith('task-')).length, 9, 'three events per task, nothing else');
  t.equal(stored[0]!.event.type, 'worker-online');
  t.ok(stored.every((e, i) => i === 0 || e.id > stored[i - 1]!.id), 'ids increase');
  t.ok(all.next >= all.last, 'one read caught up');
  const liveIds = new Map(live.map(([e, info]) => [`${e.type}:${'uuid' in e ? e.uuid : ''}:${e.clock}`, info.id]));
  for (const s of stored) t.equal(liveIds.get(`${s.event.type}:${'uuid' in s.event ? s.event.uuid : ''}:${s.event.clock}`), s.id, `live ${s.event.type} carried id ${s.id}`);
  t.ok(live.every(([, info]) => info.replayed === false), 'live events are not replayed ones');

  // Paging: two at a time from the start, following `next`, gives the same events.
  const paged: number[] = [];
  let cursor = 0;
  for (let guard = 0; guard < 50; guard++) {
    const page = await app.events.history({ since: cursor, limit: 2 });
    paged.push(...page.events.map((e) => e.id));
    cursor = page.next;
    if (cursor >= page.last) break;
  }
  t.same(paged.filter((id) => stored.some((s) => s.id === id)), stored.map((s) => s.id));
  const failedOnly = await app.events.history({ types: ['task-succeeded'] });
  t.same(failedOnly.events.map((e) => (e.event.type === 'task-succeeded' ? e.event.uuid : '')), ids, 'filtered by type');
  const fromNow = await app.events.history({ from: new Date(Date.now() + 60_000) });
  t.same(fromNow.events, [], 'from a time after every event: none');
});

t.test('the task index: a failure with its traceback, a success with its result and timeline, queries and paging', async (t) => {
  const { app, newApp, broker, startWorker } = await taskEnv(t);
  const workerApp = newApp();
  workerApp.task('idx.add', (a: number, b: number) => a + b);
  workerApp.task('idx.boom', () => {
    throw new TypeError('the index saw this');
  });
  await startWorker(workerApp, { sendEvents: true, hostname: 'idx@test' });
  const ok = await app.sendTask('idx.add', [20, 22]);
  const bad = await app.sendTask('idx.boom', []);
  t.equal(await ok.get({ timeout: 5_000 }), 42);
  await bad.get({ timeout: 5_000, propagate: false });
  await until(() => broker.tasks.get(bad.id)?.state === 'FAILURE' && broker.tasks.get(ok.id)?.state === 'SUCCESS', 5_000, 'both final in the index');

  const failed = broker.tasks.get(bad.id)!;
  t.equal(failed.name, 'idx.boom');
  t.equal(failed.exception, 'TypeError: the index saw this');
  t.match(failed.traceback, /^TypeError: the index saw this\n\s+at /, 'the traceback');
  t.equal(failed.kwargs, '{}', 'arguments as the events carry them: the caller\'s repr');
  t.equal(failed.worker, 'idx@test');
  t.equal(failed.queue, 'default');
  t.type(failed.runtime, 'number');
  t.same(failed.timeline.map((e) => e.type), ['task-received', 'task-started', 'task-failed']);
  t.equal(failed.timeline[2]!.data?.exception, 'TypeError: the index saw this');

  const done = broker.tasks.get(ok.id)!;
  t.equal(done.state, 'SUCCESS');
  t.equal(done.result, 42);
  t.equal(done.args, '[20, 22]');
  t.equal(done.retries, 0);
  t.ok(done.received! <= done.started! && done.started! <= done.succeeded!, 'received <= started <= succeeded');
  t.same(done.timeline.map((e) => e.type), ['task-received', 'task-started', 'task-succeeded']);
  t.equal(broker.tasks.get(ok.id, '/')?.id, ok.id, 'by vhost too');
  t.equal(broker.tasks.get('no-such-task'), null);

  t.same(broker.tasks.query({ state: 'FAILURE' }).tasks.map((x) => x.id), [bad.id]);
  t.same(broker.tasks.query({ name: 'idx.add' }).tasks.map((x) => x.id), [ok.id]);
  t.same(broker.tasks.query({ worker: 'idx@test' }).tasks.map((x) => x.id), [bad.id, ok.id], 'newest first');
  t.same(broker.tasks.query({ search: 'boom' }).tasks.map((x) => x.id), [bad.id]);
  t.same(broker.tasks.query({ search: ok.id.slice(0, -3).toUpperCase() }).tasks.map((x) => x.id), [ok.id], 'an id prefix, any case');
  t.same(broker.tasks.query({ from: Date.now() + 60_000 }).tasks, []);
  const page1 = broker.tasks.query({ limit: 1 });
  t.same(page1.tasks.map((x) => x.id), [bad.id]);
  t.not(page1.cursor, null);
  const page2 = broker.tasks.query({ limit: 1, cursor: page1.cursor! });
  t.same(page2.tasks.map((x) => x.id), [ok.id]);
  t.equal(broker.tasks.query({ limit: 1, cursor: page2.cursor! }).tasks.length, 0);
  t.throws(() => broker.tasks.query({ limit: 5_000 }), { code: 'ERR_INVALID_ARGUMENT' });
  t.throws(() => broker.tasks.query({ state: 3 } as never), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('the worker index: online with its pool and concurrency, then offline', async (t) => {
  const { newApp, broker, startWorker } = await taskEnv(t);
  const workerApp = newApp();
  const w = await startWorker(workerApp, { hostname: 'wix@test', concurrency: 3, heartbeatInterval: 100 });
  await until(() => broker.workers.list().some((x) => x.hostname === 'wix@test' && x.online), 5_000, 'online');
  const online = broker.workers.list().find((x) => x.hostname === 'wix@test')!;
  t.equal(online.pool, 'async');
  t.equal(online.concurrency, 3);
  t.same(online.queues, ['default']);
  t.equal(online.freq, 0.1);
  t.equal(online.offlineAt, null);
  t.equal(online.swIdent, 'celeriac');
  await until(() => (broker.workers.list().find((x) => x.hostname === 'wix@test')?.lastEventId ?? 0) > online.lastEventId, 5_000, 'a heartbeat');
  await w.close();
  await until(() => broker.workers.list().find((x) => x.hostname === 'wix@test')?.online === false, 5_000, 'offline');
  t.type(broker.workers.list().find((x) => x.hostname === 'wix@test')?.offlineAt, 'number');
  t.same(broker.workers.list('other-vhost'), []);
});

t.test('bad cursors are refused with ERR_INVALID_ARGUMENT, and the connection goes on', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  await startWorker(newApp(), { hostname: 'cur@test' });
  await until(() => true);
  const { last } = await app.events.history({ limit: 0 });
  for (const bad of [{ since: -1 }, { since: 2.5 }, { since: Number.NaN }, { limit: 10_001 }, { types: 'task-failed' }, { from: 'yesterday' }]) {
    t.equal(await codeOf(app.events.history(bad as never)), 'ERR_INVALID_ARGUMENT', JSON.stringify(bad));
  }
  t.equal(await codeOf(app.events.history({ since: last + 1_000 })), 'ERR_INVALID_ARGUMENT', 'a cursor beyond the newest id (the broker says so)');
  t.equal(await codeOf(app.events.subscribe({ '*': () => undefined }, { since: last + 1_000 })), 'ERR_INVALID_ARGUMENT', 'subscribe refuses it too');
  t.equal(await codeOf(app.events.subscribe({ '*': () => undefined }, { since: -3 })), 'ERR_INVALID_ARGUMENT');
  t.equal((await app.events.history({ since: last })).events.length, 0, 'the connection still answers');
});

t.test('a broker that stores no events: reads refused, live events without ids', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t, {}, { eventsMaxCount: 0 });
  t.equal(await codeOf(app.events.history()), 'ERR_PRECONDITION_FAILED');
  t.equal(await codeOf(app.events.subscribe({ '*': () => undefined }, { since: 0 })), 'ERR_PRECONDITION_FAILED');
  const seen: EventInfo[] = [];
  const sub = await app.events.subscribe({ 'worker-online': (_e, info) => seen.push(info) });
  t.teardown(() => sub.close());
  await startWorker(newApp(), { hostname: 'none@test' });
  await until(() => seen.length === 1, 5_000, 'worker-online live');
  t.equal(seen[0]!.id, undefined);
  t.equal(sub.lastId, 0);
});

t.test('retention through the broker\'s options: the newest N events are kept, older tasks leave the index', async (t) => {
  const { app, newApp, broker, startWorker } = await taskEnv(t, {}, { eventsMaxCount: 6 });
  const workerApp = newApp();
  workerApp.task('ret.add', (a: number, b: number) => a + b);
  await startWorker(workerApp, { sendEvents: true, hostname: 'ret@test', heartbeatInterval: 0 });
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await app.sendTask('ret.add', [i, 1]);
    await r.get({ timeout: 5_000 });
    ids.push(r.id);
  }
  await until(() => broker.tasks.get(ids[3]!)?.state === 'SUCCESS', 5_000, 'the last task indexed');
  const last = broker.events.lastId;
  t.equal(last, 13, 'worker-online and three events per task');
  // The sweeper prunes once a second, a commit's batch of events at a time: the newest 6 stay,
  // with whatever older event was stored in the same batch as the oldest of them.
  await until(() => broker.tasks.get(ids[0]!) === null, 5_000, 'the first task pruned');
  const kept = broker.events.read().events.map((e) => e.id);
  t.same(kept.slice(-6), [8, 9, 10, 11, 12, 13], 'the newest 6 are kept');
  t.ok(kept.length < 13 && kept[0]! > 2, `older events are gone (kept ${kept.join(', ')})`);
  t.equal(broker.tasks.get(ids[3]!)?.state, 'SUCCESS');
  t.same((await app.events.history()).events.map((e) => e.id), kept, 'readers see the same');
});
