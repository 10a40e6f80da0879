// fromCeleryConfig(): a Celery configuration (BROKER_URL, task_serializer, ...) as celeriac settings.
// Driven by the SETTINGS table: names, seconds → ms scaling and env-string coercion come from it.
import { isDeepStrictEqual } from 'node:util';
import { fail } from '../../shared/errors.js';
import { namedQueueArgument } from '../../shared/queue-arguments.js';
import { policyFromCelery } from './publish-retry.js';
import { describe, invalid, isPlainObject, type ParseContext } from './setting-parsers.js';
import { SETTINGS, SETTING_NAMES, parseSetting, unknownSettingMessage, type SettingName, type SettingsInput } from './settings.js';

/** A name the converter accepts: which setting, and whether the value is in Celery's form. */
export interface ConfigName {
  readonly setting: SettingName;
  /** True for Celery's names (values in seconds, snake_case fields); false for camelCase (ours, ms). */
  readonly celery: boolean;
}

function buildNames(): ReadonlyMap<string, ConfigName> {
  const names = new Map<string, ConfigName>();
  const add = (key: string, ref: ConfigName, optional = false): void => {
    const had = names.get(key);
    if (had !== undefined) {
      // 'timezone' is both our name and Celery's; the Django form often repeats an old name.
      if (optional || had.setting === ref.setting) return;
      // A table bug, not a user error: two settings claim one Celery name.
      throw new Error(`settings table: '${key}' names both ${had.setting} and ${ref.setting}`);
    }
    names.set(key, ref);
  };
  for (const setting of SETTING_NAMES) add(setting, { setting, celery: false });
  for (const setting of SETTING_NAMES) {
    const c = SETTINGS[setting].celery;
    if (c.name !== null) add(c.name, { setting, celery: true });
    for (const old of c.old) add(old, { setting, celery: true });
  }
  // Django and Flask apps load Celery settings with namespace 'CELERY': CELERY_BROKER_URL, ...
  for (const setting of SETTING_NAMES) {
    const c = SETTINGS[setting].celery;
    if (c.name !== null) add(`CELERY_${c.name.toUpperCase()}`, { setting, celery: true }, true);
  }
  return names;
}

/**
 * Every name fromCeleryConfig() accepts: camelCase names, Celery's lowercase names
 * (`broker_url`), Celery's old upper-case names (`BROKER_URL`, `CELERYD_CONCURRENCY`) and the
 * Django/Flask namespaced form (`CELERY_BROKER_URL`, `CELERY_TASK_ACKS_LATE`).
 */
export const CONFIG_NAMES: ReadonlyMap<string, ConfigName> = buildNames();

const TRUE_WORDS: ReadonlySet<string> = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS: ReadonlySet<string> = new Set(['false', 'no', 'off', '0']);

/** Celery reads settings from the environment as strings too; coerce them by the setting's type. */
function coerce(setting: SettingName, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const type = SETTINGS[setting].type;
  const t = value.trim();
  if ((type === 'int' || type === 'number') && /^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (type === 'bool' && TRUE_WORDS.has(t.toLowerCase())) return true;
  if (type === 'bool' && FALSE_WORDS.has(t.toLowerCase())) return false;
  if (type === 'list') return t.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return value;
}

/** Seconds (or KiB) → ms (or bytes) by the table's scale; anything not a number is left to the parser. */
function scaled(setting: SettingName, value: unknown): unknown {
  const scale = SETTINGS[setting].celery.scale;
  return scale !== undefined && typeof value === 'number' ? value * scale : value;
}

function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `{ routing_key: 'x' }` → `{ routingKey: 'x' }` (camelCase keys pass); `aliases` renames first. */
function camelKeys(obj: Record<string, unknown>, label: string, aliases: Readonly<Record<string, string>> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined || value === null) continue; // Celery's None = not given
    const to = aliases[key] ?? camel(key);
    if (to in out && !isDeepStrictEqual(out[to], value)) throw invalid(`${label}.${key}`, `the same as the ${to} given alongside it`, value);
    out[to] = value;
  }
  return out;
}

/**
 * A Celery queue: `{ exchange, exchange_type, routing_key, queue_arguments: { 'x-max-priority': 10, 'x-message-ttl': 60000 } }`.
 * x-arguments with a name of ours become it; the others (`'x-queue-type': 'quorum'`) are declared as given.
 */
