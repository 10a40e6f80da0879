// The task layer's settings as one table: default, parser, type, unit and Celery's names per setting.
// resolveSettings() and the Celery converter (celery-config.ts) are both driven by this table.
import { availableParallelism } from 'node:os';
import { EXCHANGE_TYPES, type ExchangeType } from '../../shared/frames.js';
import { fail } from '../../shared/errors.js';
import { DEFAULT_RESULT_EXPIRES } from '../../shared/messages/task-publish.js';
import {
  bool, brokerUrl, COMPRESSIONS, contentList, duration, int, isPlainObject, name, nullable, oneOf,
  serializer, timeZone, describe, type ParseContext, type Parser,
} from './setting-parsers.js';
import { rateLimit } from './rate-limit.js';
import {
  beatSchedule, queues, routes,
  type BeatSchedule, type BeatScheduleInput, type ParsedQueue, type QueuesInput, type QueueSetting, type Router,
  type RoutesInput,
} from './setting-shapes.js';
import { checkRouting, completeQueues, deriveDefaultRouting } from './routing.js';
import { resolveResultBackend, resultBackendUrl } from './result-backend.js';
import { DEFAULT_PUBLISH_RETRY_POLICY, publishRetryPolicy, type PublishRetryPolicy } from './publish-retry.js';
import { closest } from './suggest.js';

/** How a raw Celery value of this setting is read (environment strings are coerced by it). */
export type SettingType = 'string' | 'int' | 'number' | 'bool' | 'list' | 'object' | 'any';

/** The setting under Celery's names. */
export interface CelerySide {
  /** Celery >= 4 lowercase name (`broker_url`), or null when Celery has no such setting. */
  readonly name: string | null;
  /** Celery < 4 upper-case names (`BROKER_URL`), as in Celery's app/defaults.py. */
  readonly old: readonly string[];
  /** Celery's value × scale = ours: 1000 turns seconds into ms, 1024 KiB into bytes. */
  readonly scale?: number;
}

/** One row of the table. `Out` is the resolved value; `In` what the setting accepts. */
export interface SettingSpec<Out, In = Out> {
  readonly default: NoInfer<Out>;
  readonly parse: Parser<Out>;
  readonly type: SettingType;
  /** Unit of a numeric setting: every duration is in milliseconds, memory in bytes. */
  readonly unit?: 'ms' | 'bytes';
  /** One line for the docs. */
  readonly doc: string;
  readonly celery: CelerySide;
  /** Type-level only: the accepted input type. Never present at run time. */
  readonly input?: In;
}

function setting<Out, In = Out>(spec: SettingSpec<Out, In>): SettingSpec<Out, In> {
  return spec;
}

/** Worker pools: in-process (`async`, for I/O-bound tasks) or isolated, killable runners. */
export const WORKER_POOLS = ['async', 'threads', 'processes'] as const;
export type WorkerPool = (typeof WORKER_POOLS)[number];

/**
 * Every setting of a Celeriac app. Names are Celery's lowercase names in camelCase; old
 * upper-case names are from Celery's app/defaults.py (`old=` and the `celery_` / `celeryd_` /
 * `celerybeat_` namespace prefixes). docs/ and the converter read this table; nothing else
 * lists settings.
 */
