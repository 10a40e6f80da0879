// Beat's store on Redis (client/result-backend/redis/beat-store.ts) through the BeatBackend
// contract, with broker-server's rules: entries with revisions (run state and paused kept across
// upserts), the lease (one winner of a race, renewal at the same epoch, epoch + 1 on a change of
// hands, release), fires (published through the paired transport with the task id PENDING, each
// scheduled time once, stale / changed / duplicate refused with nothing published, a refused
// publish giving the fire back), advance, watch pushes (and [] after Redis comes back), bad input.
// The transport is a broker-server here (ws:// + redis://, fast); the RabbitMQ pair runs in
// test/beat/redis-beat.test.ts.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { openBackends } from '../../client/app/backends.js';
import type { BeatFireRequest } from '../../client/beat/types.js';
import type { Connection } from '../../client/index.js';
import { RedisResults } from '../../client/result-backend/redis/backend.js';
import type { RedisBeatStore } from '../../client/result-backend/redis/beat-store.js';
import type { TaskLink } from '../../client/result-backend/result-backend.js';
import { CeleriacError } from '../../shared/errors.js';
import { startTestBroker } from '../helpers/broker.js';
import { redisCommands, startRedis, type TestRedis } from '../helpers/redis.js';
import { until, untilAsync } from '../helpers/wait.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;
const spec = (task: string, every = 1_000): string => JSON.stringify({ task, schedule: { kind: 'interval', every } });
const broker = await startTestBroker(t);
const redis = await startRedis(t);

interface Side {
  store: RedisBeatStore;
  link: TaskLink;
  conn: Connection;
}

/** A ws:// + redis:// link and the Redis beat store on it (fires publish through the link), closed at teardown. */
async function side(tt: Test, on: TestRedis = redis): Promise<Side> {
  const opened = await openBackends({ broker: broker.url, resultBackend: on.url, options: { reconnect: true, reconnectBackoff: { initial: 20, max: 200 } } });
  tt.teardown(() => opened.link.close());
  const results = opened.link.results;
  if (!(results instanceof RedisResults)) throw new Error('not the Redis result backend');
  return { store: results.beatStore((m) => opened.link.publishTracked(m)), link: opened.link, conn: opened.connection! };
}

/** A task message to `queue`, tracked as `taskId`. */
function fireOf(o: { lease: string; holder: string; epoch: number; entry: string; revision: number; scheduledAt: number; queue: string; taskId?: string; nextRunAt?: number | null }): BeatFireRequest {
  const taskId = o.taskId ?? unique('id');
  return {
    lease: o.lease, holder: o.holder, epoch: o.epoch, entry: o.entry, revision: o.revision, scheduledAt: o.scheduledAt,
    nextRunAt: o.nextRunAt === undefined ? o.scheduledAt + 1_000 : o.nextRunAt,
    publishes: [{ exchange: '', routingKey: o.queue, body: Buffer.from('[[16,16],{},{}]'), props: { correlationId: taskId, contentType: 'application/json', headers: { task: 't.add', id: taskId } }, track: { taskId } }],
  };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof CeleriacError ? err.code : `not a CeleriacError: ${String(err)}`;
  }
}

