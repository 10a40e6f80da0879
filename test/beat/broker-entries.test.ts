// Schedule entries in the broker through real sockets: upsert, list, pause, remove with revisions,
// run state kept across upserts, watch pushes (also after a reconnect), and bad input refused per
// request while the connection goes on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Connection } from '../../client/index.js';
import { startBroker, type Broker } from '../../server/index.js';
import type { Frame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/wait.js';
import { codeOf, fireOf, openClient, unique } from './broker-helpers.js';

const spec = (task: string, every = 1_000): string => JSON.stringify({ task, schedule: { kind: 'interval', every } });

t.test('upsert, list, pause and remove: revisions bump, run state and paused survive upserts', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await openClient(t, broker);
  const name = unique('tick');
  const queue = unique('q');
  await conn.assertQueue(queue, { durable: true });

  const made = await conn.upsertSchedule(name, spec('t.a'));
  t.match(made, { created: true, revision: Number }, 'created at a revision of its own');
  const r0 = made.revision;
  let [rec] = (await conn.listSchedules([name])).entries;
  t.match(rec, { name, spec: spec('t.a'), paused: false, source: 'api', lastRunAt: null, nextRunAt: null, runCount: 0, revision: r0 });
  t.ok(rec!.createdAt > 0 && rec!.updatedAt === rec!.createdAt, 'created and updated at the broker clock');

  t.same(await conn.upsertSchedule(name, spec('t.a'), { nextRunAt: 5_000, source: 'settings' }), { created: false, revision: r0 + 1 });
  const lease = await conn.acquireLease(unique('beat'), 'me', 60_000);
  const fired = await conn.fireSchedule(fireOf({ lease: lease.lease.name, holder: 'me', epoch: lease.lease.epoch, entry: name, revision: r0 + 1, scheduledAt: 5_000, nextRunAt: 6_000, queue, taskId: unique('id') }));
  t.match(fired, { fired: true, record: { lastRunAt: 5_000, nextRunAt: 6_000, runCount: 1, revision: r0 + 1 } });

  // A new spec keeps the run state and the stored next run when none is given.
  t.same(await conn.upsertSchedule(name, spec('t.b', 2_000)), { created: false, revision: r0 + 2 });
  [rec] = (await conn.listSchedules()).entries.filter((e) => e.name === name);
  t.match(rec, { spec: spec('t.b', 2_000), source: 'api', lastRunAt: 5_000, nextRunAt: 6_000, runCount: 1, revision: r0 + 2 });
  // null clears the next run (sent as false on the wire, apart from "left out").
  await conn.upsertSchedule(name, spec('t.b', 2_000), { nextRunAt: null });
  [rec] = (await conn.listSchedules([name])).entries;
  t.match(rec, { nextRunAt: null, lastRunAt: 5_000, runCount: 1, revision: r0 + 3 });

  const paused = await conn.pauseSchedule(name, true);
  t.match(paused, { name, paused: true, revision: r0 + 4 });
  await conn.upsertSchedule(name, spec('t.c'));
  [rec] = (await conn.listSchedules([name])).entries;
  t.match(rec, { paused: true, revision: r0 + 5 }, 'an upsert does not resume');
  t.match(await conn.pauseSchedule(name, false), { paused: false, revision: r0 + 6 });

  await conn.upsertSchedule(name, spec('t.c'), { resetState: true });
  [rec] = (await conn.listSchedules([name])).entries;
  t.match(rec, { lastRunAt: null, runCount: 0, revision: r0 + 7 }, 'resetState clears the run state');

  const other = unique('other');
  const otherMade = await conn.upsertSchedule(other, spec('t.o'));
  t.ok(otherMade.revision > r0 + 7, 'a new entry\'s revision is above every one handed out before in its vhost');
  t.same((await conn.listSchedules([other, name, 'nobody'])).entries.map((e) => e.name), [name, other].sort(), 'named ones that exist, by name');
  t.equal(await conn.removeSchedule(name), true);
  t.equal(await conn.removeSchedule(name), false, 'removing twice');
  t.same((await conn.listSchedules([name])).entries, []);
  t.equal(await codeOf(conn.pauseSchedule(name, true)), 'ERR_NOT_FOUND');
  const again = await conn.upsertSchedule(name, spec('t.a'));
  t.equal(again.created, true, 'a removed name starts over');
  t.ok(again.revision > otherMade.revision, 'at a revision its removed namesake never had');
  t.match((await conn.listSchedules([name])).entries, [{ lastRunAt: null, runCount: 0, revision: again.revision }], 'with no run state');
});

