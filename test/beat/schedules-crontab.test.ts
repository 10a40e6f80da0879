// Crontab schedules through croner: 5 and 6 fields, nicknames, Celery's fields, time zones across DST,
// day-of-month/day-of-week semantics, isDue, refusals. Fixed instants, no clock.
import t from 'tap';
import { compileSchedule, crontab, parseSchedule } from '../../client/beat/schedules/index.js';
import type { ScheduleSpec } from '../../client/beat/types.js';
import { throwsInvalid } from '../app/app-helpers.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const spec = (input: unknown, zone = 'UTC'): ScheduleSpec => parseSchedule(input, 's', zone);
/** The first `n` runs strictly after `from`. */
function runs(input: unknown, zone: string, from: string, n: number): (string | null)[] {
  const s = compileSchedule(spec(input), zone);
  const out: (string | null)[] = [];
  let t: number | null = at(from);
  for (let i = 0; i < n && t !== null; i++) out.push(iso((t = s.nextAfter(t))));
  return out;
}

t.test('5-field string in UTC: every 15 min, 9-17, Monday to Friday', async (t) => {
  // 2026-03-06 is a Friday.
  t.strictSame(runs('*/15 9-17 * * mon-fri', 'UTC', '2026-03-06T17:30:00Z', 3), ['2026-03-06T17:45:00.000Z', '2026-03-09T09:00:00.000Z', '2026-03-09T09:15:00.000Z']);
  const s = compileSchedule(spec('*/15 9-17 * * mon-fri'), 'UTC');
  t.equal(s.nextAfter(at('2026-03-09T09:15:00Z')), at('2026-03-09T09:30:00Z'), 'strictly after a run time');
  t.equal(s.nextAfter(at('2026-03-09T09:14:59.999Z')), at('2026-03-09T09:15:00Z'));
  t.equal(s.description, "crontab '*/15 9-17 * * mon-fri' (UTC)");
});

t.test('6-field string (seconds first) and nicknames', async (t) => {
  t.strictSame(runs('*/20 * * * * *', 'UTC', '2026-03-06T10:00:05Z', 3), ['2026-03-06T10:00:20.000Z', '2026-03-06T10:00:40.000Z', '2026-03-06T10:01:00.000Z']);
  t.strictSame(runs('@daily', 'UTC', '2026-03-06T10:00:00Z', 1), ['2026-03-07T00:00:00.000Z']);
  t.strictSame(runs('@hourly', 'UTC', '2026-03-06T10:00:00Z', 1), ['2026-03-06T11:00:00.000Z']);
  t.strictSame(spec('  0   3 * *  mon-fri '), { kind: 'crontab', expr: '0 3 * * mon-fri', timezone: null }, 'spacing normalized');
});

