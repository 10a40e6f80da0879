// Times on the wire: the ISO 8601 text Celery writes for eta/expires and datetimes in JSON bodies.
// One place decides the format, so producer headers and JSON values agree.
import { fail } from '../errors.js';

/**
 * Formats an instant as ISO 8601 with an explicit `+00:00` offset and millisecond precision.
 *
 * Why not `toISOString()`'s `Z`: Celery parses eta/expires with `datetime.fromisoformat`, which
 * accepts `Z` only from Python 3.11 on; `+00:00` parses on every supported Python.
 */
export function toWireTime(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw fail('ERR_INVALID_ARGUMENT', 'invalid Date (NaN) cannot be written as an ISO 8601 time');
  return date.toISOString().replace(/Z$/, '+00:00');
}

// YYYY-MM-DDTHH:MM[:SS[.fraction]] with an optional offset; Python may also separate with a space.
const ISO_RE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses an ISO 8601 time as Celery writes it (`2024-01-02T03:04:05.123456+00:00`).
 * A time without an offset is taken as UTC (Celery's default timezone with `enable_utc`), never
 * as this machine's local time. Returns undefined when the text is not such a time.
 */
export function parseWireTime(text: string): Date | undefined {
  const m = ISO_RE.exec(text.trim());
  if (m === null) return undefined;
  const [, day, clock, offset] = m;
  // Date.parse reads at most millisecond precision; drop extra fraction digits first so
  // microseconds (Python's default) are truncated, not rejected.
  const trimmedClock = clock!.replace(/(\.\d{3})\d+$/, '$1');
  let zone = offset ?? 'Z';
  if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${day}T${trimmedClock}${zone.toUpperCase()}`);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}