export const SETTINGS = {
  // --- broker and backend
  broker: setting({
    default: 'ws://127.0.0.1:5680', parse: brokerUrl, type: 'string',
    doc: "URL of the broker: broker-server (ws:// or wss://) or RabbitMQ (amqp:// or amqps://); credentials and vhost may ride in it. For a RabbitMQ cluster, several amqp:// URLs separated by ';' (kombu's failover form), tried in order on connect and reconnect.",
    celery: { name: 'broker_url', old: ['BROKER_URL'] },
  }),
  brokerConnectionRetry: setting({
    default: true, parse: bool, type: 'bool',
    doc: 'Reconnect on its own after the connection drops (the first connection must succeed).',
    celery: { name: 'broker_connection_retry', old: ['BROKER_CONNECTION_RETRY'] },
  }),
  brokerConnectionRetryOnStartup: setting({
    default: true, parse: bool, type: 'bool',
    doc: 'A worker starting while the broker is not up yet tries again with backoff (refused or unreachable only; bad credentials fail at once).',
    celery: { name: 'broker_connection_retry_on_startup', old: [] },
  }),
  brokerConnectionMaxRetries: setting({
    default: 100, parse: nullable(int(0)), type: 'int',
    doc: 'Retries of a worker\'s first connection before it gives up; null = for ever, 0 = none (as Celery).',
    celery: { name: 'broker_connection_max_retries', old: ['BROKER_CONNECTION_MAX_RETRIES'] },
  }),
  brokerHeartbeat: setting({
    default: null, parse: nullable(duration(0)), type: 'number', unit: 'ms',
    doc: 'Heartbeat interval to propose to the broker; null = the broker\'s.',
    celery: { name: 'broker_heartbeat', old: ['BROKER_HEARTBEAT'], scale: 1000 },
  }),
  resultBackend: setting({
    default: null, parse: nullable(resultBackendUrl), type: 'string',
    doc: "Where results are stored: null (the broker), 'rpc://' (Celery's \"through the broker\") or the broker's own URL (any spelling) when the broker is broker-server, which keeps them; or a redis:// / rediss:// URL (Redis keeps them, in Celery's key layout), which an amqp:// broker needs.",
    celery: { name: 'result_backend', old: ['CELERY_RESULT_BACKEND'] },
  }),

  redisSocketTimeout: setting({
    default: 120_000, parse: duration(1), type: 'number', unit: 'ms',
    doc: 'With a redis:// result backend: how long a call waits for Redis (a command queued while Redis is away included) before it fails ERR_TIMEOUT; a worker then gives the task back to the broker to run again.',
    celery: { name: 'redis_socket_timeout', old: [], scale: 1000 },
  }),

  // --- messages
  taskSerializer: setting({
    default: 'json', parse: serializer, type: 'string',
    doc: 'Serializer of task messages: json or msgpack.',
    celery: { name: 'task_serializer', old: ['CELERY_TASK_SERIALIZER'] },
  }),
  resultSerializer: setting({
    default: 'json', parse: serializer, type: 'string',
    doc: 'Serializer of results: json or msgpack.',
    celery: { name: 'result_serializer', old: ['CELERY_RESULT_SERIALIZER'] },
  }),
  acceptContent: setting({
    default: ['json'], parse: contentList, type: 'list',
    doc: 'Content types a worker decodes; a message of any other type is rejected before decoding.',
    celery: { name: 'accept_content', old: ['CELERY_ACCEPT_CONTENT'] },
  }),
  resultAcceptContent: setting({
    default: null, parse: nullable(contentList), type: 'list',
    doc: 'Content types accepted for results; null = acceptContent.',
    celery: { name: 'result_accept_content', old: [] },
  }),
  messageCompression: setting({
    default: null, parse: nullable(oneOf(COMPRESSIONS)), type: 'string',
    doc: 'Compression of task message bodies: zlib, gzip, brotli, or null for none.',
    celery: { name: 'task_compression', old: ['CELERY_MESSAGE_COMPRESSION'] },
  }),
  resultCompression: setting({
    default: null, parse: nullable(oneOf(COMPRESSIONS)), type: 'string',
    doc: 'Compression of stored results: zlib, gzip, brotli, or null for none.',
    celery: { name: 'result_compression', old: ['CELERY_RESULT_COMPRESSION'] },
  }),

  // --- results
  resultExpires: setting({
    default: DEFAULT_RESULT_EXPIRES, parse: nullable(duration(1)), type: 'number', unit: 'ms',
    doc: 'How long results are kept; null = forever. Default one day.',
    celery: { name: 'result_expires', old: ['CELERY_TASK_RESULT_EXPIRES'], scale: 1000 },
  }),
  taskIgnoreResult: setting({
    default: false, parse: bool, type: 'bool',
    doc: 'Do not store results (states and errors included) unless a task says otherwise.',
    celery: { name: 'task_ignore_result', old: ['CELERY_IGNORE_RESULT'] },
  }),
  taskTrackStarted: setting({
    default: false, parse: bool, type: 'bool',
    doc: 'Record the STARTED state when a worker begins a task.',
    celery: { name: 'task_track_started', old: ['CELERY_TRACK_STARTED'] },
  }),

  // --- execution
  taskAcksLate: setting({
    default: false, parse: bool, type: 'bool',
    doc: 'Ack a task message after the task ran, not before: a lost worker means a redelivery.',
    celery: { name: 'task_acks_late', old: ['CELERY_ACKS_LATE'] },
  }),
  taskAcksOnFailureOrTimeout: setting({
    default: true, parse: bool, type: 'bool',
    doc: 'With late acks, still ack a task that failed or timed out (false: record the failure, then reject it to the queue\'s dead-letter exchange).',
    celery: { name: 'task_acks_on_failure_or_timeout', old: ['CELERY_ACKS_ON_FAILURE_OR_TIMEOUT'] },
  }),
  taskRejectOnWorkerLost: setting({
    default: false, parse: bool, type: 'bool',
    doc: 'With late acks, requeue a task whose runner died (true) instead of failing it.',
    celery: { name: 'task_reject_on_worker_lost', old: ['CELERY_REJECT_ON_WORKER_LOST'] },
  }),
  taskTimeLimit: setting({
    default: null, parse: nullable(duration(1)), type: 'number', unit: 'ms',
    doc: 'Hard time limit: the runner is killed after this long; null = none.',
    celery: { name: 'task_time_limit', old: ['CELERYD_TASK_TIME_LIMIT'], scale: 1000 },
  }),
  taskSoftTimeLimit: setting({
    default: null, parse: nullable(duration(1)), type: 'number', unit: 'ms',
    doc: 'Soft time limit: the task\'s AbortSignal fires after this long; null = none.',
    celery: { name: 'task_soft_time_limit', old: ['CELERYD_TASK_SOFT_TIME_LIMIT'], scale: 1000 },
  }),
  taskDefaultRateLimit: setting({
    default: null, parse: nullable(rateLimit), type: 'string',
    doc: "Rate limit of tasks that set none ('10/s', '100/m', '5/h'), across all workers; null = none.",
    celery: { name: 'task_default_rate_limit', old: ['CELERY_DEFAULT_RATE_LIMIT'] },
  }),
  taskDefaultRetryDelay: setting({
    default: 180_000, parse: duration(0), type: 'number', unit: 'ms',
    doc: 'Delay before a retry when the task gives none (Celery\'s Task.default_retry_delay).',
    celery: { name: null, old: [] },
  }),
  taskMaxRetries: setting({
    default: 3, parse: nullable(int(0)), type: 'int',
    doc: 'Retries allowed when the task gives no maxRetries (Celery\'s Task.max_retries); null = unbounded.',
    celery: { name: null, old: [] },
  }),
  taskDefaultPriority: setting({
    default: null, parse: nullable(int(0, 255)), type: 'int',
    doc: 'Priority of task messages that set none; null = no priority.',
    celery: { name: 'task_default_priority', old: ['CELERY_DEFAULT_PRIORITY'] },
  }),
  taskPublishRetry: setting({
    default: true, parse: bool, type: 'bool',
    doc: 'Sending a task while the broker cannot be reached retries as taskPublishRetryPolicy says; false = fail at once.',
    celery: { name: 'task_publish_retry', old: ['CELERY_TASK_PUBLISH_RETRY', 'CELERY_PUBLISH_RETRY'] },
  }),
  taskPublishRetryPolicy: setting<PublishRetryPolicy, Partial<PublishRetryPolicy>>({
    default: DEFAULT_PUBLISH_RETRY_POLICY, parse: publishRetryPolicy, type: 'object',
    doc: 'How long sending a task waits for an unreachable broker: { maxRetries (null = for ever), intervalStart, intervalStep, intervalMax } in ms; then ERR_PUBLISH_FAILED.',
    celery: { name: 'task_publish_retry_policy', old: ['CELERY_TASK_PUBLISH_RETRY_POLICY', 'CELERY_PUBLISH_RETRY_POLICY'] },
  }),
  taskSendSentEvent: setting({
    default: false, parse: bool, type: 'bool',
    doc: 'Producers emit a task-sent event for each task published.',
    celery: { name: 'task_send_sent_event', old: ['CELERY_SEND_TASK_SENT_EVENT'] },
  }),

  // --- routing
  taskDefaultQueue: setting({
    default: 'default', parse: name(), type: 'string',
    doc: 'Queue of tasks no route sends elsewhere.',
    celery: { name: 'task_default_queue', old: ['CELERY_DEFAULT_QUEUE'] },
  }),
  taskDefaultExchange: setting<string | null>({
    default: null, parse: nullable(name(true)), type: 'string',
    doc: "Exchange of the default queue and of queues and routes that name none; null = derived from taskDefaultQueue as in Celery: 'tasks' for the stock queue 'default', else the queue's own name (apps with different default queues never share keys).",
    celery: { name: 'task_default_exchange', old: ['CELERY_DEFAULT_EXCHANGE'] },
  }),
  taskDefaultExchangeType: setting<ExchangeType | null>({
    default: null, parse: nullable(oneOf(EXCHANGE_TYPES)), type: 'string',
    doc: "Type of the default exchange: direct, topic, fanout or headers; null = 'topic', except 'direct' for an exchange derived from (named after) a default queue other than 'default', as Celery and taskCreateMissingQueues declare it.",
    celery: { name: 'task_default_exchange_type', old: ['CELERY_DEFAULT_EXCHANGE_TYPE'] },
  }),
  taskDefaultRoutingKey: setting<string | null>({
    default: null, parse: nullable(name(true)), type: 'string',
    doc: "Routing key of tasks sent to the default queue without one; must reach that queue. null = derived from taskDefaultQueue: 'task.default' for the stock queue 'default', else the queue's name.",
    celery: { name: 'task_default_routing_key', old: ['CELERY_DEFAULT_ROUTING_KEY'] },
  }),
  taskQueues: setting<readonly ParsedQueue[] | null, QueuesInput | null>({
    // Parsed entries may still lack exchange/type/key: resolveSettings() completes them.
    default: null, parse: nullable(queues), type: 'object',
    doc: 'Queues to declare: name, exchange, binding key (routingKey), ...; null = just the default queue.',
    celery: { name: 'task_queues', old: ['CELERY_QUEUES'] },
  }),
  taskQueueMaxPriority: setting({
    default: null, parse: nullable(int(1, 255)), type: 'int',
    doc: 'maxPriority of declared queues that give none; null = plain FIFO queues.',
    celery: { name: 'task_queue_max_priority', old: ['CELERY_QUEUE_MAX_PRIORITY'] },
  }),
  taskQueueDeliveryLimit: setting({
    default: 20, parse: nullable(int(1)), type: 'int',
    doc: "Deliveries of one task message that may run (RabbitMQ quorum queues' delivery limit, 20): the next is recorded FAILURE (ERR_DELIVERY_LIMIT) and dead-lettered, not run; declared as queues' deliveryLimit unless their arguments give one; null = none.",
    celery: { name: null, old: [] },
  }),
  taskCreateMissingQueues: setting({
    default: true, parse: bool, type: 'bool',
    doc: "A route to a queue not in taskQueues declares it (its own direct exchange, key = name); false: an error.",
    celery: { name: 'task_create_missing_queues', old: ['CELERY_CREATE_MISSING_QUEUES'] },
  }),
  taskRoutes: setting<readonly Router[], RoutesInput>({
    default: [], parse: routes, type: 'any',
    doc: "Task name or glob ('projq.tasks.*') → { queue, routingKey, exchange, priority }, or router functions.",
    celery: { name: 'task_routes', old: ['CELERY_ROUTES'] },
  }),

  // --- worker
  workerConcurrency: setting({
    default: availableParallelism(), parse: int(1, 65_535), type: 'int',
    doc: 'Tasks a worker runs at once. Default: the number of CPUs.',
    celery: { name: 'worker_concurrency', old: ['CELERYD_CONCURRENCY'] },
  }),
  workerPrefetchMultiplier: setting({
    default: 4, parse: int(0, 65_535), type: 'int',
    doc: 'Prefetch = concurrency × this; 0 = no limit.',
    celery: { name: 'worker_prefetch_multiplier', old: ['CELERYD_PREFETCH_MULTIPLIER'] },
  }),
  workerPool: setting({
    default: 'async', parse: oneOf(WORKER_POOLS), type: 'string',
    doc: 'async (in-process), threads (worker threads) or processes (child processes).',
    celery: { name: 'worker_pool', old: ['CELERYD_POOL'] },
  }),
  workerMaxTasksPerChild: setting({
    default: null, parse: nullable(int(1)), type: 'int',
    doc: 'An isolated runner is replaced after this many tasks; null = never.',
    celery: { name: 'worker_max_tasks_per_child', old: ['CELERYD_MAX_TASKS_PER_CHILD'] },
  }),
  workerMaxMemoryPerChild: setting({
    default: null, parse: nullable(int(1)), type: 'int', unit: 'bytes',
    doc: 'An isolated runner is replaced after a task leaves it above this resident memory; null = never.',
    celery: { name: 'worker_max_memory_per_child', old: ['CELERYD_MAX_MEMORY_PER_CHILD'], scale: 1024 },
  }),
  workerSendTaskEvents: setting({
    default: false, parse: bool, type: 'bool',
    doc: 'Workers emit task events (received, started, succeeded, ...).',
    celery: { name: 'worker_send_task_events', old: ['CELERY_SEND_EVENTS'] },
  }),

  // --- beat
  beatSchedule: setting<BeatSchedule, BeatScheduleInput>({
    default: {}, parse: beatSchedule, type: 'object',
    doc: "Periodic tasks: entry name → { task, schedule (ms, { every }, { seconds, minutes, hours, days }, a crontab string, crontab({...}), solar(event, lat, lon) or { at }), args, kwargs, options (queue, routingKey, exchange, priority, expires, headers), limit, start, end, missed ('skip', 'once' or 'all'), missedLimit, timezone }; checked here, never at fire time.",
    celery: { name: 'beat_schedule', old: ['CELERYBEAT_SCHEDULE'] },
  }),
  timezone: setting({
    default: 'UTC', parse: timeZone, type: 'string',
    doc: 'Time zone crontab schedules and ISO times without an offset in beatSchedule are read in (an entry may name its own).',
    celery: { name: 'timezone', old: ['CELERY_TIMEZONE'] },
  }),
} as const;

