// parseBeatEntry: every input form normalized with its defaults, the stored JSON round trip, and
// every refusal naming the entry (unknown shapes, cron croner cannot read, zones Intl does not know, ...).
import t from 'tap';
import { entryFromJson, entryToJson, parseBeatEntry } from '../../client/beat/entry.js';
import { crontab, solar } from '../../client/beat/schedules/index.js';
import type { BeatEntry } from '../../client/beat/types.js';
import { throwsInvalid } from '../app/app-helpers.js';

const at = (iso: string): number => Date.parse(iso);
const parse = (raw: unknown, zone = 'UTC'): BeatEntry => parseBeatEntry('tick', raw, zone, "beatSchedule['tick']");

t.test('defaults: a bare interval entry', async (t) => {
  t.strictSame(parseBeatEntry('tick', { task: 't.tick', schedule: 1_000 }, 'UTC'), {
    task: 't.tick', schedule: { kind: 'interval', every: 1_000 }, args: [], kwargs: {}, options: {},
    limit: null, start: null, end: null, missed: 'skip', missedLimit: 100, timezone: null,
  });
  t.equal(parse({ task: 't', schedule: { at: '2026-12-03T10:00:00Z' } }).missed, 'once', "a one-off misses 'once' by default");
});

t.test('every field, normalized', async (t) => {
  const e = parse({
    task: 'reports.send',
    schedule: crontab({ minute: 30, hour: 7, dayOfWeek: 'mon' }),
    args: [1, 'two', { three: [3] }, null, true],
    kwargs: { to: 'ops' },
    options: { queue: 'reports', routingKey: 'r.send', exchange: 'tasks', priority: 5, expires: 60_000, headers: { origin: 'beat' } },
    limit: 10,
    start: '2026-03-01T00:00:00',
    end: new Date('2026-12-31T00:00:00Z'),
    missed: 'all',
    missedLimit: 3,
    timezone: 'Europe/Paris',
  });
  t.strictSame(e, {
    task: 'reports.send',
    schedule: { kind: 'crontab', expr: '30 7 * * mon', timezone: null },
    args: [1, 'two', { three: [3] }, null, true],
    kwargs: { to: 'ops' },
    options: { queue: 'reports', routingKey: 'r.send', exchange: 'tasks', priority: 5, expires: 60_000, headers: { origin: 'beat' } },
    limit: 10,
    start: at('2026-02-28T23:00:00Z'), // midnight in Paris (UTC+1): the entry's zone
    end: at('2026-12-31T00:00:00Z'),
    missed: 'all',
    missedLimit: 3,
    timezone: 'Europe/Paris',
  });
  t.strictSame(parse({ task: 't', schedule: solar('sunset', 51.5, -0.12) }).schedule, { kind: 'solar', event: 'sunset', lat: 51.5, lon: -0.12 });
  t.strictSame(parse({ task: 't', schedule: '*/5 * * * * *' }).schedule, { kind: 'crontab', expr: '*/5 * * * * *', timezone: null });
  t.strictSame(parse({ task: 't', schedule: { minutes: 5 } }).schedule, { kind: 'interval', every: 300_000 });
  t.strictSame(parse({ task: 't', schedule: { at: '2026-06-01T12:00' } }, 'Asia/Tokyo').schedule, { kind: 'once', at: at('2026-06-01T03:00:00Z') }, 'naive time in the zone given (no entry zone)');
});

t.test('the stored JSON round trip: what entryToJson writes, entryFromJson reads back the same', async (t) => {
  const e = parse({ task: 't', schedule: { kind: 'crontab', minute: 0, timezone: 'Asia/Tokyo' }, args: [[1]], kwargs: { a: { b: null } }, limit: 2, end: 1_900_000_000_000, missed: 'once' });
  const json = entryToJson(e);
  t.equal(json, entryToJson(entryFromJson('tick', json, 'UTC')), 'stable text');
  t.strictSame(entryFromJson('tick', json, 'Europe/Paris'), e);
  t.same(Object.keys(JSON.parse(json)), ['task', 'schedule', 'args', 'kwargs', 'options', 'limit', 'start', 'end', 'missed', 'missedLimit', 'timezone']);
  t.strictSame(parse(e), e, 'the parsed form is accepted again as is');
});

t.test('a bad stored spec (another client wrote it) throws naming the entry', async (t) => {
  throwsInvalid(t, () => entryFromJson('nightly', '{not json', 'UTC'), /^stored schedules\['nightly'\] is not JSON/);
  throwsInvalid(t, () => entryFromJson('nightly', JSON.stringify({ task: 't', schedule: { kind: 'crontab', expr: '99 * * * *', timezone: null } }), 'UTC'), /^stored schedules\['nightly'\]\.schedule\.expr must be a crontab/);
  throwsInvalid(t, () => entryFromJson('nightly', JSON.stringify({ task: 't', schedule: { kind: 'hourglass' } }), 'UTC'), /^stored schedules\['nightly'\]\.schedule\.kind must be one of 'interval', 'crontab', 'solar', 'once'/);
  throwsInvalid(t, () => entryFromJson('nightly', '[1]', 'UTC'), /^stored schedules\['nightly'\] must be an object/);
});

