// Interval schedules: every form a user writes, nextAfter/isDue as Celery's schedule.is_due, refusals. No clock.
import t from 'tap';
import { compileSchedule, parseSchedule } from '../../client/beat/schedules/index.js';
import { throwsInvalid } from '../app/app-helpers.js';

const UTC = 'UTC';
const T0 = Date.parse('2026-03-02T10:00:00Z');

t.test('every interval form becomes { kind: interval, every: ms }', async (t) => {
  const every = (input: unknown): unknown => parseSchedule(input, 's', UTC);
  t.strictSame(every(10_000), { kind: 'interval', every: 10_000 }, 'a number of ms');
  t.strictSame(every({ every: 2_500 }), { kind: 'interval', every: 2_500 });
  t.strictSame(every({ seconds: 10 }), { kind: 'interval', every: 10_000 });
  t.strictSame(every({ minutes: 5 }), { kind: 'interval', every: 300_000 });
  t.strictSame(every({ hours: 1, minutes: 30 }), { kind: 'interval', every: 5_400_000 }, 'units are summed');
  t.strictSame(every({ days: 1 }), { kind: 'interval', every: 86_400_000 });
  t.strictSame(every({ seconds: 0.25 }), { kind: 'interval', every: 250 }, 'fractions of a unit');
  t.strictSame(every(1.4), { kind: 'interval', every: 1 }, 'rounded to whole ms');
  t.strictSame(every({ kind: 'interval', every: 7 }), { kind: 'interval', every: 7 }, 'the stored form again');
});

t.test('nextAfter is t + every; isDue as Celery (due once last + every is reached; next look in one interval)', async (t) => {
  const s = compileSchedule({ kind: 'interval', every: 10_000 }, UTC);
  t.equal(s.nextAfter(T0), T0 + 10_000);
  t.strictSame(s.isDue(T0, T0 + 4_000), { due: false, nextInMs: 6_000 });
  t.strictSame(s.isDue(T0, T0 + 10_000), { due: true, nextInMs: 10_000 }, 'due exactly at last + every');
  t.strictSame(s.isDue(T0, T0 + 25_000), { due: true, nextInMs: 10_000 }, 'late: due, and the next check one interval on');
  t.equal(s.description, 'every 10 s');
  t.equal(compileSchedule({ kind: 'interval', every: 300_000 }, UTC).description, 'every 5 min');
  t.equal(compileSchedule({ kind: 'interval', every: 7_200_000 }, UTC).description, 'every 2 h');
  t.equal(compileSchedule({ kind: 'interval', every: 1_500 }, UTC).description, 'every 1500 ms');
});

t.test('bad intervals are refused naming the path', async (t) => {
  throwsInvalid(t, () => parseSchedule(0, "x['e'].schedule", UTC), /x\['e'\]\.schedule must be an interval of at least 1 ms; got 0/);
  throwsInvalid(t, () => parseSchedule(-5, 'p', UTC), /^p must be an interval/);
  throwsInvalid(t, () => parseSchedule(Number.NaN, 'p', UTC), /^p must be an interval/);
  throwsInvalid(t, () => parseSchedule({ every: '10s' }, 'p', UTC), /^p\.every must be an interval/);
  throwsInvalid(t, () => parseSchedule({ seconds: -1 }, 'p', UTC), /^p\.seconds must be a number >= 0/);
  throwsInvalid(t, () => parseSchedule({ seconds: 0 }, 'p', UTC), /^p must be an interval of at least 1 ms/);
  throwsInvalid(t, () => parseSchedule({ seconds: 10, minute: 5 }, 'p', UTC), /p\.minute is not a known field \(did you mean 'minutes'\?\)/);
  throwsInvalid(t, () => parseSchedule({ every: 10, at: 5 }, 'p', UTC), /p\.at is not a known field/);
});
