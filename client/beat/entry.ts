// One periodic-task entry as given (beatSchedule, app.schedules.upsert, a stored spec) → the parsed
// BeatEntry, every field checked now so that a bad entry is refused at start or upsert, never at fire time.
import { fail } from '../../shared/errors.js';
import { compileSchedule, parseSchedule } from './schedules/index.js';
import { parseInstant } from './schedules/instant.js';
import { isPlainObject, onlyKeys, refuse } from './schedules/refuse.js';
import { checkTimeZone } from './schedules/zone.js';
import type { BeatEntry, BeatOptions, MissedRunPolicy } from './types.js';

const ENTRY_KEYS = ['task', 'schedule', 'args', 'kwargs', 'options', 'limit', 'start', 'end', 'missed', 'missedLimit', 'timezone'] as const;
const OPTION_KEYS = ['queue', 'routingKey', 'exchange', 'priority', 'expires', 'headers'] as const;
const MISSED: readonly MissedRunPolicy[] = ['skip', 'once', 'all'];
/** Default of missedLimit: the latest 100 missed runs are fired under missed 'all'. */
export const DEFAULT_MISSED_LIMIT = 100;
/** The most missed runs one catch-up may fire (each is a task message and a broker round trip). */
export const MAX_MISSED_LIMIT = 10_000;
/** Nesting depth of args/kwargs/headers past which data is refused (and cycles caught). */
const MAX_DEPTH = 64;

/** A name of at most 255 bytes (an AMQP short string: queue, exchange, routing key, entry name). */
function shortName(value: unknown, path: string, allowEmpty: boolean): string {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0) || Buffer.byteLength(value) > 255) {
    throw refuse(path, `a ${allowEmpty ? '' : 'non-empty '}string of at most 255 bytes`, value);
  }
  return value;
}

function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw refuse(path, `an integer from ${min} to ${max}`, value);
  return value;
}

/**
 * A copy of `value` if it is plain JSON data (null, booleans, finite numbers, strings, arrays and
 * plain objects): the entry is stored as JSON text, so anything else would not come back the same.
 */
function jsonCopy(value: unknown, path: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw refuse(path, `JSON data nested at most ${MAX_DEPTH} deep`, value);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw refuse(path, 'JSON data (a finite number)', value);
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => jsonCopy(v, `${path}[${i}]`, depth + 1));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonCopy(v, `${path}.${k}`, depth + 1);
    return out;
  }
  throw refuse(path, 'JSON data (null, booleans, finite numbers, strings, arrays and plain objects)', value);
}

function beatOptions(raw: unknown, path: string): BeatOptions {
  if (!isPlainObject(raw)) throw refuse(path, `an object { ${OPTION_KEYS.join(', ')} }`, raw);
  onlyKeys(raw, OPTION_KEYS, path);
  const o: { -readonly [K in keyof BeatOptions]: BeatOptions[K] } = {};
  if (raw['queue'] !== undefined) o.queue = shortName(raw['queue'], `${path}.queue`, false);
  if (raw['routingKey'] !== undefined) o.routingKey = shortName(raw['routingKey'], `${path}.routingKey`, true);
  if (raw['exchange'] !== undefined) o.exchange = shortName(raw['exchange'], `${path}.exchange`, true);
  if (raw['priority'] !== undefined) o.priority = integer(raw['priority'], `${path}.priority`, 0, 255);
  if (raw['expires'] !== undefined) {
    const e = raw['expires'];
    if (typeof e !== 'number' || !Number.isFinite(e) || e < 1 || e > Number.MAX_SAFE_INTEGER) throw refuse(`${path}.expires`, 'a number of ms >= 1', e);
    o.expires = e;
  }
  if (raw['headers'] !== undefined) {
    if (!isPlainObject(raw['headers'])) throw refuse(`${path}.headers`, 'an object of JSON data', raw['headers']);
    o.headers = jsonCopy(raw['headers'], `${path}.headers`) as Record<string, unknown>;
  }
  return o;
}

