// firstRunAt and planRuns: anchoring, start/end/limit, the grace a takeover gets, each missed-run
// policy with its bound, and backlogs too large to walk (a year of 1 ms or per-second runs). No clock.
import t from 'tap';
import { parseBeatEntry } from '../../client/beat/entry.js';
import { MAX_WALK_STEPS, firstRunAt, planRuns } from '../../client/beat/plan.js';
import { compileSchedule } from '../../client/beat/schedules/index.js';
import type { BeatEntry, Schedule } from '../../client/beat/types.js';

const at = (iso: string): number => Date.parse(iso);
const NOW = at('2026-03-06T12:00:00Z');
const S = 1_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

function entry(raw: Record<string, unknown>): BeatEntry {
  return parseBeatEntry('e', { task: 't', ...raw }, 'UTC');
}
/** The entry's schedule, counting nextAfter() calls. */
function counted(e: BeatEntry): Schedule & { calls: number } {
  const inner = compileSchedule(e.schedule, e.timezone ?? 'UTC');
  const s = { calls: 0, description: inner.description, isDue: inner.isDue, nextAfter: (x: number) => { s.calls++; return inner.nextAfter(x); } };
  return s;
}
const plan = (e: BeatEntry, nextRunAt: number, opts: { runCount?: number; now?: number; grace?: number } = {}) =>
  planRuns(e, compileSchedule(e.schedule, 'UTC'), { nextRunAt, runCount: opts.runCount ?? 0 }, opts.now ?? NOW, opts.grace ?? 5 * S);

t.test('firstRunAt: intervals on a grid from start (or creation), crontab after creation, one-offs at their time', async (t) => {
  const every10 = entry({ schedule: 10 * S });
  t.equal(firstRunAt(every10, compileSchedule(every10.schedule, 'UTC'), NOW), NOW + 10 * S, 'no start: one interval after creation');
  const future = entry({ schedule: 10 * S, start: NOW + HOUR });
  t.equal(firstRunAt(future, compileSchedule(future.schedule, 'UTC'), NOW), NOW + HOUR, 'start ahead: at start');
  const past = entry({ schedule: 10 * S, start: NOW - 25 * S });
  t.equal(firstRunAt(past, compileSchedule(past.schedule, 'UTC'), NOW), NOW + 5 * S, 'start behind: the first grid point from creation on (runs before the entry existed are not missed runs)');
  const cron = entry({ schedule: '0 * * * *' });
  t.equal(firstRunAt(cron, compileSchedule(cron.schedule, 'UTC'), NOW), NOW + HOUR, 'crontab: strictly after creation');
  const cronStart = entry({ schedule: '0 * * * *', start: NOW + 2 * HOUR });
  t.equal(firstRunAt(cronStart, compileSchedule(cronStart.schedule, 'UTC'), NOW), NOW + 2 * HOUR, 'crontab: a run exactly at start counts');
  const once = entry({ schedule: { at: NOW - DAY } });
  t.equal(firstRunAt(once, compileSchedule(once.schedule, 'UTC'), NOW), NOW - DAY, 'a past one-off still plans (its missed policy fires it)');
  const onceBeforeStart = entry({ schedule: { at: NOW + HOUR }, start: NOW + 2 * HOUR });
  t.equal(firstRunAt(onceBeforeStart, compileSchedule(onceBeforeStart.schedule, 'UTC'), NOW), null);
  const ended = entry({ schedule: '0 0 * * *', end: NOW + HOUR });
  t.equal(firstRunAt(ended, compileSchedule(ended.schedule, 'UTC'), NOW), null, 'first run after end: none');
});

t.test('nothing due: the stored next run stays', async (t) => {
  t.strictSame(plan(entry({ schedule: 10 * S }), NOW + 3 * S), { fire: [], skipped: 0, nextRunAt: NOW + 3 * S });
});