/** The name of a setting. */
export type SettingName = keyof typeof SETTINGS;

/** Every setting name, in table order. */
export const SETTING_NAMES: readonly SettingName[] = Object.freeze(Object.keys(SETTINGS) as SettingName[]);

type SpecOf<K extends SettingName> = (typeof SETTINGS)[K];
type OutOf<K extends SettingName> = SpecOf<K> extends SettingSpec<infer O, infer _I> ? O : never;
type InOf<K extends SettingName> = SpecOf<K> extends SettingSpec<infer _O, infer I> ? I : never;

/** Settings whose resolved value is derived from others when not given. */
interface Derived {
  /** Never null once resolved: the broker URL (broker-server keeps results), or a redis:// / rediss:// URL. */
  readonly resultBackend: string;
  /** Never null once resolved: derived from taskDefaultQueue when not given. */
  readonly taskDefaultExchange: string;
  readonly taskDefaultExchangeType: ExchangeType;
  readonly taskDefaultRoutingKey: string;
  /** Never null once resolved, each queue complete. */
  readonly taskQueues: readonly QueueSetting[];
}

/** Resolved settings: every key present, validated, frozen. */
export type Settings = { readonly [K in SettingName]: K extends keyof Derived ? Derived[K] : OutOf<K> };

/** What `new Celeriac(...)` and resolveSettings() take: any subset of the settings. */
export type SettingsInput = { [K in SettingName]?: InOf<K> | undefined };

