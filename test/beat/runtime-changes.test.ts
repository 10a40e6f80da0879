// A running beat picks up entries added, paused, resumed and removed through app.schedules without
// a restart, woken by the broker's change push (its maxInterval is a minute, far past every wait
// here). An entry whose stored spec cannot be read is logged and skipped; the others go on.
import t from 'tap';
import { connect } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { sleep, until, untilAsync } from '../helpers/wait.js';
import { appOn, beatOf, keptLog, timesOf, unique } from './beat-helpers.js';

t.test('added, paused, resumed and removed at run time, picked up without a restart', async (t) => {
  const broker = await startTestBroker(t);
  const api = appOn(t, broker.url);
  const app = appOn(t, broker.url);
  const kept = keptLog();
  const { beat, fired } = beatOf(t, app, { maxInterval: 60_000, leaseTtl: 1_000, log: kept.log });
  await beat.start();
  await until(() => beat.leading, 5_000, 'the only beat leading');
  t.match(kept.matching(/leads \(epoch \d+\)/), [new RegExp(`beat: ${beat.holder} leads`)], 'the log says who leads');

  const name = unique('tick');
  const queue = unique('q');
  await api.schedules.upsert(name, { task: 'tasks.tick', schedule: 150, options: { queue } });
  await until(() => timesOf(fired, name).length >= 3, 10_000, 'fires of the added entry');
  t.ok(kept.matching(new RegExp(`beat: fired '${name}' \\(tasks\\.tick\\) for \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\[[0-9a-f-]{36}\\]`)).length >= 3, 'each fire logged with entry, task, scheduled time and id');

  await api.schedules.pause(name);
  // A fire committed just before the pause may still be reported; after that the count holds.
  const settled = (await api.schedules.list()).entries[0]!.runCount;
  await sleep(600);
  t.equal((await api.schedules.list()).entries[0]!.runCount, settled, 'no run while paused');
  t.equal(timesOf(fired, name).length, settled, 'the beat fired exactly what the broker counted');

  const resumedAt = Date.now();
  await api.schedules.resume(name);
  await until(() => timesOf(fired, name).length >= settled + 2, 10_000, 'fires after the resume');
  t.ok(timesOf(fired, name).slice(settled).every((at) => at >= resumedAt), 'nothing from the paused stretch was sent');

  await api.schedules.remove(name);
  // A fire publishes in the transaction that records it, so the queue holds every fire committed
  // before the remove; any later one would be refused (the entry is gone).
  const conn = await connect(broker.url);
  t.teardown(() => conn.close());
  const atRemove = (await conn.checkQueue(queue)).messageCount;
  await sleep(600);
  t.equal((await conn.checkQueue(queue)).messageCount, atRemove, 'a removed entry fires no more');
  t.equal(timesOf(fired, name).length, atRemove, 'one task message per fire');
  t.equal(new Set(timesOf(fired, name)).size, timesOf(fired, name).length, 'no scheduled time fired twice');
});

t.test('an entry whose stored spec cannot be read is logged and skipped; the others fire', async (t) => {
  const broker = await startTestBroker(t);
  const api = appOn(t, broker.url);
  const conn = await connect(broker.url);
  t.teardown(() => conn.close());
  const broken = unique('broken');
  // Written past app.schedules (another client, an older version): not an entry this beat can read.
  await conn.upsertSchedule(broken, '{"task": 42}', { nextRunAt: Date.now() });
  const good = unique('good');
  await api.schedules.upsert(good, { task: 'tasks.tick', schedule: 100 });
  const kept = keptLog();
  const { beat, fired } = beatOf(t, appOn(t, broker.url), { maxInterval: 60_000, leaseTtl: 1_000, log: kept.log });
  await beat.start();
  await until(() => timesOf(fired, good).length >= 3, 10_000, 'fires of the good entry');
  t.equal(timesOf(fired, broken).length, 0);
  t.equal(kept.matching(new RegExp(`error: beat: entry '${broken}' cannot be read`)).length, 1, 'logged once, not on every pass');
  const list = await api.schedules.list();
  const shown = list.entries.find((e) => e.name === broken)!;
  t.equal(shown.task, null);
  t.ok(shown.error, 'list says why it cannot be read');
  t.equal(list.leader?.holder, beat.holder, 'list shows the leading beat');
  await untilAsync(async () => (await api.schedules.list()).entries.find((e) => e.name === good)!.runCount >= 3, 5_000, 'runs counted in the broker');
});
