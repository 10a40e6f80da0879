// One-off schedules and the instants entries are written with: Date, epoch ms, ISO text with an
// offset, and naive ISO text read in a time zone (DST gaps and overlaps). No clock.
import t from 'tap';
import { compileSchedule, parseSchedule } from '../../client/beat/schedules/index.js';
import { parseInstant } from '../../client/beat/schedules/instant.js';
import { throwsInvalid } from '../app/app-helpers.js';

const at = (iso: string): number => Date.parse(iso);

t.test('a one-off runs once, at its time', async (t) => {
  const when = at('2026-12-03T10:00:00Z');
  t.strictSame(parseSchedule({ at: new Date(when) }, 's', 'UTC'), { kind: 'once', at: when });
  t.strictSame(parseSchedule({ at: when }, 's', 'UTC'), { kind: 'once', at: when });
  t.strictSame(parseSchedule({ kind: 'once', at: when }, 's', 'UTC'), { kind: 'once', at: when }, 'the stored form again');
  const s = compileSchedule({ kind: 'once', at: when }, 'UTC');
  t.equal(s.nextAfter(when - 1), when);
  t.equal(s.nextAfter(when), null, 'nothing after it');
  t.strictSame(s.isDue(when - 60_000, when - 1_000), { due: false, nextInMs: 1_000 });
  t.strictSame(s.isDue(when - 60_000, when + 5), { due: true, nextInMs: Infinity }, 'due, and then never again');
  t.strictSame(s.isDue(when, when + 5), { due: false, nextInMs: Infinity }, 'ran: never due again');
  t.equal(s.description, 'at 2026-12-03T10:00:00.000Z');
});

t.test('ISO text: with Z or an offset as written, without one in the zone given', async (t) => {
  t.equal(parseInstant('2026-12-03T10:00:00Z', 'p', 'Europe/Paris'), at('2026-12-03T10:00:00Z'));
  t.equal(parseInstant('2026-12-03T10:00:00+02:00', 'p', 'UTC'), at('2026-12-03T08:00:00Z'));
  t.equal(parseInstant('2026-12-03T10:00:00-0530', 'p', 'UTC'), at('2026-12-03T15:30:00Z'));
  t.equal(parseInstant('2026-12-03T10:00:00.250Z', 'p', 'UTC'), at('2026-12-03T10:00:00.250Z'));
  t.equal(parseInstant('2026-12-03T10:00', 'p', 'Europe/Paris'), at('2026-12-03T09:00:00Z'), 'winter: UTC+1');
  t.equal(parseInstant('2026-07-03T10:00:00.5', 'p', 'Europe/Paris'), at('2026-07-03T08:00:00.500Z'), 'summer: UTC+2');
  t.equal(parseInstant('2026-12-03', 'p', 'America/New_York'), at('2026-12-03T05:00:00Z'), 'a date alone is its midnight');
  t.equal(parseInstant('2026-03-29T02:30:00', 'p', 'Europe/Paris'), at('2026-03-29T01:30:00Z'), 'in the spring gap: moved forward by the jump (03:30 CEST)');
  t.equal(parseInstant('2026-10-25T02:30:00', 'p', 'Europe/Paris'), at('2026-10-25T00:30:00Z'), 'shown twice: the first time (CEST)');
  t.equal(parseInstant(at('2026-01-01T00:00:00Z') + 0.4, 'p', 'UTC'), at('2026-01-01T00:00:00Z'), 'epoch ms, whole');
});

t.test('bad instants are refused naming the path', async (t) => {
  throwsInvalid(t, () => parseInstant('tomorrow', 'e.start', 'UTC'), /^e\.start must be a Date, epoch ms or an ISO 8601 time/);
  throwsInvalid(t, () => parseInstant('2026-02-30T10:00:00Z', 'e.start', 'UTC'), /^e\.start must be a real date and time/);
  throwsInvalid(t, () => parseInstant('2026-13-01', 'e.start', 'UTC'), /^e\.start must be a real date/);
  throwsInvalid(t, () => parseInstant(new Date('x'), 'e.end', 'UTC'), /^e\.end must be a Date/);
  throwsInvalid(t, () => parseInstant(Number.POSITIVE_INFINITY, 'e.end', 'UTC'), /^e\.end must be/);
  throwsInvalid(t, () => parseInstant(true, 'e.end', 'UTC'), /^e\.end must be/);
  throwsInvalid(t, () => parseSchedule({ at: 'soon' }, 's', 'UTC'), /^s\.at must be/);
  throwsInvalid(t, () => parseSchedule(new Date(0), 's', 'UTC'), /^s must be an interval in ms, .* or \{ at \}/);
});