function isSettingName(key: string): key is SettingName {
  return Object.prototype.hasOwnProperty.call(SETTINGS, key);
}

/** The message for a key nobody knows, with the closest known name when one is near. */
export function unknownSettingMessage(key: string, known: readonly string[], where = 'setting'): string {
  const near = closest(key, known);
  return `unknown ${where} '${key}'${near === undefined ? '' : ` (did you mean '${near}'?)`}`;
}

/**
 * Parses one setting's value; the label names it in errors (defaults to the key). `context`
 * carries the settings others depend on (the `timezone` beatSchedule reads naive times in).
 */
export function parseSetting<K extends SettingName>(key: K, value: unknown, label: string = key, context?: ParseContext): OutOf<K> {
  const parse = SETTINGS[key].parse as Parser<OutOf<K>>;
  return parse(value, label, context);
}

/**
 * Validates `input`, applies defaults and derived values (resultBackend = broker unless Redis; the default
 * exchange, its type and routing key from taskDefaultQueue; a default queue when taskQueues is
 * null), refuses a resultBackend other than the broker or Redis, checks that the routing adds up (each
 * route's key reaches its queue), and returns the settings frozen. Throws ERR_INVALID_ARGUMENT naming the key for an
 * unknown key (suggesting the closest name) or a bad value; `undefined` counts as not given.
 */
