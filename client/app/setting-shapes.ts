// The structured settings — task queues, task routes, beat schedule — their types and shape checks.
// Only shape is checked here; cross-setting checks (does a route reach its queue?) live in routing.ts.
import { CeleriacError, fail } from '../../shared/errors.js';
import { EXCHANGE_TYPES, type ExchangeType, type QueueOptions } from '../../shared/frames.js';
import { namedQueueArgument } from '../../shared/queue-arguments.js';
import { parseBeatEntry } from '../beat/entry.js';
import type { BeatEntry, BeatEntryInput } from '../beat/types.js';
import { closest } from './suggest.js';
import { bool, describe, int, invalid, isPlainObject, name, oneOf, type Parser } from './setting-parsers.js';

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
  /**
   * The broker's queue arguments (Celery's queue_arguments): TTLs, length limit, dead-lettering, ...
   * by name, or as RabbitMQ's x-arguments: those with a name here become it (`x-max-priority` is
   * `maxPriority`), the others are declared as given (`'x-queue-type': 'quorum'`; broker-server
   * refuses those).
   */
  arguments?: QueueArguments;
}

/** The queue options that taskQueues takes as `arguments` (the rest have fields of their own). */
const ARGUMENT_NAMES = [
  'messageTtl', 'expires', 'maxLength', 'overflow', 'deadLetterExchange', 'deadLetterRoutingKey', 'deliveryLimit', 'consumerTimeout',
] as const satisfies readonly (keyof QueueOptions)[];

/** RabbitMQ x-arguments without a name here, declared as given (kombu's queue_arguments): `x-queue-type`, `x-single-active-consumer`, ... */
export type RawQueueArguments = { readonly [argument: `x-${string}`]: string | number | boolean };

/**
 * Queue arguments the broker takes: by amqplib's names (the Connection's QueueOptions of those
 * names, durations in ms), and RabbitMQ's own x-arguments passed through.
 */
export type QueueArguments = Pick<QueueOptions, (typeof ARGUMENT_NAMES)[number]> & RawQueueArguments;

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

/** Checks a value passed to the broker as given: what an AMQP field table holds for a queue argument. */
function rawArgument(value: unknown, label: string): string | number | boolean {
  if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw invalid(label, 'a string, a finite number or a boolean', value);
}

/**
 * Parses `arguments`: named ones checked, x-arguments of a named one turned into it (they must agree
 * when both are given), `x-max-priority` handed back for the queue's maxPriority, other x-arguments
 * kept as given.
 */
function parseArguments(raw: unknown, label: string): { args: QueueArguments; maxPriority: unknown } {
  if (!isPlainObject(raw)) throw invalid(label, `an object of queue arguments (${[...ARGUMENT_KEYS].join(', ')}, or RabbitMQ's x-arguments)`, raw);
  const named: Record<string, unknown> = {};
  const labels: Record<string, string> = {};
  const passed: Record<string, string | number | boolean> = {};
  let maxPriority: unknown;
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('x-')) continue;
    if (!ARGUMENT_KEYS.has(key)) onlyKeys({ [key]: value }, ARGUMENT_KEYS, label, " or a RabbitMQ x-argument ('x-queue-type', ...)");
    named[key] = value;
    labels[key] = `${label}.${key}`;
  }
  for (const [key, value] of Object.entries(raw)) {
    if (!key.startsWith('x-')) continue;
    const as = namedQueueArgument(key);
    if (as === 'maxPriority') {
      maxPriority = value;
    } else if (as === undefined) {
      passed[key] = rawArgument(value, `${label}['${key}']`);
    } else if (named[as] !== undefined && named[as] !== value) {
      throw invalid(`${label}['${key}']`, `the same as ${as} given alongside it (${describe(named[as])})`, value);
    } else {
      named[as] = value;
      labels[as] = `${label}['${key}']`;
    }
  }
  const a: Record<string, unknown> = { ...passed };
  const at = (key: string): string => labels[key] ?? `${label}.${key}`;
  if (named['messageTtl'] !== undefined) a['messageTtl'] = int(0)(named['messageTtl'], at('messageTtl'));
  if (named['expires'] !== undefined) a['expires'] = int(1)(named['expires'], at('expires'));
  if (named['maxLength'] !== undefined) a['maxLength'] = int(0)(named['maxLength'], at('maxLength'));
  if (named['overflow'] !== undefined) a['overflow'] = oneOf(['drop-head', 'reject-publish'] as const)(named['overflow'], at('overflow'));
  if (named['deadLetterExchange'] !== undefined) a['deadLetterExchange'] = name(true)(named['deadLetterExchange'], at('deadLetterExchange'));
  if (named['deadLetterRoutingKey'] !== undefined) a['deadLetterRoutingKey'] = name(true)(named['deadLetterRoutingKey'], at('deadLetterRoutingKey'));
  if (named['deliveryLimit'] !== undefined) a['deliveryLimit'] = int(1)(named['deliveryLimit'], at('deliveryLimit'));
  if (named['consumerTimeout'] !== undefined) a['consumerTimeout'] = int(1)(named['consumerTimeout'], at('consumerTimeout'));
  return { args: a as QueueArguments, maxPriority };
}

