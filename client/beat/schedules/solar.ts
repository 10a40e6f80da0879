// Solar schedules, as Celery's solar(event, lat, lon), computed with astronomy-engine: rise and set
// of the Sun's upper limb with standard refraction, twilight by the centre's altitude, noon by transit.
import { createRequire } from 'node:module';
import type * as Astronomy from 'astronomy-engine';
import type { Schedule, ScheduleInput, ScheduleSpec, SolarEvent } from '../types.js';
import { scheduleOf } from './due.js';
import { onlyKeys, refuse } from './refuse.js';

/**
 * How each event is found, as Celery's solar table (celery/schedules.py: _horizons, _methods,
 * _use_center_l): sunrise/sunset at -0°34' for the upper limb (SearchRiseSet), dawn and dusk by the
 * centre at -6/-12/-18° without refraction (SearchAltitude), noon at the transit (hour angle 0).
 */
const EVENTS = {
  dawn_astronomical: { search: 'altitude', direction: +1, altitude: -18 },
  dawn_nautical: { search: 'altitude', direction: +1, altitude: -12 },
  dawn_civil: { search: 'altitude', direction: +1, altitude: -6 },
  sunrise: { search: 'riseSet', direction: +1, altitude: 0 },
  solar_noon: { search: 'transit', direction: +1, altitude: 0 },
  sunset: { search: 'riseSet', direction: -1, altitude: 0 },
  dusk_civil: { search: 'altitude', direction: -1, altitude: -6 },
  dusk_nautical: { search: 'altitude', direction: -1, altitude: -12 },
  dusk_astronomical: { search: 'altitude', direction: -1, altitude: -18 },
} as const satisfies Record<SolarEvent, { search: string; direction: 1 | -1; altitude: number }>;

// The package's CommonJS build, required: its ESM build is .js files in a package without
// "type": "module", which Node loads only by guessing the syntax, and which breaks under loaders
// that require() it (tap's TypeScript loader: ERR_REQUIRE_CYCLE_MODULE).
const astronomy = createRequire(import.meta.url)('astronomy-engine') as typeof Astronomy;

/** Every solar event name, as Celery spells them. */
export const SOLAR_EVENTS = Object.keys(EVENTS) as readonly SolarEvent[];

/**
 * How far ahead an event is looked for: a year covers the longest polar night or day (the event
 * comes back within the year everywhere but at the poles themselves, where some never come).
 */
export const SOLAR_SEARCH_DAYS = 366;

/** Same-kind events are about a day apart: a search that lands on `t` itself starts again this much later. */
const SAME_EVENT_GAP_MS = 60_000;

function checkEvent(value: unknown, path: string): SolarEvent {
  if (typeof value !== 'string' || !(SOLAR_EVENTS as readonly string[]).includes(value)) {
    throw refuse(path, `a solar event: ${SOLAR_EVENTS.join(', ')}`, value);
  }
  return value as SolarEvent;
}

function checkDegrees(value: unknown, limit: number, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < -limit || value > limit) throw refuse(path, `a number of degrees from -${limit} to ${limit}`, value);
  return value;
}

/** `{ kind: 'solar', event, lat, lon }`, checked (as Celery's solar() constructor checks it). */
export function solarSpec(raw: Record<string, unknown>, path: string): Extract<ScheduleSpec, { kind: 'solar' }> {
  onlyKeys(raw, ['kind', 'event', 'lat', 'lon'], path);
  return {
    kind: 'solar',
    event: checkEvent(raw['event'], `${path}.event`),
    lat: checkDegrees(raw['lat'], 90, `${path}.lat`),
    lon: checkDegrees(raw['lon'], 180, `${path}.lon`),
  };
}

/**
 * A solar schedule, as Celery's `solar('sunrise', -37.81753, 144.96715)`: runs at the event as
 * seen at latitude `lat` (-90..90, north positive), longitude `lon` (-180..180, east positive).
 * Events: dawn_astronomical, dawn_nautical, dawn_civil, sunrise, solar_noon, sunset, dusk_civil,
 * dusk_nautical, dusk_astronomical. Checked now (ERR_INVALID_ARGUMENT).
 */
export function solar(event: SolarEvent, lat: number, lon: number): ScheduleInput {
  return solarSpec({ kind: 'solar', event, lat, lon }, 'solar()');
}

/** The schedule of a solar spec: the next event strictly after t, or null when none within SOLAR_SEARCH_DAYS. */
export function compileSolar(spec: Extract<ScheduleSpec, { kind: 'solar' }>): Schedule {
  const how = EVENTS[spec.event];
  const { Body, SearchAltitude, SearchHourAngle, SearchRiseSet } = astronomy;
  const observer = new astronomy.Observer(spec.lat, spec.lon, 0);
  const search = (from: number): number | null => {
    const start = new Date(from);
    let found: Astronomy.AstroTime | null;
    if (how.search === 'riseSet') found = SearchRiseSet(Body.Sun, observer, how.direction, start, SOLAR_SEARCH_DAYS);
    else if (how.search === 'altitude') found = SearchAltitude(Body.Sun, observer, how.direction, start, SOLAR_SEARCH_DAYS, how.altitude);
    else found = SearchHourAngle(Body.Sun, observer, 0, start, +1).time;
    return found === null ? null : found.date.getTime();
  };
  const nextAfter = (t: number): number | null => {
    const found = search(t);
    // Event times are cut to whole ms, so a search from an event's own time may find it again.
    return found !== null && found <= t ? search(t + SAME_EVENT_GAP_MS) : found;
  };
  return scheduleOf(nextAfter, `solar ${spec.event} (${spec.lat}, ${spec.lon})`);
}
