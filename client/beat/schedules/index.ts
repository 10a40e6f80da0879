// Schedules: the stored spec of each kind compiled into a pure Schedule (nextAfter, isDue), and the
// constructors users write entries with. One file per kind: interval, crontab, solar, once.
import type { Schedule, ScheduleSpec } from '../types.js';
import { compileCrontab } from './crontab.js';
import { compileInterval } from './interval.js';
import { compileOnce } from './once.js';
import { compileSolar } from './solar.js';

export { crontab } from './crontab.js';
export { solar, SOLAR_EVENTS, SOLAR_SEARCH_DAYS } from './solar.js';
export { parseSchedule } from './parse.js';

/**
 * The schedule of a stored spec. `timezone` is the entry's zone, else the `timezone` setting: a
 * crontab is read in its own `spec.timezone` when it has one, else in this one; intervals, solar
 * events and one-offs are instants and need none.
 */
export function compileSchedule(spec: ScheduleSpec, timezone: string): Schedule {
  switch (spec.kind) {
    case 'interval': return compileInterval(spec.every);
    case 'crontab': return compileCrontab(spec, timezone);
    case 'solar': return compileSolar(spec);
    case 'once': return compileOnce(spec.at);
  }
}
