// Where a task message goes: task routes and queue declarations → exchange, routing key, queue.
// Pure functions of the settings; also completes taskQueues and checks that routes reach their queues.
import { fail } from '../../shared/errors.js';
import type { ExchangeType } from '../../shared/frames.js';
import { invalid } from './setting-parsers.js';
import { parseRoute, type ParsedQueue, type QueueSetting, type RouteSetting, type Router } from './setting-shapes.js';

/** The settings routing reads (resolved Settings satisfy it). */
export interface RoutingSettings {
  readonly taskDefaultQueue: string;
  readonly taskDefaultExchange: string;
  readonly taskDefaultExchangeType: ExchangeType;
  readonly taskDefaultRoutingKey: string;
  readonly taskQueues: readonly QueueSetting[];
  readonly taskRoutes: readonly Router[];
  readonly taskCreateMissingQueues: boolean;
  readonly taskQueueMaxPriority: number | null;
}

/** Where one task message is published, and the queue it is meant for. */
export interface Route {
  readonly exchange: string;
  readonly routingKey: string;
  readonly queue: string;
  /** Present only when a route or the caller set one. */
  readonly priority?: number;
}

/** celeriac's stock default queue, and the exchange, type and key it has always had (DESIGN.md). */
const STOCK_ROUTING = Object.freeze({ queue: 'default', exchange: 'tasks', exchangeType: 'topic', routingKey: 'task.default' } as const);

/** The default routing settings as given: null = derive (Celery's None). */
export interface DefaultRoutingInput {
  readonly taskDefaultQueue: string;
  readonly taskDefaultExchange: string | null;
  readonly taskDefaultExchangeType: ExchangeType | null;
  readonly taskDefaultRoutingKey: string | null;
}

/**
 * Fills the unset default exchange, its type and the default routing key from taskDefaultQueue,
 * as Celery does (its task_default_exchange and task_default_routing_key fall back to
 * task_default_queue), so two apps with different default queues on one broker never bind each
 * other's keys. The stock queue 'default' keeps celeriac's historical 'tasks' / 'task.default'
 * (existing deployments and their durable bindings keep working); any other queue gets an
 * exchange and a key named after itself. An exchange named after its queue is 'direct', as
 * Celery declares it and as taskCreateMissingQueues creates one (so another app that sends to
 * this queue by name declares the same exchange); any other exchange is 'topic'. Given values win.
 */
export function deriveDefaultRouting(s: DefaultRoutingInput): { taskDefaultExchange: string; taskDefaultExchangeType: ExchangeType; taskDefaultRoutingKey: string } {
  const stock = s.taskDefaultQueue === STOCK_ROUTING.queue;
  const exchange = s.taskDefaultExchange ?? (stock ? STOCK_ROUTING.exchange : s.taskDefaultQueue);
  const ownExchange = s.taskDefaultExchange === null && !stock;
  return {
    taskDefaultExchange: exchange,
    taskDefaultExchangeType: s.taskDefaultExchangeType ?? (ownExchange ? 'direct' : STOCK_ROUTING.exchangeType),
    taskDefaultRoutingKey: s.taskDefaultRoutingKey ?? (stock ? STOCK_ROUTING.routingKey : s.taskDefaultQueue),
  };
}

/** True when a message published with `key` to the queue's exchange lands in the queue. */
export function bindingAccepts(type: ExchangeType, pattern: string, key: string): boolean {
  switch (type) {
    case 'direct': return pattern === key;
    case 'topic': return topicMatch(pattern.split('.'), key.split('.'));
    default: return true; // fanout ignores the key; headers routes on headers we cannot see here
  }
}

/** AMQP 0-9-1 topic matching: `*` is exactly one word, `#` zero or more. Table over word positions, no backtracking blow-up. */
function topicMatch(pattern: readonly string[], words: readonly string[]): boolean {
  // can[j] = pattern[0..i) matches words[0..j)
  let can = words.map(() => false).concat(false);
  can[0] = true;
  for (const p of pattern) {
    const next = can.map(() => false);
    for (let j = 0; j <= words.length; j++) {
      if (p === '#') next[j] = can[j]! || (j > 0 && next[j - 1]!);
      else if (j > 0 && can[j - 1]! && (p === '*' || p === words[j - 1])) next[j] = true;
    }
    can = next;
  }
  return can[words.length]!;
}