t.test('runs within the grace are fired, all of them (a leader taking over)', async (t) => {
  const e = entry({ schedule: S });
  t.strictSame(plan(e, NOW - 3_500), { fire: [NOW - 3_500, NOW - 2_500, NOW - 1_500, NOW - 500], skipped: 0, nextRunAt: NOW + 500 });
  t.strictSame(plan(entry({ schedule: 10 * S }), NOW), { fire: [NOW], skipped: 0, nextRunAt: NOW + 10 * S }, 'due exactly now');
  t.strictSame(plan(entry({ schedule: 10 * S }), NOW - 5 * S), { fire: [NOW - 5 * S], skipped: 0, nextRunAt: NOW + 5 * S }, 'exactly graceMs old: fired');
});

t.test('missed runs (older than the grace) follow the policy', async (t) => {
  // Every 10 s since an hour ago: 360 missed runs (now - 3600 s ... now - 10 s) and one on time (now).
  const since = NOW - HOUR;
  t.strictSame(plan(entry({ schedule: 10 * S }), since), { fire: [NOW], skipped: 360, nextRunAt: NOW + 10 * S }, "skip (default): none of them");
  t.strictSame(plan(entry({ schedule: 10 * S, missed: 'once' }), since), { fire: [NOW - 10 * S, NOW], skipped: 359, nextRunAt: NOW + 10 * S }, 'once: the latest');
  t.strictSame(plan(entry({ schedule: 10 * S, missed: 'all', missedLimit: 3 }), since), { fire: [NOW - 30 * S, NOW - 20 * S, NOW - 10 * S, NOW], skipped: 357, nextRunAt: NOW + 10 * S }, 'all: the latest missedLimit, oldest first');
  t.equal(plan(entry({ schedule: 10 * S, missed: 'all' }), since).fire.length, 101, 'all: missedLimit 100 by default, plus the one on time');
  t.strictSame(plan(entry({ schedule: 10 * S, missed: 'all' }), NOW - 30 * S), { fire: [NOW - 30 * S, NOW - 20 * S, NOW - 10 * S, NOW], skipped: 0, nextRunAt: NOW + 10 * S }, 'fewer missed than the bound: all of them');
  // A crontab, walked: every hour since 5 hours ago.
  t.strictSame(plan(entry({ schedule: '0 * * * *', missed: 'all', missedLimit: 2 }), NOW - 5 * HOUR), { fire: [NOW - 2 * HOUR, NOW - HOUR, NOW], skipped: 3, nextRunAt: NOW + HOUR });
  t.strictSame(plan(entry({ schedule: '0 * * * *' }), NOW - 5 * HOUR, { now: NOW + 20 * 60_000 }), { fire: [], skipped: 6, nextRunAt: NOW + HOUR }, 'skip: none, the next after now');
});

t.test('a one-off missed while no beat was up fires once by default', async (t) => {
  const missed = entry({ schedule: { at: NOW - DAY } });
  t.strictSame(plan(missed, NOW - DAY), { fire: [NOW - DAY], skipped: 0, nextRunAt: null });
  t.strictSame(plan(entry({ schedule: { at: NOW - DAY }, missed: 'skip' }), NOW - DAY), { fire: [], skipped: 1, nextRunAt: null });
  t.strictSame(plan(entry({ schedule: { at: NOW + DAY } }), NOW + DAY), { fire: [], skipped: 0, nextRunAt: NOW + DAY });
});

