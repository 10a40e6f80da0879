// When an entry runs: its first scheduled time, and what to fire at `now` given its stored state
// (missed runs under the entry's policy, runs within the takeover grace, end and limit). Pure: no clock.
import type { BeatEntry, RunPlan, Schedule } from './types.js';

/**
 * Bounds of the walk over crontab and solar times, which come one nextAfter() call at a time
 * (tens of µs for croner, about a ms for a solar search). A first walk of at most MAX_WALK_STEPS
 * times counts the runs of a window exactly; past it (a per-second crontab missed for a day, say)
 * the latest runs are found by probing at most MAX_PROBES windows just before its end, each
 * walked for at most 2 × kept + 64 times, and `skipped` is then a lower bound. Should the probes
 * not settle (times bunched so tightly that no window holds between kept and 2 × kept + 64), the
 * latest times the probes did see are fired. Intervals need no walk: they are counted arithmetically.
 */
export const MAX_WALK_STEPS = 1_000;
/** At most this many runs within the grace are fired by one plan (the latest ones). */
export const MAX_ON_TIME_FIRES = 1_000;
const MAX_PROBES = 32;

/**
 * The first scheduled time of a new (or changed) entry created at `createdAt`: an interval runs on
 * the grid start + k × every (k >= 0, the first point at or after createdAt), or createdAt + every
 * without a start; a crontab or solar entry at its first time after createdAt and not before start;
 * a one-off at its `at` (even past: its missed policy, 'once' by default, fires it). Null when that
 * is after `end`, before `start` (a one-off) or when the limit allows no run.
 */
export function firstRunAt(entry: BeatEntry, schedule: Schedule, createdAt: number): number | null {
  if (entry.limit !== null && entry.limit < 1) return null;
  const spec = entry.schedule;
  let first: number | null;
  if (spec.kind === 'interval') {
    if (entry.start === null) first = createdAt + spec.every;
    else first = entry.start + Math.max(0, Math.ceil((createdAt - entry.start) / spec.every)) * spec.every;
  } else if (spec.kind === 'once') {
    first = entry.start !== null && spec.at < entry.start ? null : spec.at;
  } else {
    first = schedule.nextAfter(entry.start === null ? createdAt : Math.max(createdAt, entry.start - 1));
  }
  return first !== null && entry.end !== null && first > entry.end ? null : first;
}

/** Scheduled times in a window: how many, and the latest few. */
interface Window {
  /** The latest `keep` times of the window, oldest first. */
  readonly latest: number[];
  /** How many times the window holds (a lower bound when the walk had to stop, see MAX_WALK_STEPS). */
  readonly count: number;
}

/** The scheduled times of one entry from its next run on, walked without unbounded loops. */
interface Series {
  /** Times t with from <= t < until: the count, and the latest `keep` of them. */
  window(from: number, until: number, keep: number): Window;
  /** The first time strictly after t (t >= the series' first time). */
  after(t: number): number | null;
}

/** An interval's times first + k × every: everything by arithmetic. */
function grid(first: number, every: number): Series {
  const index = (t: number): number => Math.max(0, Math.ceil((t - first) / every)); // first k with time >= t
  return {
    window(from, until, keep) {
      const k0 = index(from);
      const k1 = Math.max(k0, index(until));
      const take = Math.min(keep, k1 - k0);
      return { latest: Array.from({ length: take }, (_, i) => first + (k1 - take + i) * every), count: k1 - k0 };
    },
    after: (t) => (t < first ? first : first + (Math.floor((t - first) / every) + 1) * every),
  };
}

/** The latest `keep` values pushed, oldest first. */
function tail(keep: number): { push(t: number): void; values(): number[] } {
  const items: number[] = [];
  return {
    push(t) {
      if (keep === 0) return;
      items.push(t);
      if (items.length > keep * 2) items.splice(0, items.length - keep);
    },
    values: () => items.slice(Math.max(0, items.length - keep)),
  };
}