t.test('a DST zone: Europe/Paris across the March and October changes', async (t) => {
  // 09:00 Paris time is 08:00Z in winter (CET) and 07:00Z in summer (CEST); clocks go forward on 2026-03-29.
  t.strictSame(runs('0 9 * * *', 'Europe/Paris', '2026-03-27T12:00:00Z', 3), ['2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z', '2026-03-30T07:00:00.000Z']);
  // 02:30 does not exist on 2026-03-29: it runs once, at the end of the gap (03:00 CEST = 01:00Z).
  t.strictSame(runs('30 2 * * *', 'Europe/Paris', '2026-03-28T00:00:00Z', 3), ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  // 02:30 happens twice on 2026-10-25 (CEST then CET): a fixed-time job runs once, the first time.
  t.strictSame(runs('30 2 * * *', 'Europe/Paris', '2026-10-24T00:00:00Z', 3), ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  // The zone given to compileSchedule applies unless the crontab names its own.
  const own = spec({ minute: 0, hour: 9, timezone: 'America/New_York' });
  t.strictSame(own, { kind: 'crontab', expr: '0 9 * * *', timezone: 'America/New_York' });
  const s = compileSchedule(own, 'Europe/Paris');
  t.equal(iso(s.nextAfter(at('2026-01-05T00:00:00Z'))), '2026-01-05T14:00:00.000Z', "09:00 in New York (UTC-5), the crontab's own zone");
  t.equal(s.description, "crontab '0 9 * * *' (America/New_York)");
});

t.test('crontab() fields as Celery: day of week 0 = Sunday, omitted = *', async (t) => {
  t.strictSame(crontab({ minute: '*/15', hour: '9-17', dayOfWeek: 'mon-fri' }), { kind: 'crontab', minute: '*/15', hour: '9-17', dayOfWeek: 'mon-fri' });
  t.strictSame(spec(crontab({ minute: '*/15', hour: '9-17', dayOfWeek: 'mon-fri' })), { kind: 'crontab', expr: '*/15 9-17 * * mon-fri', timezone: null });
  // 2026-01-01 is a Thursday; the first Sunday after it is 2026-01-04.
  t.strictSame(runs(crontab({ minute: 0, hour: 0, dayOfWeek: 0 }), 'UTC', '2026-01-01T00:00:00Z', 1), ['2026-01-04T00:00:00.000Z']);
  t.strictSame(runs(crontab({ minute: 0, hour: 0, dayOfWeek: 'sunday' }), 'UTC', '2026-01-01T00:00:00Z', 1), ['2026-01-04T00:00:00.000Z'], "Celery's full day names");
  t.strictSame(runs({ minute: 0, hour: 12, monthOfYear: 'jun', dayOfMonth: 15 }, 'UTC', '2026-01-01T00:00:00Z', 1), ['2026-06-15T12:00:00.000Z'], 'bare fields, no kind');
  t.strictSame(spec(crontab({ second: 30, minute: 5 })), { kind: 'crontab', expr: '30 5 * * * *', timezone: null }, 'second makes it 6 fields');
  t.strictSame(spec(crontab()), { kind: 'crontab', expr: '* * * * *', timezone: null }, "crontab() is every minute, as Celery's");
});

t.test('day of month and day of week: a cron string means either, crontab() fields both (as Celery)', async (t) => {
  // 2026-01-01 is a Thursday: the string fires on the 1st and on every Monday.
  t.strictSame(runs('0 12 1 * mon', 'UTC', '2025-12-31T00:00:00Z', 3), ['2026-01-01T12:00:00.000Z', '2026-01-05T12:00:00.000Z', '2026-01-12T12:00:00.000Z']);
  // Celery's crontab(day_of_month=1, day_of_week='mon') is a 1st that is a Monday: 2026-06-01.
  const both = spec(crontab({ minute: 0, hour: 12, dayOfMonth: 1, dayOfWeek: 'mon' }));
  t.strictSame(both, { kind: 'crontab', expr: '0 12 1 * +mon', timezone: null });
  t.strictSame(runs(both, 'UTC', '2025-12-31T00:00:00Z', 2), ['2026-06-01T12:00:00.000Z', '2027-02-01T12:00:00.000Z']);
});

t.test('isDue as Celery: due when now reaches the run after lastRunAt', async (t) => {
  const s = compileSchedule(spec('0 * * * *'), 'UTC');
  const last = at('2026-03-06T10:00:00Z');
  t.strictSame(s.isDue(last, at('2026-03-06T10:20:00Z')), { due: false, nextInMs: 40 * 60_000 });
  t.strictSame(s.isDue(last, at('2026-03-06T11:00:00Z')), { due: true, nextInMs: 60 * 60_000 });
  t.strictSame(s.isDue(last, at('2026-03-06T13:15:00Z')), { due: true, nextInMs: 45 * 60_000 }, 'late: due, next look at the run after now');
});

t.test('refused: what croner cannot read, a pattern that never matches, one-off dates, bad fields; the field is named', async (t) => {
  throwsInvalid(t, () => spec('nope'), /^s must be a crontab of 5 fields/);
  throwsInvalid(t, () => spec('* * *'), /^s must be a crontab/);
  throwsInvalid(t, () => spec('1 2 3 4 5 6 7'), /^s must be a crontab/, /got '1 2 3 4 5 6 7'/);
  throwsInvalid(t, () => spec('61 * * * *'), /^s must be a crontab/, /minute: 61/);
  throwsInvalid(t, () => spec('@reboot'), /^s must be a crontab/);
  throwsInvalid(t, () => spec('0 0 30 2 *'), /^s must be a crontab that matches some date/);
  // croner would read an ISO time as a one-off; here a one-off is { at }.
  throwsInvalid(t, () => spec('2026-12-03T10:00:00'), /^s must be a crontab/, /got '2026-12-03T10:00:00'/);
  throwsInvalid(t, () => spec({ hour: 24 }), /^s\.hour must be a crontab field/);
  throwsInvalid(t, () => spec({ minute: 'x y' }), /^s\.minute must be a crontab field/);
  throwsInvalid(t, () => spec({ dayOfWeek: 8 }), /^s\.dayOfWeek must be a crontab field/);
  throwsInvalid(t, () => spec({ minute: 0, timezone: 'Mars/Olympus' }), /^s\.timezone must be an IANA time zone name/);
  throwsInvalid(t, () => spec({ kind: 'crontab', expr: '0 0 * * *', timezone: 'Nowhere/City' }), /^s\.timezone/);
  throwsInvalid(t, () => spec({ day_of_week: 1 }), /s\.day_of_week is not a known field \(did you mean 'dayOfWeek'\?\)/);
  throwsInvalid(t, () => crontab({ hour: '25' }), /^crontab\(\)\.hour must be a crontab field/);
  throwsInvalid(t, () => crontab('0 * * * *' as never), /^crontab\(\) must be an object/);
});
