// Interval schedules: every N ms. nextAfter(t) = t + every; anchoring runs to a grid (start, or the
// entry's creation) is the plan's job, so a late beat does not drift the schedule as Celery's does.
import type { Schedule, ScheduleSpec } from '../types.js';
import { scheduleOf } from './due.js';
import { onlyKeys, refuse } from './refuse.js';

/** Units of `{ seconds, minutes, hours, days }`, in ms. */
const UNITS = { days: 86_400_000, hours: 3_600_000, minutes: 60_000, seconds: 1_000 } as const;
export const UNIT_KEYS = Object.keys(UNITS) as readonly (keyof typeof UNITS)[];

/** A number of ms as an interval: finite, rounded to whole ms, at least 1 ms. */
export function intervalMs(value: unknown, path: string): number {
  const expected = 'an interval of at least 1 ms';
  if (typeof value !== 'number' || !Number.isFinite(value)) throw refuse(path, expected, value);
  const every = Math.round(value);
  if (every < 1 || every > Number.MAX_SAFE_INTEGER) throw refuse(path, expected, value);
  return every;
}

/** `{ seconds: 10 }`, `{ minutes: 5 }`, `{ hours: 1, minutes: 30 }`: the parts summed, in ms. */
export function intervalFromUnits(raw: Record<string, unknown>, path: string): Extract<ScheduleSpec, { kind: 'interval' }> {
  onlyKeys(raw, UNIT_KEYS, path);
  let total = 0;
  for (const unit of UNIT_KEYS) {
    const v = raw[unit];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw refuse(`${path}.${unit}`, 'a number >= 0', v);
    total += v * UNITS[unit];
  }
  return { kind: 'interval', every: intervalMs(total, path) };
}

/** `{ every: ms }` (also the stored `{ kind: 'interval', every }`). */
export function intervalFromEvery(raw: Record<string, unknown>, path: string): Extract<ScheduleSpec, { kind: 'interval' }> {
  onlyKeys(raw, 'kind' in raw ? ['kind', 'every'] : ['every'], path);
  return { kind: 'interval', every: intervalMs(raw['every'], `${path}.every`) };
}

/** 'every 10 s', 'every 5 min', 'every 1500 ms': the largest unit that divides it. */
export function describeEvery(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `every ${ms / size} ${unit}`;
  }
  return `every ${ms} ms`;
}

/** The schedule of `{ kind: 'interval', every }`. */
export function compileInterval(every: number): Schedule {
  return scheduleOf((t) => t + every, describeEvery(every));
}