/** The default queue built from the defaults (when taskQueues is null, or does not list it and it may be created). */
function defaultQueueOf(s: Pick<RoutingSettings, 'taskDefaultQueue' | 'taskDefaultExchange' | 'taskDefaultExchangeType' | 'taskDefaultRoutingKey' | 'taskQueueMaxPriority'>): QueueSetting {
  return {
    name: s.taskDefaultQueue, exchange: s.taskDefaultExchange, exchangeType: s.taskDefaultExchangeType, routingKey: s.taskDefaultRoutingKey,
    durable: true, autoDelete: false, maxPriority: s.taskQueueMaxPriority ?? undefined, arguments: {},
  };
}

/**
 * Fills what a queue entry left out: exchange = taskDefaultExchange; exchangeType = the default
 * type on the default exchange, 'direct' elsewhere; routingKey (binding) = the queue name;
 * durable = true; maxPriority = taskQueueMaxPriority. taskQueues null = one queue built from the
 * defaults. One exchange cannot be declared with two types.
 */
export function completeQueues(s: {
  readonly taskQueues: readonly ParsedQueue[] | null;
  readonly taskDefaultQueue: string;
  readonly taskDefaultExchange: string;
  readonly taskDefaultExchangeType: ExchangeType;
  readonly taskDefaultRoutingKey: string;
  readonly taskQueueMaxPriority: number | null;
}): QueueSetting[] {
  if (s.taskQueues === null) return [defaultQueueOf(s)];
  const maxPriority = s.taskQueueMaxPriority ?? undefined;
  const types = new Map<string, ExchangeType>([[s.taskDefaultExchange, s.taskDefaultExchangeType]]);
  return s.taskQueues.map((q, i) => {
    const exchange = q.exchange ?? s.taskDefaultExchange;
    const exchangeType = q.exchangeType ?? types.get(exchange) ?? 'direct';
    const known = types.get(exchange);
    if (known !== undefined && known !== exchangeType) {
      throw invalid(`taskQueues[${i}].exchangeType`, `'${known}' like every other use of exchange '${exchange}'`, exchangeType);
    }
    if (exchange === '' && exchangeType !== 'direct') throw invalid(`taskQueues[${i}].exchangeType`, "'direct' on the nameless default exchange", exchangeType);
    types.set(exchange, exchangeType);
    return {
      name: q.name, exchange, exchangeType, routingKey: q.routingKey ?? q.name,
      durable: q.durable ?? true, autoDelete: q.autoDelete ?? false, maxPriority: q.maxPriority ?? maxPriority, arguments: q.arguments ?? {},
    };
  });
}

/**
 * The declaration of queue `name`: from taskQueues; else, for the default queue, one built from
 * the defaults; else (taskCreateMissingQueues) Celery's missing queue — its own direct exchange
 * named after it, bound with its name. Throws ERR_INVALID_ARGUMENT when the queue is unknown
 * and may not be created.
 */
export function queueFor(s: RoutingSettings, name: string): QueueSetting {
  const declared = s.taskQueues.find((q) => q.name === name);
  if (declared !== undefined) return declared;
  if (name === s.taskDefaultQueue && s.taskCreateMissingQueues) return defaultQueueOf(s);
  if (s.taskCreateMissingQueues) return { name, exchange: name, exchangeType: 'direct', routingKey: name, durable: true, autoDelete: false, maxPriority: s.taskQueueMaxPriority ?? undefined, arguments: {} };
  throw fail('ERR_INVALID_ARGUMENT', `queue '${name}' is not in taskQueues and taskCreateMissingQueues is false`, { setting: 'taskQueues', queue: name });
}

/** Compiled glob patterns of one route map, built once per (frozen) map. */
const globCache = new WeakMap<object, ReadonlyArray<readonly [RegExp, RouteSetting]>>();

function globsOf(map: Readonly<Record<string, RouteSetting>>): ReadonlyArray<readonly [RegExp, RouteSetting]> {
  let globs = globCache.get(map);
  if (globs === undefined) {
    globs = Object.entries(map)
      .filter(([pattern]) => /[*?]/.test(pattern))
      .map(([pattern, route]) => [globToRegExp(pattern), route] as const);
    globCache.set(map, globs);
  }
  return globs;
}

/** fnmatch-style glob as Celery's routes use it: `*` any run of characters (dots too), `?` one. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

/**
 * The route taskRoutes gives `taskName`, or undefined. Routers are consulted in order; in a map
 * an exact name wins over globs, globs are tried in the order written (Celery's MapRoute).
 */