t.test('entries are per vhost', async (t) => {
  const broker = await startTestBroker(t, { vhosts: ['/', 'other'] });
  const a = await openClient(t, broker);
  const b = await openClient(t, `${broker.url}/other`);
  const name = unique('tick');
  await a.upsertSchedule(name, spec('t.a'));
  t.same((await b.listSchedules([name])).entries, [], 'not seen from another vhost');
  t.match(await b.upsertSchedule(name, spec('t.b')), { created: true, revision: Number }, 'created there, not changed');
});

t.test('a watcher is pushed the names of changed entries, not fires', async (t) => {
  const broker = await startTestBroker(t);
  const writer = await openClient(t, broker);
  const watcher = await openClient(t, broker);
  const seen: string[][] = [];
  const stop = await watcher.watchSchedules((names) => seen.push(names));
  const name = unique('tick');
  const queue = unique('q');
  await writer.assertQueue(queue);

  const { revision } = await writer.upsertSchedule(name, spec('t.a'));
  await until(() => seen.length === 1, 5_000, 'the upsert push');
  t.same(seen[0], [name]);
  const { lease } = await writer.acquireLease(unique('beat'), 'w', 60_000);
  t.match(await writer.fireSchedule(fireOf({ lease: lease.name, holder: 'w', epoch: lease.epoch, entry: name, revision, scheduledAt: 1, queue, taskId: unique('id') })), { fired: true }, 'a fire that changed the run state');
  await writer.pauseSchedule(name, true);
  await writer.pauseSchedule(name, false);
  await writer.removeSchedule(name);
  await until(() => seen.length === 4, 5_000, 'pause, resume and remove pushes');
  t.same(seen, [[name], [name], [name], [name]], 'the fire was not pushed');

  await stop();
  await writer.upsertSchedule(name, spec('t.a'));
  await writer.listSchedules(); // a round trip after the upsert: a push would have come before its answer
  await watcher.listSchedules();
  t.equal(seen.length, 4, 'nothing after stop');
});

t.test('a watch survives a reconnect, and reports [] after it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-beat-watch-'));
  const dataFile = join(dir, 'b.db');
  let broker: Broker = await startBroker({ port: 0, host: '127.0.0.1', dataFile, durability: 'process' });
  t.teardown(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const watcher: Connection = await openClient(t, broker, { reconnect: true });
  const seen: string[][] = [];
  await watcher.watchSchedules((names) => seen.push(names));

  const reconnected = new Promise<void>((resolve) => watcher.once('reconnected', () => resolve()));
  const port = broker.port;
  await broker.close();
  broker = await startBroker({ port, host: '127.0.0.1', dataFile, durability: 'process' });
  await reconnected;
  await until(() => seen.length === 1, 5_000, 'the [] after the reconnect');
  t.same(seen, [[]], 'told that changes may have been missed');

  const writer = await openClient(t, broker);
  const name = unique('tick');
  await writer.upsertSchedule(name, spec('t.a'));
  await until(() => seen.length === 2, 5_000, 'a push on the new socket');
  t.same(seen[1], [name]);
});

