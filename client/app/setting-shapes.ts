// The structured settings — task queues, task routes, beat schedule — their types and shape checks.
// Only shape is checked here; cross-setting checks (does a route reach its queue?) live in routing.ts.
import { fail } from '../../shared/errors.js';
import { EXCHANGE_TYPES, type ExchangeType, type QueueOptions } from '../../shared/frames.js';
import { closest } from './suggest.js';
import { bool, duration, int, invalid, isPlainObject, name, oneOf, text, type Parser } from './setting-parsers.js';

// ---------------------------------------------------------------------------------------------
// taskQueues

/**
 * A queue the app declares, as Celery's `Queue('default', Exchange('tasks'), routing_key='task.#')`.
 * Omitted fields are filled by resolveSettings(): exchange = taskDefaultExchange, exchangeType =
 * taskDefaultExchangeType when the exchange is the default one (else 'direct'), routingKey = name.
 */
export interface QueueInput {
  name: string;
  exchange?: string;
  exchangeType?: ExchangeType;
  /** The binding pattern (`task.#` on a topic exchange); Celery calls it routing_key. */
  routingKey?: string;
  /** Default true: the queue and its messages survive a broker restart. */
  durable?: boolean;
  autoDelete?: boolean;
  /** Makes it a priority queue with priorities 0..maxPriority (1-255; 10 is plenty). */
  maxPriority?: number;
  /** The broker's queue arguments (Celery's queue_arguments): TTLs, length limit, dead-lettering, ... */
  arguments?: QueueArguments;
}

/** The queue options that taskQueues takes as `arguments` (the rest have fields of their own). */
const ARGUMENT_NAMES = [
  'messageTtl', 'expires', 'maxLength', 'overflow', 'deadLetterExchange', 'deadLetterRoutingKey', 'deliveryLimit', 'consumerTimeout',
] as const satisfies readonly (keyof QueueOptions)[];

/** Queue arguments the broker takes (RabbitMQ's x-arguments, amqplib's names): the Connection's QueueOptions of those names. Durations in ms. */
export type QueueArguments = Pick<QueueOptions, (typeof ARGUMENT_NAMES)[number]>;

/** A queue after resolveSettings(): every field known. */
export interface QueueSetting {
  readonly name: string;
  readonly exchange: string;
  readonly exchangeType: ExchangeType;
  readonly routingKey: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly maxPriority: number | undefined;
  readonly arguments: Readonly<QueueArguments>;
}

/** taskQueues as given: a list (entries may be bare names) or Celery's dict form `{ name: {...} }`. */
export type QueuesInput = ReadonlyArray<QueueInput | string> | Readonly<Record<string, Omit<QueueInput, 'name'>>>;

/** A queue entry as parsed from input alone (defaults that depend on other settings still open). */
export type ParsedQueue = Readonly<QueueInput>;

const QUEUE_KEYS: ReadonlySet<string> = new Set(['name', 'exchange', 'exchangeType', 'routingKey', 'durable', 'autoDelete', 'maxPriority', 'arguments']);
const ARGUMENT_KEYS: ReadonlySet<string> = new Set(ARGUMENT_NAMES);

function parseArguments(raw: unknown, label: string): QueueArguments {
  if (!isPlainObject(raw)) throw invalid(label, `an object of queue arguments (${[...ARGUMENT_KEYS].join(', ')})`, raw);
  onlyKeys(raw, ARGUMENT_KEYS, label);
  const a: QueueArguments = {};
  if (raw['messageTtl'] !== undefined) a.messageTtl = int(0)(raw['messageTtl'], `${label}.messageTtl`);
  if (raw['expires'] !== undefined) a.expires = int(1)(raw['expires'], `${label}.expires`);
  if (raw['maxLength'] !== undefined) a.maxLength = int(0)(raw['maxLength'], `${label}.maxLength`);
  if (raw['overflow'] !== undefined) a.overflow = oneOf(['drop-head', 'reject-publish'] as const)(raw['overflow'], `${label}.overflow`);
  if (raw['deadLetterExchange'] !== undefined) a.deadLetterExchange = name(true)(raw['deadLetterExchange'], `${label}.deadLetterExchange`);
  if (raw['deadLetterRoutingKey'] !== undefined) a.deadLetterRoutingKey = name(true)(raw['deadLetterRoutingKey'], `${label}.deadLetterRoutingKey`);
  if (raw['deliveryLimit'] !== undefined) a.deliveryLimit = int(1)(raw['deliveryLimit'], `${label}.deliveryLimit`);
  if (raw['consumerTimeout'] !== undefined) a.consumerTimeout = int(1)(raw['consumerTimeout'], `${label}.consumerTimeout`);
  return a;
}

