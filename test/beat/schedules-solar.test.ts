// Solar schedules through astronomy-engine: events at a known place and date against published
// times, strictly-after, a polar night skipped, refusals. Fixed instants, no clock.
import t from 'tap';
import { compileSchedule, parseSchedule, solar } from '../../client/beat/schedules/index.js';
import type { SolarEvent } from '../../client/beat/types.js';
import { throwsInvalid } from '../app/app-helpers.js';

const at = (iso: string): number => Date.parse(iso);
const PARIS = { lat: 48.8566, lon: 2.3522 };
const MINUTE = 60_000;

function next(event: SolarEvent, lat: number, lon: number, from: string): number | null {
  return compileSchedule({ kind: 'solar', event, lat, lon }, 'UTC').nextAfter(at(from));
}

t.test('Paris sunrise and sunset within 3 minutes of published times', async (t) => {
  // Published local times (CEST = UTC+2, CET = UTC+1):
  //  - 1 June: sunrise 05:53, sunset 21:46 (https://whattime.city/paris/sun, table "on the 1st of each month");
  //  - 21 December: sunrise 08:41, sunset 16:56 (https://particle.news, winter solstice in Paris article).
  // Both vary by well under a minute from one year to the next.
  const near = (got: number | null, want: string, label: string): void => {
    t.ok(got !== null && Math.abs(got - at(want)) <= 3 * MINUTE, `${label}: ${got === null ? null : new Date(got).toISOString()} ≈ ${want}`);
  };
  near(next('sunrise', PARIS.lat, PARIS.lon, '2026-06-01T00:00:00Z'), '2026-06-01T03:53:00Z', 'sunrise 1 June');
  near(next('sunset', PARIS.lat, PARIS.lon, '2026-06-01T00:00:00Z'), '2026-06-01T19:46:00Z', 'sunset 1 June');
  near(next('sunrise', PARIS.lat, PARIS.lon, '2026-12-21T00:00:00Z'), '2026-12-21T07:41:00Z', 'sunrise 21 December');
  near(next('sunset', PARIS.lat, PARIS.lon, '2026-12-21T00:00:00Z'), '2026-12-21T15:56:00Z', 'sunset 21 December');
});

t.test('every event, in its order of the day, each strictly after the previous', async (t) => {
  const order: SolarEvent[] = ['dawn_astronomical', 'dawn_nautical', 'dawn_civil', 'sunrise', 'solar_noon', 'sunset', 'dusk_civil', 'dusk_nautical', 'dusk_astronomical'];
  // Mid-March in Paris: every twilight happens (no white nights).
  const times = order.map((e) => next(e, PARIS.lat, PARIS.lon, '2026-03-15T00:00:00Z')!);
  for (let i = 1; i < times.length; i++) t.ok(times[i]! > times[i - 1]!, `${order[i - 1]} before ${order[i]}`);
  const noon = times[4]!;
  t.ok(Math.abs(noon - at('2026-03-15T11:59:00Z')) < 10 * MINUTE, 'solar noon near 12:00 UTC at 2.35°E (equation of time about -9 min)');
  const s = compileSchedule({ kind: 'solar', event: 'sunrise', ...PARIS }, 'UTC');
  const rise = s.nextAfter(at('2026-03-15T00:00:00Z'))!;
  const again = s.nextAfter(rise)!;
  t.ok(again > rise + 23 * 3_600_000 && again < rise + 25 * 3_600_000, 'after a sunrise: the next day\'s');
  t.strictSame(s.isDue(rise - 1, rise), { due: true, nextInMs: again - rise });
  t.equal(s.description, 'solar sunrise (48.8566, 2.3522)');
});

t.test('a polar night is skipped: the next sunrise is the first day the sun rises again', async (t) => {
  // Tromsø (69.65°N): polar night from about 27 November to 15 January.
  const tromso = (from: string): number | null => next('sunrise', 69.6492, 18.9553, from);
  const beforeNight = tromso('2026-11-20T00:00:00Z')!;
  t.equal(new Date(beforeNight).toISOString().slice(0, 10), '2026-11-20', 'the sun still rises on 20 November');
  const afterNight = tromso('2026-12-01T00:00:00Z')!;
  t.ok(afterNight >= at('2027-01-14T00:00:00Z') && afterNight < at('2027-01-17T00:00:00Z'), `first sunrise after the polar night: ${new Date(afterNight).toISOString()}`);
  // At the pole the sun rises once a year, at the March equinox.
  const pole = next('sunrise', 90, 0, '2026-04-01T00:00:00Z')!;
  t.ok(pole >= at('2027-03-16T00:00:00Z') && pole < at('2027-03-22T00:00:00Z'), `pole sunrise ${new Date(pole).toISOString()}`);
});

t.test('solar() checks event, latitude and longitude as Celery does', async (t) => {
  t.strictSame(solar('sunrise', -37.81753, 144.96715), { kind: 'solar', event: 'sunrise', lat: -37.81753, lon: 144.96715 });
  t.strictSame(parseSchedule(solar('dusk_civil', 0, 0), 's', 'UTC'), { kind: 'solar', event: 'dusk_civil', lat: 0, lon: 0 });
  throwsInvalid(t, () => solar('moonrise' as SolarEvent, 0, 0), /^solar\(\)\.event must be a solar event: dawn_astronomical, .*dusk_astronomical/);
  throwsInvalid(t, () => solar('sunrise', 91, 0), /^solar\(\)\.lat must be a number of degrees from -90 to 90; got 91/);
  throwsInvalid(t, () => solar('sunrise', 0, -180.5), /^solar\(\)\.lon must be a number of degrees from -180 to 180/);
  throwsInvalid(t, () => solar('sunrise', Number.NaN, 0), /^solar\(\)\.lat/);
  throwsInvalid(t, () => parseSchedule({ kind: 'solar', event: 'sunrise', lat: 0, lon: 0, elevation: 5 }, 's', 'UTC'), /^s\.elevation is not a known field/);
});