t.test('bad input fails the request, and the connection goes on', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await openClient(t, broker);
  const name = unique('tick');
  const { revision } = await conn.upsertSchedule(name, spec('t.a'));
  const { lease } = await conn.acquireLease(unique('beat'), 'me', 60_000);
  const fire = fireOf({ lease: lease.name, holder: 'me', epoch: lease.epoch, entry: name, revision, scheduledAt: 10, queue: 'nowhere', taskId: unique('id') });

  // Refused by the broker (what only it checks).
  t.equal(await codeOf(conn.upsertSchedule('x'.repeat(256), spec('t.a'))), 'ERR_INVALID_ARGUMENT', 'a name over 255 bytes');
  t.equal(await codeOf(conn.upsertSchedule('é'.repeat(128), spec('t.a'))), 'ERR_INVALID_ARGUMENT', 'a name over 255 bytes of UTF-8');
  t.equal(await codeOf(conn.upsertSchedule(name, '{"task":')), 'ERR_INVALID_ARGUMENT', 'a spec that is not JSON');
  t.equal(await codeOf(conn.upsertSchedule(name, JSON.stringify({ pad: 'x'.repeat(64 * 1024) }))), 'ERR_INVALID_ARGUMENT', 'a spec over 64 KiB');
  t.equal(await codeOf(conn.acquireLease(unique('beat'), 'me', 999)), 'ERR_INVALID_ARGUMENT', 'a ttl under 1 s');
  t.equal(await codeOf(conn.acquireLease(unique('beat'), 'me', 3_600_001)), 'ERR_INVALID_ARGUMENT', 'a ttl over 1 h');
  t.equal(await codeOf(conn.fireSchedule({ ...fire, publishes: [{ ...fire.publishes[0]!, exchange: 'no-such-exchange' }] })), 'ERR_NOT_FOUND', 'a publish to an unknown exchange');
  // Refused by the client before anything is sent (the codec would end the connection).
  t.equal(await codeOf(conn.fireSchedule({ ...fire, scheduledAt: 1.5 })), 'ERR_INVALID_ARGUMENT', 'a fractional scheduledAt');
  t.equal(await codeOf(conn.fireSchedule({ ...fire, epoch: -1 })), 'ERR_INVALID_ARGUMENT', 'a negative epoch');
  t.equal(await codeOf(conn.fireSchedule({ ...fire, publishes: [{ exchange: '', routingKey: 'q', body: 'text' as unknown as Uint8Array }] })), 'ERR_INVALID_ARGUMENT', 'a body that is not binary');
  t.equal(await codeOf(conn.upsertSchedule(name, { task: 't' } as unknown as string)), 'ERR_INVALID_ARGUMENT', 'a spec that is not text');
  t.equal(await codeOf(conn.upsertSchedule(name, spec('t.a'), { nextRunAt: Number.NaN })), 'ERR_INVALID_ARGUMENT', 'a NaN next run');
  t.equal(await codeOf(conn.pauseSchedule(name, 'yes' as unknown as boolean)), 'ERR_INVALID_ARGUMENT', 'paused not a boolean');

  t.ok(conn.connected, 'still connected');
  const [rec] = (await conn.listSchedules([name])).entries;
  t.match(rec, { revision, runCount: 0 }, 'nothing changed');
});

t.test('a raw client\'s out-of-range beat requests fail only those requests', async (t) => {
  // Kinds the codec takes, values only the broker refuses: what a client other than ours may send.
  const broker = await startTestBroker(t);
  const raw = await RawClient.connect(broker.url);
  t.teardown(() => raw.close());
  const code = async (frame: Frame & { id: number }): Promise<string> => {
    const reply = await raw.request(frame);
    return reply.op === OP.error ? reply.code : 'ok';
  };
  t.equal(await code({ op: OP.leaseRelease, id: raw.id(), name: 'l', holder: '', epoch: 1 }), 'ERR_INVALID_ARGUMENT', 'an empty holder');
  t.equal(await code({ op: OP.leaseAcquire, id: raw.id(), name: '', holder: 'h', ttl: 5_000 }), 'ERR_INVALID_ARGUMENT', 'an empty lease name');
  t.equal(await code({ op: OP.scheduleUpsert, id: raw.id(), name: 'n', spec: '{}', source: '' }), 'ERR_INVALID_ARGUMENT', 'an empty source');
  t.equal(await code({ op: OP.beatAdvance, id: raw.id(), lease: 'l', holder: 'h', epoch: 1, entry: 'e', revision: 1, nextRunAt: 5 }), 'ERR_STALE_LEASE', 'a lease never taken');
  t.equal(await code({ op: OP.scheduleList, id: raw.id() }), 'ok', 'the connection goes on');
  t.equal(raw.closed, null);
});