/** Rejects keys outside `allowed`, naming the first stranger. */
export function onlyKeys(obj: Record<string, unknown>, allowed: ReadonlySet<string>, label: string): void {
  for (const key of Object.keys(obj)) {
    if (allowed.has(key)) continue;
    const near = closest(key, [...allowed]);
    const hint = near === undefined ? '' : ` (did you mean '${near}'?)`;
    throw fail('ERR_INVALID_ARGUMENT', `setting ${label}.${key} is not a known field${hint}; known fields: ${[...allowed].join(', ')}`, { setting: /^[^.[]+/.exec(label)?.[0] ?? label, path: `${label}.${key}` });
  }
}

function parseQueue(raw: unknown, label: string, dictName?: string): ParsedQueue {
  if (typeof raw === 'string' && dictName === undefined) return { name: name()(raw, label) };
  if (!isPlainObject(raw)) throw invalid(label, 'a queue name or an object { name, exchange?, exchangeType?, routingKey?, durable?, autoDelete?, maxPriority?, arguments? }', raw);
  onlyKeys(raw, QUEUE_KEYS, label);
  const q: QueueInput = { name: name()(dictName ?? raw['name'], `${label}.name`) };
  if (dictName !== undefined && raw['name'] !== undefined && raw['name'] !== dictName) throw invalid(`${label}.name`, `absent or '${dictName}' (the key it is listed under)`, raw['name']);
  if (raw['exchange'] !== undefined) q.exchange = name(true)(raw['exchange'], `${label}.exchange`);
  if (raw['exchangeType'] !== undefined) q.exchangeType = oneOf(EXCHANGE_TYPES)(raw['exchangeType'], `${label}.exchangeType`);
  if (raw['routingKey'] !== undefined) q.routingKey = name(true)(raw['routingKey'], `${label}.routingKey`);
  if (raw['durable'] !== undefined) q.durable = bool(raw['durable'], `${label}.durable`);
  if (raw['autoDelete'] !== undefined) q.autoDelete = bool(raw['autoDelete'], `${label}.autoDelete`);
  if (raw['maxPriority'] !== undefined) q.maxPriority = int(1, 255)(raw['maxPriority'], `${label}.maxPriority`);
  if (raw['arguments'] !== undefined) q.arguments = parseArguments(raw['arguments'], `${label}.arguments`);
  return q;
}

/** Parses taskQueues (list or dict form) into a list; queue names must be unique. */
export const queues: Parser<readonly ParsedQueue[]> = (value, label) => {
  let out: ParsedQueue[];
  if (Array.isArray(value)) out = value.map((q, i) => parseQueue(q, `${label}[${i}]`));
  else if (isPlainObject(value)) out = Object.entries(value).map(([n, q]) => parseQueue(q ?? {}, `${label}.${n}`, n));
  else throw invalid(label, 'an array of queues or an object { queueName: { exchange, routingKey, ... } }', value);
  const seen = new Set<string>();
  out.forEach((q, i) => {
    if (seen.has(q.name)) throw invalid(`${label}[${i}].name`, 'unique among taskQueues', q.name);
    seen.add(q.name);
  });
  return out;
};

// ---------------------------------------------------------------------------------------------
// taskRoutes

/** Where a task goes: any field left out comes from its queue or the defaults. */
export interface RouteSetting {
  readonly queue?: string;
  readonly routingKey?: string;
  readonly exchange?: string;
  readonly priority?: number;
}

/** A router function: gets the task name, returns a route, a queue name, or null to pass. */
export type RouteFunction = (taskName: string) => RouteSetting | string | null | undefined;

/** A routing table: exact task names or globs (`projq.tasks.*`, `?` = one character) → route or queue name. */
export type RouteMap = Readonly<Record<string, RouteSetting | string>>;

/** taskRoutes as given: one map, one function, or a list of them consulted in order. */
export type RoutesInput = RouteMap | RouteFunction | ReadonlyArray<RouteMap | RouteFunction>;

/** taskRoutes after parsing: a list of routers, maps normalized to route objects. */
export type Router = Readonly<Record<string, RouteSetting>> | RouteFunction;

const ROUTE_KEYS: ReadonlySet<string> = new Set(['queue', 'routingKey', 'exchange', 'priority']);

/** Checks one route (an object or a bare queue name) and returns it as an object. */
export function parseRoute(raw: unknown, label: string): RouteSetting {
  if (typeof raw === 'string') return { queue: name()(raw, label) };
  if (!isPlainObject(raw)) throw invalid(label, 'a queue name or an object { queue?, routingKey?, exchange?, priority? }', raw);
  onlyKeys(raw, ROUTE_KEYS, label);
  const r: { queue?: string; routingKey?: string; exchange?: string; priority?: number } = {};
  if (raw['queue'] !== undefined) r.queue = name()(raw['queue'], `${label}.queue`);
  if (raw['routingKey'] !== undefined) r.routingKey = name(true)(raw['routingKey'], `${label}.routingKey`);
  if (raw['exchange'] !== undefined) r.exchange = name(true)(raw['exchange'], `${label}.exchange`);
  if (raw['priority'] !== undefined) r.priority = int(0, 255)(raw['priority'], `${label}.priority`);
  return r;
}

function parseRouter(raw: unknown, label: string): Router {
  if (typeof raw === 'function') return raw as RouteFunction;
  if (!isPlainObject(raw)) throw invalid(label, 'an object { taskNameOrGlob: route } or a function (taskName) => route', raw);
  const out: Record<string, RouteSetting> = {};
  for (const [pattern, route] of Object.entries(raw)) {
    if (pattern.length === 0) throw invalid(label, 'keyed by non-empty task names or globs', '');
    out[pattern] = parseRoute(route, `${label}['${pattern}']`);
  }
  return out;
}

/** Parses taskRoutes into a list of routers consulted in order. */
export const routes: Parser<readonly Router[]> = (value, label) =>
  Array.isArray(value) ? value.map((r, i) => parseRouter(r, `${label}[${i}]`)) : [parseRouter(value, label)];

// ---------------------------------------------------------------------------------------------
// beatSchedule

/** Crontab fields, as Celery's `crontab(minute=..., hour=..., day_of_week=...)`; omitted = '*'. */
export interface CrontabFields {
  readonly minute?: string | number;
  readonly hour?: string | number;
  readonly dayOfWeek?: string | number;
  readonly dayOfMonth?: string | number;
  readonly monthOfYear?: string | number;
}

/**
 * When a periodic task runs: an interval in ms, a five-field crontab expression
 * (`'*\/15 9-17 * * mon-fri'`, or `@hourly`, `@daily`, ...) or crontab fields.
 */
export type ScheduleSpec = number | string | CrontabFields;

/** Publish options of a periodic task (durations in ms). */
export interface BeatOptions {
  readonly queue?: string;
  readonly routingKey?: string;
  readonly exchange?: string;
  readonly priority?: number;
  /** Revoke a run not started within this many ms. */
  readonly expires?: number;
}

/** One periodic task as given. */
export interface BeatEntryInput {
  task: string;
  schedule: ScheduleSpec;
  args?: readonly unknown[];
  kwargs?: Readonly<Record<string, unknown>>;
  options?: BeatOptions;
}

/** One periodic task after parsing: args and kwargs always present. */
export interface BeatEntry {
  readonly task: string;
  readonly schedule: ScheduleSpec;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly options: BeatOptions;
}

export type BeatScheduleInput = Readonly<Record<string, BeatEntryInput>>;
export type BeatSchedule = Readonly<Record<string, BeatEntry>>;

const CRON_FIELD = /^[0-9A-Za-z*,/-]+$/;
const CRON_NICKNAMES: ReadonlySet<string> = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const CRON_KEYS = ['minute', 'hour', 'dayOfMonth', 'monthOfYear', 'dayOfWeek'] as const;
const ENTRY_KEYS: ReadonlySet<string> = new Set(['task', 'schedule', 'args', 'kwargs', 'options']);
const OPTION_KEYS: ReadonlySet<string> = new Set(['queue', 'routingKey', 'exchange', 'priority', 'expires']);

/** Numeric bounds of each crontab field (day of week: 0 and 7 are Sunday, as in cron). */
const CRON_RANGE = { minute: [0, 59], hour: [0, 23], dayOfMonth: [1, 31], monthOfYear: [1, 12], dayOfWeek: [0, 7] } as const;

function cronField(key: keyof typeof CRON_RANGE, value: unknown, label: string): string | number {
  if (typeof value === 'number') return int(CRON_RANGE[key][0], CRON_RANGE[key][1])(value, label);
  if (typeof value !== 'string' || !CRON_FIELD.test(value)) throw invalid(label, "a crontab field such as '*', '*/15', '1,3', '9-17' or 'mon-fri'", value);
  return value;
}

/** Shape check of a schedule: positive interval, five crontab fields, a nickname, or crontab fields. */
export const schedule: Parser<ScheduleSpec> = (value, label) => {
  if (typeof value === 'number') return duration(1)(value, label);
  if (typeof value === 'string') {
    const fields = value.trim().split(/\s+/);
    if (CRON_NICKNAMES.has(value.trim()) || (fields.length === 5 && fields.every((f) => CRON_FIELD.test(f)))) return value;
    throw invalid(label, "an interval in ms, or a crontab of five fields ('m h dom mon dow') or @hourly/@daily/@weekly/@monthly/@yearly", value);
  }
  if (!isPlainObject(value)) throw invalid(label, 'an interval in ms, a crontab string or crontab fields { minute, hour, dayOfWeek, dayOfMonth, monthOfYear }', value);
  onlyKeys(value, new Set(CRON_KEYS), label);
  const out: Record<string, string | number> = {};
  for (const key of CRON_KEYS) if (value[key] !== undefined) out[key] = cronField(key, value[key], `${label}.${key}`);
  return out as CrontabFields;
};

/** A copy of JSON-like data (what a task message can carry), refusing functions and the like. */
function data<T>(value: T, label: string): T {
  try {
    return structuredClone(value);
  } catch {
    throw invalid(label, 'plain data (no functions or class instances that cannot be copied)', value);
  }
}

function beatOptions(raw: unknown, label: string): BeatOptions {
  if (!isPlainObject(raw)) throw invalid(label, 'an object { queue?, routingKey?, exchange?, priority?, expires? }', raw);
  onlyKeys(raw, OPTION_KEYS, label);
  const o: { -readonly [K in keyof BeatOptions]: BeatOptions[K] } = {};
  if (raw['queue'] !== undefined) o.queue = name()(raw['queue'], `${label}.queue`);
  if (raw['routingKey'] !== undefined) o.routingKey = name(true)(raw['routingKey'], `${label}.routingKey`);
  if (raw['exchange'] !== undefined) o.exchange = name(true)(raw['exchange'], `${label}.exchange`);
  if (raw['priority'] !== undefined) o.priority = int(0, 255)(raw['priority'], `${label}.priority`);
  if (raw['expires'] !== undefined) o.expires = duration(1)(raw['expires'], `${label}.expires`);
  return o;
}

function beatEntry(raw: unknown, label: string): BeatEntry {
  if (!isPlainObject(raw)) throw invalid(label, 'an object { task, schedule, args?, kwargs?, options? }', raw);
  onlyKeys(raw, ENTRY_KEYS, label);
  const task = text()(raw['task'], `${label}.task`);
  const when = schedule(raw['schedule'], `${label}.schedule`);
  const args = raw['args'] ?? [];
  if (!Array.isArray(args)) throw invalid(`${label}.args`, 'an array', args);
  const kwargs = raw['kwargs'] ?? {};
  if (!isPlainObject(kwargs)) throw invalid(`${label}.kwargs`, 'an object', kwargs);
  return {
    task,
    schedule: when,
    args: data(args, `${label}.args`),
    kwargs: data(kwargs, `${label}.kwargs`),
    options: beatOptions(raw['options'] ?? {}, `${label}.options`),
  };
}

/** Parses beatSchedule: entry name → { task, schedule, args, kwargs, options }. */
export const beatSchedule: Parser<BeatSchedule> = (value, label) => {
  if (!isPlainObject(value)) throw invalid(label, 'an object { entryName: { task, schedule, args? } }', value);
  const out: Record<string, BeatEntry> = {};
  for (const [entryName, entry] of Object.entries(value)) out[entryName] = beatEntry(entry, `${label}['${entryName}']`);
  return out;
};
