// Celery's is_due(last_run_at) on top of a schedule's nextAfter(): one rule for every kind of schedule.
import type { Schedule } from '../types.js';

/**
 * Builds a Schedule from its `nextAfter`. isDue(lastRunAt, now) is due when `now` has reached the
 * first run after `lastRunAt` (Celery's `remaining_estimate <= 0`); nextInMs is the wait until the
 * next run to look at: after `now` when due (the run about to fire is done), else after `lastRunAt`.
 * nextInMs is Infinity when the schedule has no run left (a one-off done, a polar sun that never
 * comes back within the search bound): callers cap their wait anyway (beat's max interval).
 */
export function scheduleOf(nextAfter: (t: number) => number | null, description: string): Schedule {
  return {
    nextAfter,
    description,
    isDue(lastRunAt: number, now: number): { due: boolean; nextInMs: number } {
      const next = nextAfter(lastRunAt);
      if (next === null) return { due: false, nextInMs: Infinity };
      if (now < next) return { due: false, nextInMs: next - now };
      const after = nextAfter(now);
      return { due: true, nextInMs: after === null ? Infinity : after - now };
    },
  };
}