t.test('every refusal names the entry and the field', async (t) => {
  const E = "^beatSchedule\\['tick'\\]";
  const refused = (raw: unknown, field: string, ...more: RegExp[]): void => throwsInvalid(t, () => parse(raw), new RegExp(`${E}${field}`), ...more);
  refused('t.tick', ' must be an object');
  refused({ task: 't' }, '\\.schedule must be an interval in ms');
  refused({ task: 't', schedule: 'nope' }, '\\.schedule must be a crontab');
  refused({ task: 't', schedule: '0 25 * * *' }, '\\.schedule must be a crontab', /hour: 25/);
  refused({ task: 't', schedule: { hourly: true } }, '\\.schedule\\.hourly is not a known field');
  refused({ task: 't', schedule: {} }, '\\.schedule must be', /an empty object/);
  refused({ task: 't', schedule: { kind: 'crontab', hour: 3, timezone: 'Atlantis/Capital' } }, '\\.schedule\\.timezone must be an IANA time zone');
  refused({ task: 't', schedule: 1_000, timezone: 'Mars/Olympus' }, '\\.timezone must be an IANA time zone');
  refused({ task: '', schedule: 1_000 }, '\\.task must be a task name');
  refused({ task: 't', schedule: 1_000, args: 'a' }, '\\.args must be an array');
  refused({ task: 't', schedule: 1_000, args: [new Date(0)] }, '\\.args\\[0\\] must be JSON data');
  refused({ task: 't', schedule: 1_000, args: [() => 1] }, '\\.args\\[0\\] must be JSON data');
  refused({ task: 't', schedule: 1_000, args: [1n] }, '\\.args\\[0\\] must be JSON data');
  refused({ task: 't', schedule: 1_000, args: [undefined] }, '\\.args\\[0\\] must be JSON data');
  refused({ task: 't', schedule: 1_000, kwargs: { n: Number.NaN } }, '\\.kwargs\\.n must be JSON data');
  refused({ task: 't', schedule: 1_000, kwargs: [1] }, '\\.kwargs must be an object');
  refused({ task: 't', schedule: 1_000, options: { queue: '' } }, '\\.options\\.queue must be a non-empty string');
  refused({ task: 't', schedule: 1_000, options: { priority: 256 } }, '\\.options\\.priority must be an integer from 0 to 255');
  refused({ task: 't', schedule: 1_000, options: { expires: 0 } }, '\\.options\\.expires must be a number of ms');
  refused({ task: 't', schedule: 1_000, options: { headers: { h: new Map() } } }, '\\.options\\.headers\\.h must be JSON data');
  refused({ task: 't', schedule: 1_000, options: { routing_key: 'x' } }, "\\.options\\.routing_key is not a known field \\(did you mean 'routingKey'\\?\\)");
  refused({ task: 't', schedule: 1_000, limit: 0 }, '\\.limit must be an integer from 1');
  refused({ task: 't', schedule: 1_000, limit: 2.5 }, '\\.limit must be an integer');
  refused({ task: 't', schedule: 1_000, missed: 'some' }, "\\.missed must be one of 'skip', 'once', 'all'");
  refused({ task: 't', schedule: 1_000, missedLimit: 0 }, '\\.missedLimit must be an integer from 1 to 10000');
  refused({ task: 't', schedule: 1_000, missedLimit: 20_000 }, '\\.missedLimit must be an integer from 1 to 10000');
  refused({ task: 't', schedule: 1_000, start: 'later' }, '\\.start must be a Date');
  refused({ task: 't', schedule: 1_000, start: '2026-02-01T00:00:00Z', end: '2026-01-01T00:00:00Z' }, '\\.start must be at or before its end', /start 2026-02-01T00:00:00\.000Z after end 2026-01-01T00:00:00\.000Z/);
  refused({ task: 't', schedule: 1_000, relative: true }, '\\.relative is not a known field');
  refused({ task: 't', schedule: 1_000, misssed: 'all' }, "\\.misssed is not a known field \\(did you mean 'missed'\\?\\)");
  throwsInvalid(t, () => parseBeatEntry('', { task: 't', schedule: 1_000 }, 'UTC'), /the entry's name\) must be a non-empty string/);
  // Without a label, the entry is named as app.schedules knows it.
  throwsInvalid(t, () => parseBeatEntry('x', { task: 't', schedule: 'nope' }, 'UTC'), /^schedules\['x'\]\.schedule must be/);
});

t.test('args are deep-copied: the caller keeps its objects', async (t) => {
  const args = [{ n: 1 }];
  const e = parse({ task: 't', schedule: 1_000, args });
  t.not(e.args[0], args[0]);
  t.strictSame(e.args, args);
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  throwsInvalid(t, () => parse({ task: 't', schedule: 1_000, kwargs: cyclic }), /^beatSchedule\['tick'\]\.kwargs\.self(\.self)* must be JSON data nested at most 64 deep/);
});