/** The named arguments of `args` (as QueueOptions) and the x-arguments passed as given. */
export function splitArguments(args: Readonly<QueueArguments>): { named: QueueOptions; passed: Record<string, unknown> } {
  const named: Record<string, unknown> = {};
  const passed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) (key.startsWith('x-') ? passed : named)[key] = value;
  return { named: named as QueueOptions, passed };
}

/** Rejects keys outside `allowed`, naming the first stranger; `more` ends the list of what is known. */
export function onlyKeys(obj: Record<string, unknown>, allowed: ReadonlySet<string>, label: string, more = ''): void {
  for (const key of Object.keys(obj)) {
    if (allowed.has(key)) continue;
    const near = closest(key, [...allowed]);
    const hint = near === undefined ? '' : ` (did you mean '${near}'?)`;
    throw fail('ERR_INVALID_ARGUMENT', `setting ${label}.${key} is not a known field${hint}; known fields: ${[...allowed].join(', ')}${more}`, { setting: /^[^.[]+/.exec(label)?.[0] ?? label, path: `${label}.${key}` });
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
  if (raw['arguments'] !== undefined) {
    const { args, maxPriority } = parseArguments(raw['arguments'], `${label}.arguments`);
    q.arguments = args;
    if (maxPriority !== undefined) {
      const p = int(1, 255)(maxPriority, `${label}.arguments['x-max-priority']`);
      if (q.maxPriority !== undefined && q.maxPriority !== p) throw invalid(`${label}.arguments['x-max-priority']`, `the same as maxPriority (${q.maxPriority})`, p);
      q.maxPriority = p;
    }
  }
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

/** beatSchedule as given: entry name → { task, schedule, args?, kwargs?, options?, limit?, start?, end?, missed?, ... }. */
export type BeatScheduleInput = Readonly<Record<string, BeatEntryInput>>;
/** beatSchedule after parsing: every entry complete (see parseBeatEntry). */
export type BeatSchedule = Readonly<Record<string, BeatEntry>>;

/**
 * Parses beatSchedule with parseBeatEntry (client/beat/entry.ts), so an entry is refused here, at
 * `new Celeriac()`, never at fire time. ISO times without an offset are read in the `timezone`
 * setting (the context; resolveSettings and fromCeleryConfig read it first). Errors start with
 * `setting <label>['entry']`, as every settings error names its setting.
 */
export const beatSchedule: Parser<BeatSchedule> = (value, label, context) => {
  if (!isPlainObject(value)) throw invalid(label, 'an object { entryName: { task, schedule, args? } }', value);
  const setting = /^[^.[]+/.exec(label)?.[0] ?? label;
  const out: Record<string, BeatEntry> = {};
  for (const [entryName, entry] of Object.entries(value)) {
    try {
      // Without a context (a parser called alone), the `timezone` setting's default.
      out[entryName] = parseBeatEntry(entryName, entry, context?.timezone ?? 'UTC', `${label}['${entryName}']`);
    } catch (err) {
      if (!(err instanceof CeleriacError)) throw err;
      throw fail(err.code, `setting ${err.message}`, { ...err.details, setting, entry: entryName });
    }
  }
  return out;
};
