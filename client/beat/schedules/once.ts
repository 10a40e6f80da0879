// One-off schedules: `{ at }`, one run at that instant.
import type { Schedule, ScheduleSpec } from '../types.js';
import { scheduleOf } from './due.js';
import { parseInstant } from './instant.js';
import { onlyKeys } from './refuse.js';

/** `{ at: Date | ISO text | epoch ms }` (also the stored `{ kind: 'once', at }`), naive text read in `zone`. */
export function onceSpec(raw: Record<string, unknown>, path: string, zone: string): Extract<ScheduleSpec, { kind: 'once' }> {
  onlyKeys(raw, 'kind' in raw ? ['kind', 'at'] : ['at'], path);
  return { kind: 'once', at: parseInstant(raw['at'], `${path}.at`, zone) };
}

/** The schedule of a one-off: `at` if t is before it, then nothing. */
export function compileOnce(at: number): Schedule {
  return scheduleOf((t) => (t < at ? at : null), `at ${new Date(at).toISOString()}`);
}