/** Crontab, solar and one-off times, found by nextAfter() within a budget of calls. */
function walker(schedule: Schedule, first: number): Series {
  const atOrAfter = (t: number): number | null => (t <= first ? first : schedule.nextAfter(Math.ceil(t) - 1));
  /** Walks [start, until) for at most `budget` times: complete, or stopped at `stoppedAt` (still < until). */
  const walk = (start: number | null, until: number, keep: number, budget: number) => {
    const kept = tail(keep);
    let t = start;
    let count = 0;
    while (t !== null && t < until) {
      if (count === budget) return { kept, count, stoppedAt: t };
      kept.push(t);
      count++;
      t = schedule.nextAfter(t);
    }
    return { kept, count, stoppedAt: null };
  };
  return {
    after: (t) => (t < first ? first : schedule.nextAfter(t)),
    window(from, until, keep) {
      const start = atOrAfter(from);
      const head = walk(start, until, keep, MAX_WALK_STEPS);
      if (head.stoppedAt === null) return { latest: head.kept.values(), count: head.count };
      const stoppedAt = head.stoppedAt;
      if (keep === 0) return { latest: [], count: head.count + 1 };
      // Too many to walk: probe windows [until - span, until), growing a span that holds too few
      // and shrinking one that holds more than the probe budget, guided by the pace seen so far.
      const budget = keep * 2 + 64;
      const pace = (stoppedAt - (start ?? stoppedAt)) / head.count;
      let span = Math.max(1, pace * keep * 2);
      let tooFew = 0;
      let tooMany = Infinity;
      let best = head.kept.values();
      for (let probe = 0; probe < MAX_PROBES; probe++) {
        const probeFrom = Math.max(stoppedAt, until - span);
        const got = walk(atOrAfter(probeFrom), until, keep, budget);
        if (got.stoppedAt === null) {
          if (got.count >= keep || probeFrom === stoppedAt) {
            const latest = probeFrom === stoppedAt ? [...head.kept.values(), ...got.kept.values()].slice(-keep) : got.kept.values();
            return { latest, count: head.count + got.count };
          }
          best = got.kept.values();
          tooFew = span;
        } else {
          tooMany = span;
        }
        span = tooMany === Infinity ? span * 4 : (tooFew + tooMany) / 2;
      }
      return { latest: best, count: head.count + best.length };
    },
  };
}

/**
 * What to fire for `entry` at `now`, from its stored `nextRunAt` and `runCount`. Scheduled times
 * up to `now` are due: those at most `graceMs` old (a beat taking over from a dead leader within
 * its lease) are fired; older ones were missed while no beat was up and follow `entry.missed`:
 * 'skip' fires none, 'once' the latest one, 'all' the latest `missedLimit`. Fires go oldest first,
 * never past `end`, and stop when runCount + fired reaches `limit`. `nextRunAt` is the first time
 * after `now` (null when end, limit or a done one-off leave none); `skipped` counts the due times
 * not fired. Bounded for any backlog (see MAX_WALK_STEPS; at most MAX_ON_TIME_FIRES within the grace).
 */
export function planRuns(entry: BeatEntry, schedule: Schedule, state: { nextRunAt: number; runCount: number }, now: number, graceMs: number): RunPlan {
  const left = entry.limit === null ? Infinity : entry.limit - state.runCount;
  let first: number | null = state.nextRunAt;
  // A start moved past the stored next run (the entry was changed): begin at the start.
  if (entry.start !== null && first < entry.start) first = entry.schedule.kind === 'interval' ? entry.start : schedule.nextAfter(entry.start - 1);
  const end = entry.end ?? Infinity;
  if (left <= 0 || first === null || first > end) return { fire: [], skipped: 0, nextRunAt: null };
  if (first > now) return { fire: [], skipped: 0, nextRunAt: first };
  const series = entry.schedule.kind === 'interval' ? grid(first, entry.schedule.every) : walker(schedule, first);
  const cutoff = now - graceMs; // due before this: missed
  const dueUntil = Math.min(now, end) + 1; // times are whole ms
  const keep = entry.missed === 'skip' ? 0 : entry.missed === 'once' ? 1 : entry.missedLimit;
  const missed = cutoff > first ? series.window(first, Math.min(cutoff, dueUntil), keep) : { latest: [], count: 0 };
  const onTime = series.window(Math.max(first, cutoff), dueUntil, MAX_ON_TIME_FIRES);
  const due = [...missed.latest, ...onTime.latest];
  const fire = due.slice(0, Math.min(due.length, left));
  const skipped = missed.count + onTime.count - fire.length;
  const next = fire.length >= left ? null : series.after(now);
  return { fire, skipped, nextRunAt: next !== null && next <= end ? next : null };
}