function celeryQueue(raw: unknown, label: string): unknown {
  if (!isPlainObject(raw)) return raw;
  const q = camelKeys(raw, label, { binding_key: 'routingKey' });
  const exchange = q['exchange'];
  if (isPlainObject(exchange)) {
    // Exchange('tasks', type='topic') written as an object
    const { name, type, ...rest } = exchange;
    if (Object.keys(rest).length > 0) throw invalid(`${label}.exchange.${Object.keys(rest)[0]!}`, 'absent (an exchange is { name, type })', Object.values(rest)[0]);
    q['exchange'] = name;
    if (type !== undefined) q['exchangeType'] = type;
  }
  const args = q['queueArguments'];
  if (args !== undefined) {
    if (!isPlainObject(args)) throw invalid(`${label}.queue_arguments`, 'an object', args);
    const ours: Record<string, unknown> = {};
    for (const [arg, value] of Object.entries(args)) {
      const named = namedQueueArgument(arg);
      if (named === 'maxPriority') {
        q['maxPriority'] = value;
      } else if (named !== undefined) {
        ours[named] = value; // RabbitMQ's are in ms already, as ours
      } else if (arg.startsWith('x-')) {
        ours[arg] = value; // x-queue-type, x-single-active-consumer, ...: declared as given
      } else {
        throw invalid(`${label}.queue_arguments['${arg}']`, "absent: RabbitMQ's queue arguments are named x-...", value);
      }
    }
    if (Object.keys(ours).length > 0) q['arguments'] = ours;
    delete q['queueArguments'];
  }
  return q;
}

function celeryQueues(value: unknown, label: string): unknown {
  if (Array.isArray(value)) return value.map((q, i) => celeryQueue(q, `${label}[${i}]`));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([n, q]) => [n, celeryQueue(q ?? {}, `${label}.${n}`)]));
  return value;
}

function celeryRoute(raw: unknown, label: string): unknown {
  return isPlainObject(raw) ? camelKeys(raw, label) : raw;
}

/** One Celery router: a map, a function, or a list of `[pattern, route]` pairs. */
function celeryRouter(raw: unknown, label: string): unknown {
  if (typeof raw === 'function') {
    const fn = raw as (name: string) => unknown;
    return (taskName: string) => celeryRoute(fn(taskName), `${label} (function, for task '${taskName}')`);
  }
  if (Array.isArray(raw) && raw.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string')) {
    return Object.fromEntries((raw as [string, unknown][]).map(([pattern, route]) => [pattern, celeryRoute(route, `${label}['${pattern}']`)]));
  }
  if (isPlainObject(raw)) return Object.fromEntries(Object.entries(raw).map(([pattern, route]) => [pattern, celeryRoute(route, `${label}['${pattern}']`)]));
  return raw;
}

function celeryRoutes(value: unknown, label: string): unknown {
  // A list of pairs is one router; any other list is a list of routers (Celery's tuple of routers).
  if (Array.isArray(value) && !value.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string')) {
    return value.map((r, i) => celeryRouter(r, `${label}[${i}]`));
  }
  return celeryRouter(value, label);
}

/** A Celery crontab field may be a list (`day_of_week=[1, 3, 5]`): cron's comma form. */
function cronField(value: unknown): unknown {
  if (value instanceof Set) return cronField([...value]);
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * A Celery schedule: seconds → ms; a crontab written as an object with Celery's field names
 * (minute, hour, day_of_week, day_of_month, month_of_year; lists joined) → crontab fields; a solar
 * written as { event, lat, lon } → solar(event, lat, lon). Strings (crontab text) pass as they are.
 */
function celerySchedule(when: unknown, label: string): unknown {
  if (typeof when === 'number') return when * 1000;
  if (!isPlainObject(when)) return when;
  const s = camelKeys(when, label);
  if (s['kind'] === undefined && 'event' in s) return { kind: 'solar', ...s };
  for (const key of ['second', 'minute', 'hour', 'dayOfWeek', 'dayOfMonth', 'monthOfYear']) if (key in s) s[key] = cronField(s[key]);
  return s;
}

/** A Celery beat entry: schedule as celerySchedule() reads it; options.expires in seconds. */
function celeryBeatEntry(raw: unknown, label: string): unknown {
  if (!isPlainObject(raw)) return raw;
  const e = camelKeys(raw, label);
  // Celery's relative=True rounds run times to the interval; intervals here keep a fixed grid from
  // the entry's start (or creation). False is Celery's default and means just that.
  if (e['relative'] === false) delete e['relative'];
  else if (e['relative'] !== undefined) {
    throw invalid(`${label}.relative`, "absent or false (Celery's relative=True has no equivalent: intervals run on a fixed grid from the entry's start; a crontab gives clock-aligned runs)", e['relative']);
  }
  if (e['schedule'] !== undefined) e['schedule'] = celerySchedule(e['schedule'], `${label}.schedule`);
  if (isPlainObject(e['options'])) {
    const o = camelKeys(e['options'], `${label}.options`);
    if (typeof o['expires'] === 'number') o['expires'] = o['expires'] * 1000;
    e['options'] = o;
  }
  return e;
}

function celeryBeat(value: unknown, label: string): unknown {
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([n, e]) => [n, celeryBeatEntry(e, `${label}['${n}']`)]));
}