export function lookupRoute(s: Pick<RoutingSettings, 'taskRoutes'>, taskName: string): RouteSetting | undefined {
  for (const router of s.taskRoutes) {
    if (typeof router === 'function') {
      const got = router(taskName);
      if (got !== null && got !== undefined) return parseRoute(got, `taskRoutes (function, for task '${taskName}')`);
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(router, taskName)) return router[taskName];
    for (const [re, route] of globsOf(router)) if (re.test(taskName)) return route;
  }
  return undefined;
}

/** Stacks route layers: a layer naming a queue replaces the exchange and key of the layers below. */
function over(below: RouteSetting, above: RouteSetting | undefined): RouteSetting {
  if (above === undefined) return below;
  const base: RouteSetting = above.queue !== undefined ? (below.priority === undefined ? {} : { priority: below.priority }) : below;
  const merged: { -readonly [K in keyof RouteSetting]: RouteSetting[K] } = { ...base };
  if (above.queue !== undefined) merged.queue = above.queue;
  if (above.exchange !== undefined) merged.exchange = above.exchange;
  if (above.routingKey !== undefined) merged.routingKey = above.routingKey;
  if (above.priority !== undefined) merged.priority = above.priority;
  return merged;
}

/**
 * Where `taskName` is published. Precedence, as in Celery: `explicit` (call options over task
 * options, merged by the caller) > taskRoutes > defaults. The queue is the route's or
 * taskDefaultQueue; the exchange is the route's or the queue's; the routing key is the route's,
 * else taskDefaultRoutingKey for the default queue, else the queue's binding key. A layer that
 * names a queue drops the exchange and key of the layers below (they were meant for another queue).
 */
export function routeFor(s: RoutingSettings, taskName: string, explicit?: RouteSetting): Route {
  const r = over(over({}, lookupRoute(s, taskName)), explicit);
  const queueName = r.queue ?? s.taskDefaultQueue;
  const q = queueFor(s, queueName);
  const routingKey = r.routingKey ?? (queueName === s.taskDefaultQueue && r.exchange === undefined ? s.taskDefaultRoutingKey : q.routingKey);
  const route = { exchange: r.exchange ?? q.exchange, routingKey, queue: queueName };
  return r.priority === undefined ? route : { ...route, priority: r.priority };
}

/**
 * Checks that the routing adds up, so a misrouted task fails at startup rather than vanishing:
 * the default queue exists (or may be created) and taskDefaultRoutingKey reaches it; every
 * route in a map names a queue that exists or may be created, and a route giving both a queue
 * and a routing key on that queue's exchange uses a key the queue's binding accepts.
 */
export function checkRouting(s: RoutingSettings): void {
  let dq: QueueSetting;
  try {
    dq = queueFor(s, s.taskDefaultQueue);
  } catch {
    throw invalid('taskDefaultQueue', 'a queue listed in taskQueues (taskCreateMissingQueues is false)', s.taskDefaultQueue);
  }
  if (!bindingAccepts(dq.exchangeType, dq.routingKey, s.taskDefaultRoutingKey)) {
    throw fail('ERR_INVALID_ARGUMENT', `setting taskDefaultRoutingKey: '${s.taskDefaultRoutingKey}' does not reach taskDefaultQueue '${dq.name}' (bound '${dq.routingKey}' on ${dq.exchangeType} exchange '${dq.exchange}')`, { setting: 'taskDefaultRoutingKey' });
  }
  s.taskRoutes.forEach((router, i) => {
    if (typeof router === 'function') return;
    for (const [pattern, route] of Object.entries(router)) {
      const label = `taskRoutes${s.taskRoutes.length > 1 ? `[${i}]` : ''}['${pattern}']`;
      if (route.queue === undefined) continue;
      let q: QueueSetting;
      try {
        q = queueFor(s, route.queue);
      } catch {
        throw invalid(`${label}.queue`, 'a queue listed in taskQueues (taskCreateMissingQueues is false)', route.queue);
      }
      const exchange = route.exchange ?? q.exchange;
      if (route.routingKey !== undefined && exchange === q.exchange && !bindingAccepts(q.exchangeType, q.routingKey, route.routingKey)) {
        throw fail('ERR_INVALID_ARGUMENT', `setting ${label}.routingKey: '${route.routingKey}' does not reach queue '${q.name}' (bound '${q.routingKey}' on ${q.exchangeType} exchange '${q.exchange}')`, { setting: 'taskRoutes', path: `${label}.routingKey` });
      }
    }
  });
}