t.test('upsert, list, pause and remove: revisions bump, run state and paused survive upserts, kept in celeriac-beat-* keys', async (t) => {
  const { store, link, conn } = await side(t);
  const name = unique('tick');
  const queue = unique('q');
  await link.transport.assertQueue(queue);

  const made = await store.upsertSchedule(name, spec('t.a'));
  t.match(made, { created: true, revision: Number });
  const r0 = made.revision;
  t.ok(r0 > 1_000_000_000_000, 'a new entry starts at the clock (ms) or above: never a revision handed out before');
  let [rec] = (await store.listSchedules([name])).entries;
  t.match(rec, { name, spec: spec('t.a'), paused: false, source: 'api', lastRunAt: null, nextRunAt: null, runCount: 0, revision: r0 });
  t.ok(rec!.createdAt > 0 && rec!.updatedAt === rec!.createdAt, "created and updated at Redis' clock");
  const [raw] = await redisCommands(redis.port, [['HGETALL', `celeriac-beat-entry-${name}`]]) as string[][];
  const fields = Object.fromEntries(raw!.flatMap((v, i) => (i % 2 === 0 ? [[v, raw![i + 1]]] : [])));
  t.same(fields, {
    spec: spec('t.a'), paused: '0', source: 'api', lastRunAt: '', nextRunAt: '', runCount: '0', createdAt: String(rec!.createdAt), updatedAt: String(rec!.updatedAt), revision: String(r0),
  }, 'a hash under celeriac-beat-entry-<name>');

  t.same(await store.upsertSchedule(name, spec('t.a'), { nextRunAt: 5_000, source: 'settings' }), { created: false, revision: r0 + 1 });
  const { lease } = await store.acquireLease(unique('beat'), 'me', 60_000);
  const fired = await store.fireSchedule(fireOf({ lease: lease.name, holder: 'me', epoch: lease.epoch, entry: name, revision: r0 + 1, scheduledAt: 5_000, nextRunAt: 6_000, queue }));
  t.match(fired, { fired: true, record: { lastRunAt: 5_000, nextRunAt: 6_000, runCount: 1, revision: r0 + 1 } });
  t.equal((await conn.checkQueue(queue)).messageCount, 1, 'its message published');

  t.same(await store.upsertSchedule(name, spec('t.b', 2_000)), { created: false, revision: r0 + 2 });
  [rec] = (await store.listSchedules()).entries.filter((e) => e.name === name);
  t.match(rec, { spec: spec('t.b', 2_000), source: 'api', lastRunAt: 5_000, nextRunAt: 6_000, runCount: 1, revision: r0 + 2 }, 'a new spec keeps the run state and next run');
  await store.upsertSchedule(name, spec('t.b', 2_000), { nextRunAt: null });
  t.match((await store.listSchedules([name])).entries, [{ nextRunAt: null, lastRunAt: 5_000, runCount: 1, revision: r0 + 3 }], 'null clears the next run');

  t.match(await store.pauseSchedule(name, true), { name, paused: true, revision: r0 + 4 });
  await store.upsertSchedule(name, spec('t.c'));
  t.match((await store.listSchedules([name])).entries, [{ paused: true, revision: r0 + 5 }], 'an upsert does not resume');
  t.match(await store.pauseSchedule(name, false), { paused: false, revision: r0 + 6 });
  await store.upsertSchedule(name, spec('t.c'), { resetState: true });
  t.match((await store.listSchedules([name])).entries, [{ lastRunAt: null, runCount: 0, revision: r0 + 7 }], 'resetState clears the run state');

  const other = unique('other');
  const otherMade = await store.upsertSchedule(other, spec('t.o'));
  t.ok(otherMade.revision > r0 + 7, 'a new entry\'s revision is above every one handed out before');
  t.same((await store.listSchedules([other, name, 'nobody', name])).entries.map((e) => e.name), [name, other].sort(), 'named ones that exist, once, by name');
  t.equal(await store.removeSchedule(name), true);
  t.equal(await store.removeSchedule(name), false, 'removing twice');
  t.same((await store.listSchedules([name])).entries, []);
  t.same(await redisCommands(redis.port, [['EXISTS', `celeriac-beat-entry-${name}`, `celeriac-beat-fired-${name}`], ['SISMEMBER', 'celeriac-beat-entries', name]]), [0, 0], 'its keys are gone');
  t.equal(await codeOf(store.pauseSchedule(name, true)), 'ERR_NOT_FOUND');
  const again = await store.upsertSchedule(name, spec('t.a'));
  t.equal(again.created, true, 'a removed name starts over');
  t.ok(again.revision > otherMade.revision, 'at a revision its removed namesake never had');
  t.match((await store.listSchedules([name])).entries, [{ lastRunAt: null, runCount: 0, revision: again.revision }]);
});

