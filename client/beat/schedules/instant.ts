// Points in time as users write them (Date, epoch ms, ISO 8601 text) → epoch ms. ISO text without
// an offset is wall-clock time in the entry's zone (else the `timezone` setting), as Celery reads naive datetimes.
import { refuse } from './refuse.js';

const EXPECTED = "a Date, epoch ms or an ISO 8601 time ('2026-12-03T10:00:00Z'; without Z or an offset: in the time zone)";
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
/** JavaScript's Date range, ±100,000,000 days around 1970. */
const MAX_DATE_MS = 8.64e15;

const formats = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock fields of instant `t` in `zone`, as if they were UTC: (that) - t is the zone's offset at t. */
function wallAsUtc(t: number, zone: string): number {
  let f = formats.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formats.set(zone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p['year']!, p['month']! - 1, p['day'], p['hour'], p['minute'], p['second']) + (((t % 1000) + 1000) % 1000);
}

/**
 * The instant at which `zone`'s clocks show `wall` (wall-clock fields written as UTC ms). A time
 * shown twice (clocks going back) is its first occurrence; a time never shown (clocks going
 * forward) is moved forward by the jump (02:30 on a spring-forward night is 03:30), as croner does.
 */
export function zonedTime(wall: number, zone: string): number {
  const day = 86_400_000;
  const before = wall - (wallAsUtc(wall - day, zone) - (wall - day));
  const after = wall - (wallAsUtc(wall + day, zone) - (wall + day));
  const shown = [Math.min(before, after), Math.max(before, after)].filter((t) => wallAsUtc(t, zone) === wall);
  return shown[0] ?? before;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** A time given as a Date, epoch ms or ISO 8601 text, as epoch ms (whole ms). */
export function parseInstant(value: unknown, path: string, zone: string): number {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = Math.round(value);
  else if (typeof value === 'string') ms = fromIso(value, path, zone);
  else throw refuse(path, EXPECTED, value);
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) throw refuse(path, EXPECTED, value);
  return ms;
}

function fromIso(text: string, path: string, zone: string): number {
  const m = ISO.exec(text.trim());
  if (m === null) throw refuse(path, EXPECTED, text);
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1, 7).map((v) => (v === undefined ? undefined : Number(v))) as number[];
  const fraction = Number((m[7] ?? '').padEnd(3, '0'));
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > daysIn(y!, mo!) || h > 23 || mi > 59 || s > 59) throw refuse(path, 'a real date and time', text);
  const wall = Date.UTC(y!, mo! - 1, d, h, mi, s, fraction);
  const offset = m[8];
  if (offset === undefined) return zonedTime(wall, zone);
  if (offset.toUpperCase() === 'Z') return wall;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  return wall - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
}