/** undefined and null = not given. */
function given(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/**
 * Parses one entry: `raw` in any form users write (BeatEntryInput) or the parsed form itself
 * (BeatEntry, as stored). `timezone` is the `timezone` setting, used for ISO times without an
 * offset when the entry names no zone of its own. Fills defaults: args [], kwargs {}, options {},
 * limit/start/end null, missed 'skip' ('once' for a one-off), missedLimit 100, timezone null.
 * Throws ERR_INVALID_ARGUMENT whose message starts with `label` (default `schedules['name']`) and
 * the field: an unknown schedule shape, a cron string croner cannot read, a zone Intl does not
 * know, start after end, a bad limit or missedLimit, args that are not an array, data that is not
 * plain JSON, an unknown key (with the closest known name).
 */
export function parseBeatEntry(name: string, raw: unknown, timezone: string, label = `schedules['${name}']`): BeatEntry {
  shortName(name, `${label} (the entry's name)`, false);
  if (!isPlainObject(raw)) throw refuse(label, 'an object { task, schedule, args?, kwargs?, options?, limit?, start?, end?, missed?, missedLimit?, timezone? }', raw);
  onlyKeys(raw, ENTRY_KEYS, label);
  if (typeof raw['task'] !== 'string' || raw['task'].length === 0 || raw['task'].length > 255) throw refuse(`${label}.task`, 'a task name (a non-empty string of at most 255 characters)', raw['task']);
  const entryZone = given(raw['timezone']) ? checkTimeZone(raw['timezone'], `${label}.timezone`) : null;
  const zone = entryZone ?? timezone;
  const schedule = parseSchedule(raw['schedule'], `${label}.schedule`, zone);
  // Compiled once here so that a spec croner or the zone would refuse fails now, not at fire time.
  compileSchedule(schedule, zone).nextAfter(0);
  const args = raw['args'] ?? [];
  if (!Array.isArray(args)) throw refuse(`${label}.args`, 'an array (the positional arguments)', args);
  const kwargs = raw['kwargs'] ?? {};
  if (!isPlainObject(kwargs)) throw refuse(`${label}.kwargs`, 'an object (the keyword arguments)', kwargs);
  const limit = given(raw['limit']) ? integer(raw['limit'], `${label}.limit`, 1, Number.MAX_SAFE_INTEGER) : null;
  const start = given(raw['start']) ? parseInstant(raw['start'], `${label}.start`, zone) : null;
  const end = given(raw['end']) ? parseInstant(raw['end'], `${label}.end`, zone) : null;
  if (start !== null && end !== null && start > end) {
    throw fail('ERR_INVALID_ARGUMENT', `${label}.start must be at or before its end; got start ${new Date(start).toISOString()} after end ${new Date(end).toISOString()}`, { path: `${label}.start` });
  }
  const missed = raw['missed'] ?? (schedule.kind === 'once' ? 'once' : 'skip');
  if (!MISSED.includes(missed as MissedRunPolicy)) throw refuse(`${label}.missed`, "one of 'skip', 'once', 'all'", missed);
  return {
    task: raw['task'],
    schedule,
    args: jsonCopy(args, `${label}.args`) as unknown[],
    kwargs: jsonCopy(kwargs, `${label}.kwargs`) as Record<string, unknown>,
    options: beatOptions(raw['options'] ?? {}, `${label}.options`),
    limit,
    start,
    end,
    missed: missed as MissedRunPolicy,
    missedLimit: given(raw['missedLimit']) ? integer(raw['missedLimit'], `${label}.missedLimit`, 1, MAX_MISSED_LIMIT) : DEFAULT_MISSED_LIMIT,
    timezone: entryZone,
  };
}

/** The entry as the JSON text the broker stores (ScheduleRecord.spec), its fields in a fixed order. */
export function entryToJson(entry: BeatEntry): string {
  const { task, schedule, args, kwargs, options, limit, start, end, missed, missedLimit, timezone } = entry;
  return JSON.stringify({ task, schedule, args, kwargs, options, limit, start, end, missed, missedLimit, timezone });
}

/**
 * A stored entry read back: parsed and checked again like any input, since another client (or an
 * older version) may have written it. Throws ERR_INVALID_ARGUMENT naming the entry when it is not
 * JSON or not a valid entry.
 */
export function entryFromJson(name: string, json: string, timezone: string): BeatEntry {
  const label = `stored schedules['${name}']`;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw fail('ERR_INVALID_ARGUMENT', `${label} is not JSON (${err instanceof Error ? err.message : String(err)})`, { path: label });
  }
  return parseBeatEntry(name, raw, timezone, label);
}
