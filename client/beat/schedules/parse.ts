// Every form a schedule may be written in (ScheduleInput, and the stored ScheduleSpec) → the one stored form.
import type { ScheduleSpec } from '../types.js';
import { CRONTAB_KEYS, checkCronExpr, crontabFromExpr, crontabFromFields } from './crontab.js';
import { UNIT_KEYS, intervalFromEvery, intervalFromUnits, intervalMs } from './interval.js';
import { onceSpec } from './once.js';
import { isPlainObject, onlyKeys, refuse } from './refuse.js';
import { solarSpec } from './solar.js';

const EXPECTED = 'an interval in ms, { every }, { seconds, minutes, hours, days }, a crontab string, crontab({...}) fields, solar(event, lat, lon) or { at }';
const KINDS = ['interval', 'crontab', 'solar', 'once'] as const;

/**
 * Reads a schedule in any accepted form: a number of ms, `{ every }` or `{ seconds, minutes, hours,
 * days }` → interval; a cron string or crontab fields → crontab (checked by croner); `{ kind: 'solar' }`;
 * `{ at }` → one-off (ISO text without an offset read in `zone`). Each stored form is accepted
 * again as is. Refuses anything else with ERR_INVALID_ARGUMENT naming `path`.
 */
export function parseSchedule(value: unknown, path: string, zone: string): ScheduleSpec {
  if (typeof value === 'number') return { kind: 'interval', every: intervalMs(value, path) };
  if (typeof value === 'string') return { kind: 'crontab', expr: checkCronExpr(value, path), timezone: null };
  if (!isPlainObject(value)) throw refuse(path, EXPECTED, value);
  if ('kind' in value) {
    switch (value['kind']) {
      case 'interval': return intervalFromEvery(value, path);
      case 'crontab': return 'expr' in value ? crontabFromExpr(value, path) : crontabFromFields(value, path);
      case 'solar': return solarSpec(value, path);
      case 'once': return onceSpec(value, path, zone);
      default: throw refuse(`${path}.kind`, `one of ${KINDS.map((k) => `'${k}'`).join(', ')}`, value['kind']);
    }
  }
  const keys = Object.keys(value);
  if (keys.includes('every')) return intervalFromEvery(value, path);
  if (keys.includes('at')) return onceSpec(value, path, zone);
  if (keys.some((k) => (UNIT_KEYS as readonly string[]).includes(k))) return intervalFromUnits(value, path);
  if (keys.some((k) => CRONTAB_KEYS.includes(k))) return crontabFromFields(value, path);
  if (keys.length === 0) throw refuse(path, EXPECTED, value, 'an empty object');
  // No known key: name the first with the closest key of any form.
  onlyKeys(value, ['every', 'at', ...UNIT_KEYS, ...CRONTAB_KEYS, 'kind'], path);
  throw refuse(path, EXPECTED, value);
}