t.test('the lease: one of two racing beats wins; renewal keeps the epoch; release and expiry hand it on at epoch + 1', async (t) => {
  const [a, b] = [await side(t), await side(t)];
  const name = unique('beat');
  const [ra, rb] = await Promise.all([a.store.acquireLease(name, 'beat-a', 30_000), b.store.acquireLease(name, 'beat-b', 30_000)]);
  t.equal([ra, rb].filter((r) => r.acquired).length, 1, 'exactly one acquired');
  const winner = ra.acquired ? 'beat-a' : 'beat-b';
  t.match([ra.lease, rb.lease], [{ holder: winner, epoch: 1 }, { holder: winner, epoch: 1 }], 'both see the winner at epoch 1');
  const [w, wName, l, lName] = ra.acquired ? [a, 'beat-a', b, 'beat-b'] : [b, 'beat-b', a, 'beat-a'];
  t.match(await l.store.acquireLease(name, lName, 30_000), { acquired: false, lease: { holder: winner, epoch: 1 } }, 'refused again');
  const renewed = await w.store.acquireLease(name, wName, 60_000);
  t.match(renewed, { acquired: true, lease: { holder: winner, epoch: 1 } }, 'renewed at the same epoch');
  t.ok(renewed.lease.expiresAt > ra.lease.expiresAt, 'for longer');
  t.match((await l.store.listSchedules()).leases.filter((x) => x.name === name), [{ name, holder: winner, epoch: 1, expiresAt: renewed.lease.expiresAt }], 'listed');
  t.same(await redisCommands(redis.port, [['HMGET', `celeriac-beat-lease-${name}`, 'holder', 'epoch'], ['PTTL', `celeriac-beat-lease-${name}`]]), [[winner, '1'], -1], 'one hash, no TTL: the epoch outlives the expiry');

  t.equal(await l.store.releaseLease(name, lName, 1), false, 'not the holder');
  t.equal(await w.store.releaseLease(name, wName, 7), false, 'not at that epoch');
  t.equal(await w.store.releaseLease(name, wName, 1), true);
  t.match((await a.store.listSchedules()).leases.filter((x) => x.name === name), [{ holder: null, epoch: 1 }], 'free, the epoch kept');
  t.equal(await w.store.releaseLease(name, wName, 1), false, 'released already');
  t.match(await l.store.acquireLease(name, lName, 1_000), { acquired: true, lease: { holder: lName, epoch: 2 } }, 'taken at once, one epoch on');

  // The shortest lease lapses; the next beat takes it (Redis' clock decides) one epoch on.
  let taken: Awaited<ReturnType<RedisBeatStore['acquireLease']>> | undefined;
  await untilAsync(async () => (taken = await w.store.acquireLease(name, wName, 60_000)).acquired, 10_000, 'the lapsed lease');
  t.match(taken, { acquired: true, lease: { holder: wName, epoch: 3 } });
  t.match(await a.store.acquireLease(unique('beat'), 'beat-a', 60_000), { acquired: true, lease: { epoch: 1 } }, 'leases are apart by name');
});