t.test('never past end, never past limit', async (t) => {
  const ending = entry({ schedule: 10 * S, missed: 'all', missedLimit: 3, end: NOW - 25 * S });
  t.strictSame(plan(ending, NOW - HOUR), { fire: [NOW - 50 * S, NOW - 40 * S, NOW - 30 * S], skipped: 355, nextRunAt: null }, 'the latest runs up to end (358 due, 3 fired)');
  const endsSoon = entry({ schedule: 10 * S, end: NOW + 15 * S });
  t.strictSame(plan(endsSoon, NOW), { fire: [NOW], skipped: 0, nextRunAt: NOW + 10 * S });
  t.strictSame(plan(endsSoon, NOW + 10 * S, { now: NOW + 10 * S }), { fire: [NOW + 10 * S], skipped: 0, nextRunAt: null }, 'the next would be past end');
  const limited = entry({ schedule: 10 * S, missed: 'all', missedLimit: 5, limit: 10 });
  t.strictSame(plan(limited, NOW - HOUR, { runCount: 8 }), { fire: [NOW - 50 * S, NOW - 40 * S], skipped: 359, nextRunAt: null }, 'runCount 8 of 10: two more, oldest first');
  t.strictSame(plan(limited, NOW - 3 * S, { runCount: 9 }), { fire: [NOW - 3 * S], skipped: 0, nextRunAt: null }, 'the last run');
  t.strictSame(plan(limited, NOW + S, { runCount: 10 }), { fire: [], skipped: 0, nextRunAt: null }, 'limit reached');
  const later = entry({ schedule: 10 * S, start: NOW + HOUR });
  t.strictSame(plan(later, NOW - HOUR), { fire: [], skipped: 0, nextRunAt: NOW + HOUR }, 'a start moved past the stored next run: begin at start');
});

t.test('a huge backlog of an interval is counted, not walked', async (t) => {
  const e = entry({ schedule: 1, missed: 'all', missedLimit: 3 });
  const s = counted(e);
  const year = 365 * DAY;
  const p = planRuns(e, s, { nextRunAt: NOW - year, runCount: 0 }, NOW, 2);
  t.strictSame(p.fire, [NOW - 5, NOW - 4, NOW - 3, NOW - 2, NOW - 1, NOW], 'the latest 3 missed, then the 3 within 2 ms');
  t.equal(p.skipped, year + 1 - 6, 'every other run counted as skipped');
  t.equal(p.nextRunAt, NOW + 1);
  t.equal(s.calls, 0, 'no nextAfter() walk at all');
});

t.test('a huge backlog of a crontab is bounded: the latest runs found by probing, skipped a lower bound', async (t) => {
  const yearAgo = NOW - 365 * DAY;
  for (const [missed, want] of [['all', [NOW - 5 * S, NOW - 4 * S, NOW - 3 * S, NOW - 2 * S, NOW - S, NOW]], ['once', [NOW - S, NOW]], ['skip', [NOW]]] as const) {
    const e = entry({ schedule: '* * * * * *', missed, missedLimit: 5 });
    const s = counted(e);
    const p = planRuns(e, s, { nextRunAt: yearAgo, runCount: 0 }, NOW, 0);
    t.strictSame(p.fire, want, `${missed}: the latest missed (a second apart), then now`);
    t.equal(p.nextRunAt, NOW + S);
    t.ok(p.skipped >= MAX_WALK_STEPS - want.length, `${missed}: skipped is at least the walked part (${p.skipped})`);
    t.ok(s.calls < 2 * MAX_WALK_STEPS + 500, `${missed}: ${s.calls} nextAfter() calls for a year of per-second runs`);
  }
});

t.test('solar: the sunrises missed over a few days', async (t) => {
  const e = entry({ schedule: { kind: 'solar', event: 'sunrise', lat: 48.8566, lon: 2.3522 }, missed: 'all' });
  const s = compileSchedule(e.schedule, 'UTC');
  const first = s.nextAfter(at('2026-03-01T00:00:00Z'))!;
  const p = planRuns(e, s, { nextRunAt: first, runCount: 0 }, at('2026-03-04T12:00:00Z'), 5 * S);
  t.equal(p.fire.length, 4, 'sunrises of 1, 2, 3 and 4 March');
  t.strictSame(p.fire.map((x) => new Date(x).toISOString().slice(0, 10)), ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04']);
  t.equal(new Date(p.nextRunAt!).toISOString().slice(0, 10), '2026-03-05');
});
