// Crontab schedules, parsed and computed by croner (never by hand): 5 fields, 6 (seconds first)
// or a nickname, in an IANA time zone (croner converts through Intl; DST as Vixie cron does it).
import { Cron } from 'croner';
import type { CrontabFields, Schedule, ScheduleInput, ScheduleSpec } from '../types.js';
import { scheduleOf } from './due.js';
import { isPlainObject, onlyKeys, refuse } from './refuse.js';
import { checkTimeZone } from './zone.js';

/** Field names of crontab(), in cron order after the optional seconds. */
export const CRONTAB_FIELD_KEYS = ['second', 'minute', 'hour', 'dayOfMonth', 'monthOfYear', 'dayOfWeek'] as const;
/** Every key crontab fields may have. */
export const CRONTAB_KEYS: readonly string[] = [...CRONTAB_FIELD_KEYS, 'timezone'];

const EXPECTED_EXPR = "a crontab of 5 fields ('m h dom mon dow'), 6 (seconds first) or a nickname (@hourly, @daily, @weekly, @monthly, @yearly)";
const EXPECTED_FIELD = "a crontab field such as '*', '*/15', '1,3', '9-17' or 'mon-fri', or a number";
/** Celery spells weekdays in full too (day_of_week='monday'); croner knows the three-letter names. */
const FULL_DAY_NAMES = /\b(sunday|monday|tuesday|wednesday|thursday|friday|saturday)\b/gi;

/** croner, reading 5 or 6 fields (never 7: a year field is not part of Celery's crontab). */
function cron(expr: string, timezone: string | undefined): Cron {
  return new Cron(expr, { timezone, mode: '5-or-6-parts' });
}

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^CronPattern: /, '');
}

/**
 * Checks a cron string with croner and returns it with its fields separated by single spaces.
 * Refuses what croner refuses, one-off dates (croner reads an ISO time as a one-off; here it is
 * `{ at }`) and a pattern that never matches ('0 0 30 2 *').
 */
export function checkCronExpr(value: unknown, path: string): string {
  if (typeof value !== 'string') throw refuse(path, EXPECTED_EXPR, value);
  const expr = value.trim().split(/\s+/).join(' ');
  const fields = expr.split(' ').length;
  if (!(expr.startsWith('@') ? fields === 1 : fields === 5 || fields === 6)) throw refuse(path, EXPECTED_EXPR, value);
  let next: Date | null;
  try {
    next = cron(expr, 'UTC').nextRun(new Date(0));
  } catch (err) {
    throw refuse(path, EXPECTED_EXPR, value, reason(err));
  }
  if (next === null) throw refuse(path, 'a crontab that matches some date', value);
  return expr;
}

/** One crontab field as its cron text: numbers as digits, Celery's full weekday names shortened. */
function fieldText(key: (typeof CRONTAB_FIELD_KEYS)[number], value: unknown, path: string): string {
  let text: string;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) text = String(value);
  else if (typeof value === 'string' && value.length > 0 && !/\s/.test(value)) text = value;
  else throw refuse(path, EXPECTED_FIELD, value);
  if (key === 'dayOfWeek') text = text.replace(FULL_DAY_NAMES, (day: string) => day.slice(0, 3));
  // Checked alone, every other field '*', so the error names this field.
  const probe = CRONTAB_FIELD_KEYS.map((k) => (k === key ? text : k === 'second' ? '0' : '*')).join(' ');
  try {
    cron(probe, 'UTC');
  } catch (err) {
    throw refuse(path, EXPECTED_FIELD, value, reason(err));
  }
  return text;
}

/**
 * Celery's crontab fields as a cron expression: omitted fields are '*', `second` makes it 6
 * fields. When both dayOfMonth and dayOfWeek are restricted, Celery runs on days that match BOTH
 * ("any day on which execution should occur must be represented by entries in all three of the
 * day and month attributes", celery/schedules.py crontab), where a cron string means EITHER; the
 * expression keeps Celery's meaning with croner's AND modifier (`+` on the day of week).
 */
export function crontabExpr(fields: Record<string, unknown>, path: string): string {
  const text: Record<string, string> = {};
  for (const key of CRONTAB_FIELD_KEYS) {
    const v = fields[key];
    text[key] = v === undefined ? '*' : fieldText(key, v, `${path}.${key}`);
  }
  const restricted = (f: string): boolean => f !== '*' && f !== '?';
  const dow = restricted(text['dayOfMonth']!) && restricted(text['dayOfWeek']!) && !text['dayOfWeek']!.startsWith('+') ? `+${text['dayOfWeek']!}` : text['dayOfWeek']!;
  const five = [text['minute'], text['hour'], text['dayOfMonth'], text['monthOfYear'], dow].join(' ');
  return checkCronExpr(fields['second'] === undefined ? five : `${text['second']!} ${five}`, path);
}

/** Crontab fields (or `{ kind: 'crontab', ...fields }`) as the stored spec. */
export function crontabFromFields(raw: Record<string, unknown>, path: string): Extract<ScheduleSpec, { kind: 'crontab' }> {
  onlyKeys(raw, 'kind' in raw ? ['kind', ...CRONTAB_KEYS] : CRONTAB_KEYS, path);
  const timezone = raw['timezone'] === undefined || raw['timezone'] === null ? null : checkTimeZone(raw['timezone'], `${path}.timezone`);
  return { kind: 'crontab', expr: crontabExpr(raw, path), timezone };
}

/** The stored `{ kind: 'crontab', expr, timezone }`. */
export function crontabFromExpr(raw: Record<string, unknown>, path: string): Extract<ScheduleSpec, { kind: 'crontab' }> {
  onlyKeys(raw, ['kind', 'expr', 'timezone'], path);
  const timezone = raw['timezone'] === undefined || raw['timezone'] === null ? null : checkTimeZone(raw['timezone'], `${path}.timezone`);
  return { kind: 'crontab', expr: checkCronExpr(raw['expr'], `${path}.expr`), timezone };
}

/**
 * A crontab schedule, as Celery's `crontab(minute='*\/15', hour='9-17', day_of_week='mon-fri')`:
 * `crontab({ minute: '*\/15', hour: '9-17', dayOfWeek: 'mon-fri' })`. Day of week 0 (or 7) is
 * Sunday; names (sun..sat, jan..dec) and Celery's full weekday names are accepted. Checked now
 * (ERR_INVALID_ARGUMENT naming the field); the entry's `timezone`, else the `timezone` setting,
 * applies unless `fields.timezone` is given.
 */
export function crontab(fields: CrontabFields = {}): ScheduleInput {
  if (!isPlainObject(fields)) throw refuse('crontab()', 'an object of crontab fields { minute, hour, dayOfMonth, monthOfYear, dayOfWeek, second?, timezone? }', fields);
  crontabFromFields(fields, 'crontab()');
  return { kind: 'crontab', ...fields };
}

/** The schedule of a stored crontab, read in `spec.timezone` when it has one, else in `timezone`. */
export function compileCrontab(spec: Extract<ScheduleSpec, { kind: 'crontab' }>, timezone: string): Schedule {
  const zone = spec.timezone ?? timezone;
  const c = cron(spec.expr, zone);
  return scheduleOf((t) => c.nextRun(new Date(t))?.getTime() ?? null, `crontab '${spec.expr}' (${zone})`);
}