t.test('fires: the message published with its id PENDING; each time once; stale, changed and duplicate fires publish nothing', async (t) => {
  const { store, link, conn } = await side(t);
  const lease = unique('beat');
  const entry = unique('add');
  const queue = unique('q');
  await link.transport.assertQueue(queue);
  const { revision: first } = await store.upsertSchedule(entry, spec('t.add', 10_000));
  const { lease: held } = await store.acquireLease(lease, 'me', 60_000);
  const base = Math.floor(Date.now() / 60_000) * 60_000;
  const fire = (offset: number, o: { revision?: number; holder?: string; epoch?: number; taskId?: string } = {}) => fireOf({
    lease, holder: o.holder ?? 'me', epoch: o.epoch ?? held.epoch, entry, revision: o.revision ?? first, scheduledAt: base + offset, queue, ...(o.taskId === undefined ? {} : { taskId: o.taskId }),
  });
  const count = async (): Promise<number> => (await conn.checkQueue(queue)).messageCount;

  const taskId = unique('id');
  t.match(await store.fireSchedule({ ...fire(10_000, { taskId }), nextRunAt: base + 20_000 }), { fired: true, record: { name: entry, lastRunAt: base + 10_000, nextRunAt: base + 20_000, runCount: 1, revision: first } });
  t.match(await link.results.getResult(taskId), { state: 'PENDING' }, 'the task id is known at once (in Redis)');
  const msg = await conn.get(queue, { noAck: true });
  t.equal(msg?.properties.correlationId, taskId, 'the message is in its queue');
  t.same(await redisCommands(redis.port, [['ZRANGE', `celeriac-beat-fired-${entry}`, '0', '-1']]), [[String(base + 10_000)]], 'the fire log');

  t.same(await store.fireSchedule(fire(10_000)), { fired: false, reason: 'duplicate' }, 'the same time again');
  t.same(await store.fireSchedule(fire(5_000)), { fired: false, reason: 'duplicate' }, 'a time before the last run');
  const both = await Promise.all([store.fireSchedule(fire(20_000)), store.fireSchedule(fire(20_000))]);
  t.same(both.map((r) => r.fired).sort(), [false, true], 'the same fire twice at once: one');
  t.equal(await count(), 1, 'one message for the two');
  t.same(await store.upsertSchedule(entry, spec('t.add', 10_000), { resetState: true }), { created: false, revision: first + 1 });
  t.same(await store.fireSchedule(fire(10_000, { revision: first + 1 })), { fired: false, reason: 'duplicate' }, 'after a reset the fire log still refuses a fired time');
  t.match(await store.fireSchedule(fire(15_000, { revision: first + 1 })), { fired: true, record: { lastRunAt: base + 15_000, runCount: 1 } }, 'a time never fired');

  t.same(await store.fireSchedule(fire(30_000)), { fired: false, reason: 'changed' }, 'planned from an old revision');
  await store.pauseSchedule(entry, true);
  t.same(await store.fireSchedule(fire(30_000, { revision: first + 2 })), { fired: false, reason: 'changed' }, 'paused');
  await store.pauseSchedule(entry, false);

  // Another beat takes the lease (released here): the old holder's fire and advance are stale.
  t.equal(await store.releaseLease(lease, 'me', held.epoch), true);
  t.match(await store.acquireLease(lease, 'other', 60_000), { acquired: true, lease: { epoch: held.epoch + 1 } });
  const err = await store.fireSchedule(fire(30_000, { revision: first + 3 })).then(() => undefined, (e: unknown) => e);
  t.match(err, { code: 'ERR_STALE_LEASE', details: { lease, holder: 'me', epoch: held.epoch, currentHolder: 'other', currentEpoch: held.epoch + 1 } });
  t.match((err as Error).message, /is held by 'other' at epoch 2/);
  t.equal(await codeOf(store.advanceSchedule({ lease, holder: 'me', epoch: held.epoch, entry, revision: first + 3, nextRunAt: 1 })), 'ERR_STALE_LEASE', 'nor may it advance');
  t.equal(await codeOf(store.fireSchedule({ ...fire(30_000, { revision: first + 3 }), lease: unique('never') })), 'ERR_STALE_LEASE', 'a lease never taken');
  t.match(await store.fireSchedule(fire(30_000, { revision: first + 3, holder: 'other', epoch: held.epoch + 1 })), { fired: true }, 'the new holder fires that time');
  t.equal(await count(), 3, 'only fires made under the lease were published');

  // advance: the next run moves without a fire, under the same checks.
  const now = { lease, holder: 'other', epoch: held.epoch + 1, entry };
  t.match(await store.advanceSchedule({ ...now, revision: first + 3, nextRunAt: base + 90_000 }), { advanced: true, record: { lastRunAt: base + 30_000, nextRunAt: base + 90_000 } });
  t.match(await store.advanceSchedule({ ...now, revision: first + 9, nextRunAt: 1 }), { advanced: false, record: { revision: first + 3, nextRunAt: base + 90_000 } }, 'another revision');
  t.same(await store.advanceSchedule({ ...now, entry: 'nobody', revision: first, nextRunAt: 1 }), { advanced: false, record: null }, 'no such entry');

  // A plan from a removed entry does not fire its re-creation.
  await store.removeSchedule(entry);
  t.same(await store.fireSchedule(fire(40_000, { revision: first + 3, holder: 'other', epoch: held.epoch + 1 })), { fired: false, reason: 'changed' }, 'removed');
  const again = await store.upsertSchedule(entry, spec('t.add', 10_000));
  t.same(await store.fireSchedule(fire(40_000, { revision: first + 3, holder: 'other', epoch: held.epoch + 1 })), { fired: false, reason: 'changed' }, 'the old plan, after a re-creation');
  t.match(await store.fireSchedule(fire(40_000, { revision: again.revision, holder: 'other', epoch: held.epoch + 1 })), { fired: true }, 'a plan from the new entry fires');
  t.equal(await count(), 4);
});

t.test('a fire whose publish is refused is given back: the same time fires once the publish can go', async (t) => {
  const { store, link, conn } = await side(t);
  const entry = unique('add');
  const queue = unique('q');
  await link.transport.assertQueue(queue);
  const { revision } = await store.upsertSchedule(entry, spec('t.add'), { nextRunAt: 10_000 });
  const { lease } = await store.acquireLease(unique('beat'), 'me', 60_000);
  const req = fireOf({ lease: lease.name, holder: 'me', epoch: lease.epoch, entry, revision, scheduledAt: 10_000, nextRunAt: 11_000, queue });
  const refused = { ...req, publishes: [{ ...req.publishes[0]!, exchange: unique('no-such-exchange') }] };
  t.equal(await codeOf(store.fireSchedule(refused)), 'ERR_NOT_FOUND', "the transport's refusal");
  t.match((await store.listSchedules([entry])).entries, [{ lastRunAt: null, nextRunAt: 10_000, runCount: 0 }], 'the entry did not run');
  t.same(await redisCommands(redis.port, [['ZCARD', `celeriac-beat-fired-${entry}`]]), [0], 'nor is the time in the fire log');
  t.match(await store.fireSchedule(req), { fired: true, record: { lastRunAt: 10_000, nextRunAt: 11_000, runCount: 1 } });
  t.equal((await conn.checkQueue(queue)).messageCount, 1);
});

