// Beat state lives in the broker's store: last run, next run, run count and the lease epoch
// survive a restart of the beat and of the broker (a file database reopened), and a beat started
// afterwards continues from the stored next run: no scheduled time fired twice or skipped.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type Broker } from '../../server/index.js';
import { until } from '../helpers/wait.js';
import { appOn, beatOf, contiguous, explained, keptLog, publishedTimes, timesOf, unique, type KeptLog } from './beat-helpers.js';

function tempFile(t: Test, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-beat-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, name);
}

async function brokerOn(t: Test, dataFile: string, port = 0): Promise<Broker> {
  const broker = await startBroker({ port, host: '127.0.0.1', dataFile });
  t.teardown(() => broker.close());
  return broker;
}

const EVERY = 200;

/** At the end of a failing test: the beat's log, so an assertion failure explains itself too. */
function logIfFailing(t: Test, kept: KeptLog): void {
  if (t.passing()) return;
  t.comment('beat log:');
  for (const line of kept.timed()) t.comment(`  ${line}`);
}

t.test('state survives a restart of the beat and of the broker; the next beat continues', async (t) => {
  const dataFile = tempFile(t, 'beat.db');
  const name = unique('tick');
  // missed 'all': however long the restart takes, every scheduled time in between is sent once.
  const beatSchedule = { [name]: { task: 'tasks.tick', schedule: EVERY, missed: 'all' as const } };

  const broker1 = await brokerOn(t, dataFile);
  const first = beatOf(t, appOn(t, broker1.url, { beatSchedule }), { leaseTtl: 1_000 });
  await first.beat.start();
  await until(() => timesOf(first.fired, name).length >= 3, 10_000, 'fires before the restart');
  await first.beat.close();
  const firstEpoch = first.fired[0]!.epoch;
  const before = (await appOn(t, broker1.url).schedules.list()).entries.find((e) => e.name === name)!;
  await broker1.close();

  const broker2 = await brokerOn(t, dataFile);
  const api = appOn(t, broker2.url);
  const after = (await api.schedules.list()).entries.find((e) => e.name === name)!;
  t.equal(after.runCount, before.runCount, 'run count kept');
  t.same(after.lastRunAt, before.lastRunAt, 'last run kept');
  t.same(after.nextRunAt, before.nextRunAt, 'next run kept');
  t.equal(after.runCount, timesOf(first.fired, name).length, 'the count is what was fired');
  t.equal(after.source, 'settings');

  const kept = keptLog();
  const second = beatOf(t, appOn(t, broker2.url, { beatSchedule }), { leaseTtl: 1_000, log: kept.log });
  await second.beat.start();
  t.same(kept.matching(/replaces/), [], 'the same settings replace nothing');
  await explained(t, kept, until(() => timesOf(second.fired, name).length >= 3, 10_000, 'fires after the restart'));
  t.ok(second.fired[0]!.epoch > firstEpoch, `the lease epoch grows across the broker restart (${firstEpoch} -> ${second.fired[0]!.epoch})`);
  t.equal(timesOf(second.fired, name)[0], before.nextRunAt!.getTime(), 'the first fire after the restart is the stored next run');
  const all = [...timesOf(first.fired, name), ...timesOf(second.fired, name)];
  t.ok(contiguous(all, EVERY), `every scheduled time once, none skipped: ${all.map((x) => x - all[0]!).join(' ')}`);
  logIfFailing(t, kept);
});

t.test('a running beat rides out a broker restart on the same port', async (t) => {
  const dataFile = tempFile(t, 'beat.db');
  const name = unique('tick');
  const queue = unique('q');
  const beatSchedule = { [name]: { task: 'tasks.tick', schedule: EVERY, missed: 'all' as const, options: { queue } } };
  const broker1 = await startBroker({ port: 0, host: '127.0.0.1', dataFile });
  const port = Number(new URL(broker1.url).port);
  const kept = keptLog();
  const { beat, fired } = beatOf(t, appOn(t, broker1.url, { beatSchedule }), { leaseTtl: 1_000, log: kept.log });
  await beat.start();
  await explained(t, kept, until(() => timesOf(fired, name).length >= 2, 10_000, 'fires before the broker restart'));
  await broker1.close();
  // Markers in the beat's log, so a failure's log shows the restart among the beat's own lines.
  kept.log('info', 'test: the broker stopped');
  const countAtStop = timesOf(fired, name).length;
  const broker2 = await brokerOn(t, dataFile, port);
  kept.log('info', 'test: the broker is back on the same port');
  await explained(t, kept, until(() => timesOf(fired, name).length >= countAtStop + 3, 15_000, 'fires after the broker came back'));
  await beat.close();
  // Counted from the published messages (durable, so kept across the restart): a fire committed
  // just as the broker stopped is published even if its answer never reached the beat.
  const times = await publishedTimes(broker2.url, queue, name);
  t.ok(times.length >= countAtStop + 3);
  t.ok(contiguous(times, EVERY), `every scheduled time once across the broker restart: ${times.map((x) => x - times[0]!).join(' ')}`);
  t.equal(kept.matching(/^error:/).length, 0, 'no error logged');
  logIfFailing(t, kept);
});