/** Celery's pool names → ours: prefork is child processes; solo, eventlet and gevent run in-process. */
const POOLS: Readonly<Record<string, string>> = { prefork: 'processes', processes: 'processes', threads: 'threads', solo: 'async', eventlet: 'async', gevent: 'async', async: 'async' };

/**
 * Settings whose Celery form needs more than scaling. Each takes the value under its Celery
 * name (label = that name) and returns it in celeriac's form; undefined means "use the default".
 */
const FROM_CELERY: { readonly [K in SettingName]?: (value: unknown, label: string) => unknown } = {
  // Celery: None or 0 = as many as CPUs, which is our default.
  workerConcurrency: (v) => (v === 0 || v === null ? undefined : v),
  // Celery: None or 0 = results never expire.
  resultExpires: (v) => (v === 0 || v === null ? null : scaled('resultExpires', v)),
  workerPool: (v) => (typeof v === 'string' ? POOLS[v] ?? v : v),
  // Celery: None = no routes.
  taskRoutes: (v, label) => (v === null ? undefined : celeryRoutes(v, label)),
  taskQueues: celeryQueues,
  beatSchedule: (v, label) => (v === null ? undefined : celeryBeat(v, label)),
  // { max_retries, interval_start, ... } in seconds; max_retries None = for ever.
  taskPublishRetryPolicy: (v) => policyFromCelery(v),
};

function acceptsNull(setting: SettingName): boolean {
  try {
    parseSetting(setting, null);
    return true;
  } catch {
    return false;
  }
}

function styleOf(key: string): number {
  if (/^[A-Z0-9_]+$/.test(key)) return 0; // BROKER_URL
  if (key.includes('_')) return 1; // broker_url
  return 2; // camelCase
}

/** Known names, those written in the same style as `key` first, so the suggestion matches its style. */
function candidatesFor(key: string): string[] {
  const style = styleOf(key);
  return [...CONFIG_NAMES.keys()].sort((a, b) => Number(styleOf(a) !== style) - Number(styleOf(b) !== style));
}

/** The configuration's time zone, read before the rest: beatSchedule reads ISO times without an offset in it. */
function zoneOf(config: Readonly<Record<string, unknown>>): ParseContext {
  for (const [key, raw] of Object.entries(config)) {
    if (raw === undefined || raw === null || CONFIG_NAMES.get(key)?.setting !== 'timezone') continue;
    return { timezone: parseSetting('timezone', raw, key) };
  }
  return { timezone: SETTINGS.timezone.default };
}

/**
 * Turns a Celery configuration into celeriac settings. Accepts Celery's old upper-case names
 * (`BROKER_URL`, `CELERYD_PREFETCH_MULTIPLIER`, `CELERY_QUEUES`, `CELERY_ROUTES`,
 * `CELERYBEAT_SCHEDULE`, ...), its lowercase names (`broker_url`, `task_serializer`), the
 * Django/Flask `CELERY_`-namespaced names and celeriac's camelCase names. Under Celery's
 * names, durations are seconds (turned into ms), memory is KiB (turned into bytes), nested
 * fields are snake_case, and strings from the environment ('4', 'true', 'json,msgpack') are
 * coerced; under camelCase names values are taken as celeriac's (ms). Every value is validated.
 * Throws ERR_INVALID_ARGUMENT naming the key: unknown (with the closest known name), bad value,
 * or one setting given under two names with different values. `undefined` values are skipped.
 */
export function fromCeleryConfig(config: Readonly<Record<string, unknown>>): SettingsInput {
  if (!isPlainObject(config)) throw fail('ERR_INVALID_ARGUMENT', `a Celery configuration must be an object; got ${describe(config)}`);
  const out: Record<string, unknown> = {};
  const from = new Map<SettingName, string>();
  const context = zoneOf(config);
  for (const [key, raw] of Object.entries(config)) {
    if (raw === undefined) continue;
    const ref = CONFIG_NAMES.get(key);
    if (ref === undefined) throw fail('ERR_INVALID_ARGUMENT', unknownSettingMessage(key, candidatesFor(key), 'Celery setting'), { setting: key });
    let value: unknown = raw;
    if (ref.celery) {
      value = coerce(ref.setting, value);
      const convert = FROM_CELERY[ref.setting];
      value = convert === undefined ? scaled(ref.setting, value) : convert(value, key);
      if (value === undefined || (value === null && !acceptsNull(ref.setting))) continue; // Celery's None = the default
    }
    const parsed = parseSetting(ref.setting, value, key, context);
    const earlier = from.get(ref.setting);
    if (earlier !== undefined && !isDeepStrictEqual(out[ref.setting], parsed)) {
      throw fail('ERR_INVALID_ARGUMENT', `settings ${earlier} and ${key} both set ${ref.setting}, to different values`, { setting: key });
    }
    from.set(ref.setting, key);
    out[ref.setting] = parsed;
  }
  return out as SettingsInput;
}
