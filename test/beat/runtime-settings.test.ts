// beatSchedule in the settings goes into the broker when a beat starts: a new entry with its
// first run planned; a stored entry of the same name that differs is replaced and the log says
// so; an identical one is left as it is (run state kept); entries the settings do not name stay.
import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { appOn, beatOf, keptLog, unique } from './beat-helpers.js';

t.test('settings win over a stored entry of the same name, and the log says so', async (t) => {
  const broker = await startTestBroker(t);
  const api = appOn(t, broker.url);
  const shared = unique('shared');
  const mine = unique('from-settings');
  const other = unique('api-only');
  await api.schedules.upsert(shared, { task: 'tasks.old', schedule: 3_600_000, args: [1] });
  await api.schedules.upsert(other, { task: 'tasks.other', schedule: 3_600_000 });

  const beatSchedule = {
    [shared]: { task: 'tasks.add', schedule: 7_200_000, args: [16, 16] },
    [mine]: { task: 'tasks.add', schedule: { minutes: 30 } },
  };
  const kept = keptLog();
  const started = Date.now();
  const { beat } = beatOf(t, appOn(t, broker.url, { beatSchedule }), { log: kept.log, leaseTtl: 1_000 });
  await beat.start();
  t.same(kept.matching(/from settings replaces/), [`warn: beat: entry '${shared}' from settings replaces the stored one`], 'the replaced entry is named, once');

  const byName = new Map((await api.schedules.list()).entries.map((e) => [e.name, e]));
  const s = byName.get(shared)!;
  t.equal(s.source, 'settings');
  t.equal(s.task, 'tasks.add');
  t.same(s.entry?.args, [16, 16]);
  t.ok(s.nextRunAt !== null && s.nextRunAt.getTime() >= started + 7_200_000, 'its next run re-planned for the new interval');
  const m = byName.get(mine)!;
  t.equal(m.source, 'settings');
  t.ok(m.nextRunAt !== null && m.nextRunAt.getTime() >= started + 1_800_000 && m.nextRunAt.getTime() <= Date.now() + 1_800_000, 'a new entry: first run one interval on');
  t.equal(byName.get(other)?.source, 'api', 'an entry the settings do not name is left alone');
  await beat.close();

  // A second beat of the same settings finds them stored as they are: nothing replaced, nothing re-planned.
  const again = keptLog();
  const { beat: second } = beatOf(t, appOn(t, broker.url, { beatSchedule }), { log: again.log, leaseTtl: 1_000 });
  await second.start();
  t.same(again.matching(/replaces/), [], 'identical entries are not rewritten');
  const after = new Map((await api.schedules.list()).entries.map((e) => [e.name, e]));
  t.same(after.get(shared)!.nextRunAt, s.nextRunAt, 'run state kept');
  t.same(after.get(mine)!.nextRunAt, m.nextRunAt);
});

t.test('a bad settings entry is refused at new Celeriac(), naming it', async (t) => {
  const broker = await startTestBroker(t);
  t.throws(() => appOn(t, broker.url, { beatSchedule: { 'bad-tick': { task: 't', schedule: '61 * * * *' } } }), { code: 'ERR_INVALID_ARGUMENT', message: /bad-tick/ });
});