export function resolveSettings(input: SettingsInput = {}): Readonly<Settings> {
  if (!isPlainObject(input)) throw fail('ERR_INVALID_ARGUMENT', `settings must be an object; got ${describe(input)}`);
  const out: Record<string, unknown> = {};
  // `timezone` first: beatSchedule reads ISO times without an offset in it, whatever the key order.
  const context: ParseContext = { timezone: input.timezone === undefined ? SETTINGS.timezone.default : parseSetting('timezone', input.timezone) };
  for (const [key, value] of Object.entries(input)) {
    if (!isSettingName(key)) throw fail('ERR_INVALID_ARGUMENT', unknownSettingMessage(key, SETTING_NAMES), { setting: key });
    if (value !== undefined) out[key] = parseSetting(key, value, key, context);
  }
  for (const key of SETTING_NAMES) if (!(key in out)) out[key] = SETTINGS[key].default;
  // Every setting as parsed; the derived ones may still be null here.
  const given = out as { [K in SettingName]: OutOf<K> };
  out['resultBackend'] = resolveResultBackend(given.broker, given.resultBackend);
  const routing = deriveDefaultRouting(given);
  Object.assign(out, routing);
  out['taskQueues'] = completeQueues({ ...given, ...routing });
  const settings = out as Settings;
  checkSettings(settings);
  checkRouting(settings);
  return deepFreeze(settings);
}

/** Checks that span settings and are not about routing. */
function checkSettings(s: Settings): void {
  const prefetch = s.workerConcurrency * s.workerPrefetchMultiplier;
  if (prefetch > 65_535) {
    throw fail('ERR_INVALID_ARGUMENT', `setting workerPrefetchMultiplier: workerConcurrency × workerPrefetchMultiplier = ${prefetch}, above the broker's prefetch limit of 65535`, { setting: 'workerPrefetchMultiplier' });
  }
}

/** Freezes plain objects and arrays all the way down (functions and class instances are left alone). */
function deepFreeze<T>(value: T): T {
  if (Array.isArray(value) || isPlainObject(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
