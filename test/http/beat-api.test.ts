// GET /api/beat over real HTTP: entries written by app.schedules read back with their task, their
// schedule in the same words app.schedules.list() uses, their next run and pause state; a running
// beat's lease and run counts; vhost filtering; an unreadable spec shown as such.
import t from 'tap';
import { connect } from '../../client/index.js';
import { api, type ErrorJson } from '../helpers/http.js';
import { untilAsync } from '../helpers/wait.js';
import { EYE, taskApiEnv, unique } from './task-helpers.js';

interface EntryJson {
  vhost: string; name: string; task: string | null; schedule: string; args: unknown[] | null; kwargs: Record<string, unknown> | null;
  options: Record<string, unknown> | null; timezone: string | null; error?: string; spec: string; paused: boolean; source: string;
  lastRunAt: number | null; nextRunAt: number | null; runCount: number;
}
interface LeaseJson { vhost: string; name: string; holder: string | null; epoch: number; expiresAt: number }
interface BeatJson { entries: EntryJson[]; leases: LeaseJson[] }

t.test('entries with their task, schedule in words and next run, as app.schedules lists them; a running beat leads and fires', async (t) => {
  const env = await taskApiEnv(t);
  const app = env.newApp();
  const every = unique('every');
  const cron = unique('cron');
  const once = unique('once');
  const at = new Date(Date.now() + 3_600_000);
  await app.schedules.upsert(every, { task: 'tasks.add', schedule: { minutes: 5 }, args: [16, 16], kwargs: { z: 1 }, options: { queue: 'q1' } });
  await app.schedules.upsert(cron, { task: 'tasks.report', schedule: '0 9 * * 1', timezone: 'Europe/Paris' });
  await app.schedules.upsert(once, { task: 'tasks.once', schedule: { at } });
  await app.schedules.pause(cron);

  const res = await api<BeatJson>(env.broker, '/api/beat', { auth: EYE });
  t.equal(res.status, 200);
  const listed = (await app.schedules.list()).entries;
  t.same(res.body.entries.map((e) => e.name).sort(), [every, cron, once].sort());
  for (const info of listed) {
    const e = res.body.entries.find((x) => x.name === info.name)!;
    t.equal(e.task, info.task, `${info.name}: task`);
    t.equal(e.schedule, info.schedule, `${info.name}: the schedule in list()'s words (${info.schedule})`);
    t.equal(e.nextRunAt, info.nextRunAt?.getTime() ?? null, `${info.name}: next run`);
    t.equal(e.paused, info.paused, `${info.name}: paused`);
    t.equal(e.vhost, '/');
    t.equal(e.source, 'api');
    t.equal(e.runCount, 0);
  }
  const e = res.body.entries.find((x) => x.name === every)!;
  t.match(e, { schedule: 'every 5 min', args: [16, 16], kwargs: { z: 1 }, options: { queue: 'q1' }, lastRunAt: null });
  t.equal(res.body.entries.find((x) => x.name === once)!.nextRunAt, at.getTime(), 'a one-off runs at its time');
  t.equal(res.body.entries.find((x) => x.name === cron)!.paused, true);
  t.same(res.body.leases, [], 'no beat runs: no lease');

  // A running beat: the lease shows its holder, and an entry's run count and last run move.
  const tick = unique('tick');
  await app.schedules.upsert(tick, { task: 'tasks.tick', schedule: 200, options: { queue: unique('tick-q') } });
  const beat = app.beat({ log: () => undefined });
  t.teardown(() => beat.close());
  await beat.start();
  await untilAsync(async () => {
    const b = (await api<BeatJson>(env.broker, '/api/beat', { auth: EYE })).body;
    return (b.entries.find((x) => x.name === tick)?.runCount ?? 0) >= 2 && b.leases.some((l) => l.holder !== null);
  }, 10_000, 'the beat to lead and fire twice');
  const running = (await api<BeatJson>(env.broker, '/api/beat?vhost=%2F', { auth: EYE })).body;
  const ticked = running.entries.find((x) => x.name === tick)!;
  t.ok(ticked.lastRunAt !== null && ticked.nextRunAt !== null && ticked.nextRunAt > ticked.lastRunAt, 'last and next run');
  t.match(running.leases[0], { vhost: '/', name: 'beat' });
  t.type(running.leases[0]!.holder, 'string');
});

t.test('vhosts: a user limited to one sees only its entries; an unreadable spec is shown as such; refusals', async (t) => {
  const env = await taskApiEnv(t, {
    vhosts: ['/', 'team'],
    users: [
      { user: 'admin', password: 'adm1n', tags: ['administrator'] },
      { user: 'eye', password: 'w4tch', tags: ['monitoring'] },
      { user: 'teamer', password: 't3am', tags: ['monitoring'], vhosts: ['team'] },
    ],
  });
  const root = env.newApp();
  const team = env.newApp({ broker: `${env.url}/team` });
  const mine = unique('root-entry');
  const theirs = unique('team-entry');
  await root.schedules.upsert(mine, { task: 'tasks.a', schedule: 1_500 });
  await team.schedules.upsert(theirs, { task: 'tasks.b', schedule: { hours: 2 } });
  // An entry written by hand through the protocol, not by celeriac's beat: shown, flagged unreadable.
  const raw = await connect(env.url, { reconnect: false });
  t.teardown(() => raw.close());
  const odd = unique('odd');
  await raw.upsertSchedule(odd, JSON.stringify({ task: 'tasks.c', schedule: { kind: 'fortnightly' } }), {});

  const all = (await api<BeatJson>(env.broker, '/api/beat', { auth: EYE })).body;
  t.same(all.entries.map((e) => [e.vhost, e.name]).sort(), [['/', mine], ['/', odd], ['team', theirs]].sort(), 'every vhost');
  t.match(all.entries.find((e) => e.name === mine), { schedule: 'every 1500 ms', task: 'tasks.a' });
  t.match(all.entries.find((e) => e.name === theirs), { schedule: 'every 2 h', vhost: 'team' });
  t.match(all.entries.find((e) => e.name === odd), { task: null, schedule: 'unreadable', error: /shape/ });

  const { basic } = await import('../helpers/http.js');
  const TEAM = basic('teamer', 't3am');
  const limited = (await api<BeatJson>(env.broker, '/api/beat', { auth: TEAM })).body;
  t.same(limited.entries.map((e) => e.name), [theirs], 'only its vhost');
  t.equal((await api<ErrorJson>(env.broker, '/api/beat?vhost=%2F', { auth: TEAM })).status, 403, 'naming a vhost it may not use');
  t.equal((await api<ErrorJson>(env.broker, '/api/beat?vhost=nowhere', { auth: EYE })).status, 404);
  t.equal((await api<ErrorJson>(env.broker, '/api/beat', { auth: null })).status, 401);
  t.equal((await api<ErrorJson>(env.broker, '/api/beat?colour=red', { auth: EYE })).status, 400);
});
