// Type tests of the schedule constructors and beatSchedule entries (`crontab`, `solar`, the input
// forms, the parsed form given again). Compiled by `tsc -p test/types/tsconfig.json`; never run.
import { Celeriac, crontab, solar, type BeatEntryInput, type ScheduleInput } from '../../client/index.js';

export function beatSurface(): void {
  const app = new Celeriac({
    timezone: 'Europe/Paris',
    beatSchedule: {
      'add-every-10s': { task: 'tasks.add', schedule: 10_000, args: [16, 16] },
      every: { task: 't', schedule: { every: 5_000 } },
      units: { task: 't', schedule: { minutes: 5 }, missed: 'all', missedLimit: 10 },
      cron: { task: 't', schedule: '*/15 9-17 * * mon-fri', options: { queue: 'q', priority: 5, expires: 60_000, headers: { a: 1 } } },
      fields: { task: 't', schedule: crontab({ minute: '*/15', hour: '9-17', dayOfWeek: 'mon-fri', timezone: 'UTC' }) },
      sun: { task: 't', schedule: solar('sunrise', 48.85, 2.35), limit: 10, start: new Date(), end: '2027-01-01T00:00:00Z' },
      once: { task: 't', schedule: { at: new Date() } },
    },
  });
  // The parsed entries are accepted again as input.
  new Celeriac({ beatSchedule: app.settings.beatSchedule });
  const forms: ScheduleInput[] = [1_000, '@daily', { seconds: 10 }, { at: 0 }, { kind: 'interval', every: 5 }];
  const entry: BeatEntryInput = { task: 't', schedule: forms[0]! };
  void entry;
  // @ts-expect-error an event Celery does not have
  solar('moonrise', 0, 0);
  // @ts-expect-error crontab() takes fields, not a string
  crontab('0 * * * *');
  // @ts-expect-error an unknown missed-run policy
  new Celeriac({ beatSchedule: { x: { task: 't', schedule: 1_000, missed: 'some' } } });
  // @ts-expect-error a schedule is required
  new Celeriac({ beatSchedule: { x: { task: 't' } } });
}