t.test('a watcher is told the names of changed entries (not fires), and [] once Redis is back after a drop', async (t) => {
  const own = await startRedis(t);
  const writer = await side(t, own);
  const watcher = await side(t, own);
  const seen: string[][] = [];
  const stop = await watcher.store.watchSchedules((names) => seen.push(names));
  const name = unique('tick');
  const queue = unique('q');
  await writer.link.transport.assertQueue(queue);
  const { revision } = await writer.store.upsertSchedule(name, spec('t.a'));
  await until(() => seen.length === 1, 5_000, 'the upsert push');
  t.same(seen[0], [name]);
  const { lease } = await writer.store.acquireLease(unique('beat'), 'w', 60_000);
  t.match(await writer.store.fireSchedule(fireOf({ lease: lease.name, holder: 'w', epoch: lease.epoch, entry: name, revision, scheduledAt: 1, queue })), { fired: true });
  await writer.store.pauseSchedule(name, true);
  await writer.store.pauseSchedule(name, false);
  await writer.store.removeSchedule(name);
  await until(() => seen.length === 4, 5_000, 'pause, resume and remove pushes');
  t.same(seen, [[name], [name], [name], [name]], 'the fire was not pushed');

  await own.restart();
  await until(() => seen.length === 5, 15_000, 'the [] after Redis came back');
  t.same(seen[4], [], 'told that changes may have been missed');
  const other = unique('tick');
  await untilAsync(async () => (await writer.store.upsertSchedule(other, spec('t.a')).then(() => true, () => false)), 15_000, 'the writer to reach Redis again');
  await until(() => seen.some((s) => s[0] === other), 5_000, 'a push after the reconnect');

  await stop();
  const count = seen.length;
  await writer.store.upsertSchedule(unique('late'), spec('t.a'));
  await writer.store.listSchedules();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(seen.length, count, 'nothing after stop');
});

t.test('bad input is refused with ERR_INVALID_ARGUMENT before Redis is asked', async (t) => {
  const { store } = await side(t);
  const name = unique('tick');
  const { revision } = await store.upsertSchedule(name, spec('t.a'));
  const { lease } = await store.acquireLease(unique('beat'), 'me', 60_000);
  const fire = fireOf({ lease: lease.name, holder: 'me', epoch: lease.epoch, entry: name, revision, scheduledAt: 10, queue: 'nowhere' });
  const bad: [string, Promise<unknown>][] = [
    ['a name over 255 bytes', store.upsertSchedule('x'.repeat(256), spec('t.a'))],
    ['a name over 255 bytes of UTF-8', store.upsertSchedule('é'.repeat(128), spec('t.a'))],
    ['a spec that is not JSON', store.upsertSchedule(name, '{"task":')],
    ['a spec over 64 KiB', store.upsertSchedule(name, JSON.stringify({ pad: 'x'.repeat(64 * 1024) }))],
    ['an empty source', store.upsertSchedule(name, spec('t.a'), { source: '' })],
    ['a NaN next run', store.upsertSchedule(name, spec('t.a'), { nextRunAt: Number.NaN })],
    ['a ttl under 1 s', store.acquireLease(unique('beat'), 'me', 999)],
    ['a ttl over 1 h', store.acquireLease(unique('beat'), 'me', 3_600_001)],
    ['an empty holder', store.releaseLease('l', '', 1)],
    ['a fractional scheduledAt', store.fireSchedule({ ...fire, scheduledAt: 1.5 })],
    ['a negative epoch', store.fireSchedule({ ...fire, epoch: -1 })],
    ['publishes not a list', store.fireSchedule({ ...fire, publishes: 'x' as unknown as [] })],
    ['paused not a boolean', store.pauseSchedule(name, 'yes' as unknown as boolean)],
  ];
  for (const [what, p] of bad) t.equal(await codeOf(p), 'ERR_INVALID_ARGUMENT', what);
  t.match((await store.listSchedules([name])).entries, [{ revision, runCount: 0 }], 'nothing changed');
});
