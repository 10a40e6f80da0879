// app.schedules against a real broker: upsert, list, pause, resume, remove round trip; a bad
// entry refused at upsert naming it (nothing stored); a changed schedule re-plans its next run,
// another change keeps it; resume plans from now (runs missed while paused are not sent).
import t from 'tap';
import { CeleriacError } from '../../shared/errors.js';
import { startTestBroker } from '../helpers/broker.js';
import { appOn, unique } from './beat-helpers.js';

t.test('upsert, list, pause, resume, remove: a round trip through the broker', async (t) => {
  const broker = await startTestBroker(t);
  const app = appOn(t, broker.url);
  const name = unique('api-rt');
  const before = Date.now();
  const added = await app.schedules.upsert(name, { task: 'tasks.add', schedule: { seconds: 60 }, args: [16, 16], options: { queue: 'q1' } });
  t.equal(added.name, name);
  t.equal(added.task, 'tasks.add');
  t.equal(added.source, 'api');
  t.equal(added.paused, false);
  t.equal(added.runCount, 0);
  t.equal(added.lastRunAt, null);
  t.ok(added.nextRunAt !== null && added.nextRunAt.getTime() >= before + 60_000 && added.nextRunAt.getTime() <= Date.now() + 60_000, 'first run one interval after the upsert');
  t.equal(added.schedule, 'every 1 min', 'the schedule in words');
  t.same(added.entry?.args, [16, 16]);
  t.equal(added.entry?.options.queue, 'q1');

  // Another app (another connection, as the CLI would be) sees the same entry.
  const other = appOn(t, broker.url);
  const list = await other.schedules.list();
  t.same(list.entries.map((e) => e.name), [name]);
  t.equal(list.entries[0]!.task, 'tasks.add');
  t.equal(list.leader, null, 'no beat runs: nobody leads');

  const paused = await other.schedules.pause(name);
  t.equal(paused.paused, true);
  t.equal((await app.schedules.list()).entries[0]!.paused, true, 'paused as stored');
  const resumed = await app.schedules.resume(name);
  t.equal(resumed.paused, false);

  t.equal(await app.schedules.remove(name), true);
  t.equal(await app.schedules.remove(name), false, 'a second remove finds nothing');
  t.same((await other.schedules.list()).entries, []);
  await t.rejects(app.schedules.pause(name), { code: 'ERR_NOT_FOUND' }, 'pausing an unknown entry');
});

t.test('a bad entry is refused at upsert, naming it, and nothing is stored', async (t) => {
  const broker = await startTestBroker(t);
  const app = appOn(t, broker.url);
  const bad: [string, Parameters<typeof app.schedules.upsert>[1]][] = [
    [unique('bad-cron'), { task: 't.x', schedule: 'every tuesday-ish' }],
    [unique('bad-shape'), { task: 't.x', schedule: { fortnights: 2 } as never }],
    [unique('bad-zone'), { task: 't.x', schedule: '0 9 * * *', timezone: 'Mars/Olympus_Mons' }],
    [unique('no-task'), { schedule: 1000 } as never],
  ];
  for (const [name, entry] of bad) {
    const err = await app.schedules.upsert(name, entry).then(() => undefined, (e: unknown) => e);
    t.type(err, CeleriacError, name);
    t.equal((err as CeleriacError).code, 'ERR_INVALID_ARGUMENT', name);
    t.match((err as Error).message, name, `the error names '${name}'`);
  }
  t.same((await app.schedules.list()).entries, [], 'none was stored');
  await t.rejects(app.schedules.upsert('', { task: 't', schedule: 1000 }), { code: 'ERR_INVALID_ARGUMENT' }, 'an empty name');
});

t.test('a changed schedule re-plans the next run; other changes keep it', async (t) => {
  const broker = await startTestBroker(t);
  const app = appOn(t, broker.url);
  const name = unique('api-change');
  const first = await app.schedules.upsert(name, { task: 't.a', schedule: 3_600_000 });
  const argsOnly = await app.schedules.upsert(name, { task: 't.a', schedule: 3_600_000, args: [1] });
  t.same(argsOnly.nextRunAt, first.nextRunAt, 'new args: same next run');
  t.same(argsOnly.entry?.args, [1]);
  const retimed = await app.schedules.upsert(name, { task: 't.a', schedule: 60_000 });
  t.ok(retimed.nextRunAt !== null && retimed.nextRunAt.getTime() <= Date.now() + 60_000, 'a shorter interval: the next run moves up');
  const cron = await app.schedules.upsert(name, { task: 't.a', schedule: '0 0 1 1 *', timezone: 'Europe/Paris' });
  t.equal(cron.nextRunAt?.getUTCMonth(), 11, 'midnight on 1 January in Paris is 23:00 UTC on 31 December');
  t.equal(cron.nextRunAt?.getUTCHours(), 23);
  t.equal(cron.source, 'api');
});

t.test('resume plans from now: the runs that fell due while paused are not sent', async (t) => {
  const broker = await startTestBroker(t);
  let now = Date.parse('2026-12-03T10:00:00.000Z');
  const app = appOn(t, broker.url);
  // The API's clock is the app's Date.now; drive it through a second Schedules on the same connection.
  const { Schedules } = await import('../../client/index.js');
  const schedules = new Schedules({ backend: () => app.connection(), timezone: 'UTC', now: () => now });
  const name = unique('api-resume');
  const added = await schedules.upsert(name, { task: 't.a', schedule: 10_000 });
  t.equal(added.nextRunAt?.toISOString(), '2026-12-03T10:00:10.000Z');
  await schedules.pause(name);
  now += 3_600_000;
  const resumed = await schedules.resume(name);
  t.equal(resumed.paused, false);
  t.equal(resumed.nextRunAt?.toISOString(), '2026-12-03T11:00:10.000Z', 'one interval after the resume');
});

t.test('app.beat() checks its options at once', async (t) => {
  const broker = await startTestBroker(t);
  const app = appOn(t, broker.url);
  t.throws(() => app.beat({ leaseTtl: 500 }), { code: 'ERR_INVALID_ARGUMENT', message: /leaseTtl/ });
  t.throws(() => app.beat({ maxInterval: 0 }), { code: 'ERR_INVALID_ARGUMENT', message: /maxInterval/ });
  t.throws(() => app.beat({ lease: '' }), { code: 'ERR_INVALID_ARGUMENT', message: /lease/ });
  const beat = app.beat({ holder: 'me' });
  t.equal(beat.holder, 'me');
  t.equal(beat.leaseTtl, 10_000, 'defaults: a 10 s lease');
  t.equal(beat.maxInterval, 5_000, 'and a 5 s max interval');
  t.match(app.beat().holder, /^[^:]+:\d+:[0-9a-f]{8}$/, 'host:pid:random');
  await t.rejects(async () => { await beat.close(); await beat.start(); }, { code: 'ERR_INVALID_ARGUMENT' }, 'a closed beat does not start');
});
