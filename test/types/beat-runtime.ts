// Type test: app.beat() and app.schedules as a user writes them, from the package's public
// exports. Compiled by `tsc -p test/types/tsconfig.json`; never run.
import { Celeriac, type Beat, type BeatFired, type BeatLeader, type ScheduleInfo, type ScheduleList } from '../../client/index.js';

export async function uses(app: Celeriac): Promise<void> {
  const beat: Beat = app.beat({ maxInterval: 2_000, leaseTtl: 5_000, log: (level, message) => void [level, message] });
  beat.on('fired', (f: BeatFired) => {
    const when: Date = f.scheduledAt;
    const id: string = f.id;
    void [when, id];
  });
  beat.on('close', (err) => { if (err !== undefined) void err.message; });
  await beat.start();
  const added: ScheduleInfo = await app.schedules.upsert('tick', { task: 'tasks.add', schedule: { seconds: 10 }, args: [16, 16] });
  const next: Date | null = added.nextRunAt;
  void next;
  await app.schedules.upsert('report', { task: 'tasks.report', schedule: '0 9 * * mon-fri', timezone: 'Europe/Paris', missed: 'once' });
  const { entries, leader }: ScheduleList = await app.schedules.list();
  const who: BeatLeader | null = leader;
  void [entries.map((e) => [e.name, e.task, e.runCount, e.paused, e.source]), who?.holder];
  const removed: boolean = await app.schedules.remove('tick');
  void removed;
  await beat.close();
}

export async function misuses(app: Celeriac): Promise<void> {
  // @ts-expect-error maxInterval is a number of ms
  app.beat({ maxInterval: '5s' });
  // @ts-expect-error an entry needs its task
  await app.schedules.upsert('tick', { schedule: 1000 });
  // @ts-expect-error the missed-run policy is skip, once or all
  await app.schedules.upsert('tick', { task: 't', schedule: 1000, missed: 'never' });
  // @ts-expect-error fired events carry a BeatFired
  app.beat().on('fired', (f: string) => void f);
}
