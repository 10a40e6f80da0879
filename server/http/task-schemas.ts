// JSON schemas of the task-level routes' bodies (tasks, workers, beat): the engine's TaskInfo,
// EventView and WorkerInfo as JSON (times epoch ms), validated and serialized by fastify.

const str = { type: 'string' } as const;
const strOrNull = { type: 'string', nullable: true } as const;
const num = { type: 'number' } as const;
const numOrNull = { type: 'number', nullable: true } as const;
const intOrNull = { type: 'integer', nullable: true } as const;
const boolOrNull = { type: 'boolean', nullable: true } as const;
const count = { type: 'integer', minimum: 0 } as const;
/** Any JSON value (arguments, results): serialized as it is. */
const anyValue = { description: 'any JSON value' } as const;

/** A task as the broker's task index knows it from its events (server/engine/events-api.ts TaskInfo). */
export const TASK_INFO_SCHEMA = {
  type: 'object',
  required: ['vhost', 'id', 'name', 'state', 'firstEventId', 'lastEventId', 'firstSeen', 'lastSeen'],
  properties: {
    vhost: str,
    id: str,
    name: strOrNull,
    state: { type: 'string', description: 'PENDING, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED or REJECTED' },
    args: { ...anyValue, description: 'the arguments as the events carried them (celeriac and Celery send their repr string)' },
    kwargs: { ...anyValue, description: 'the keyword arguments as the events carried them' },
    argsValue: { type: 'array', nullable: true, description: "the arguments themselves in kombu's JSON form, when the worker's task-received carried them (celeriac workers do, up to 16 KiB)" },
    kwargsValue: { type: 'object', nullable: true, additionalProperties: true, description: 'the keyword arguments themselves, likewise' },
    result: { ...anyValue, description: 'the return value (task-succeeded)' },
    exception: strOrNull,
    traceback: strOrNull,
    retries: intOrNull,
    worker: strOrNull,
    queue: strOrNull,
    exchange: strOrNull,
    routingKey: strOrNull,
    rootId: strOrNull,
    parentId: strOrNull,
    eta: strOrNull,
    expires: strOrNull,
    sent: numOrNull,
    received: numOrNull,
    started: numOrNull,
    succeeded: numOrNull,
    failed: numOrNull,
    retried: numOrNull,
    revoked: numOrNull,
    rejected: numOrNull,
    runtime: { type: 'number', nullable: true, description: 'seconds it ran' },
    terminated: boolOrNull,
    expired: boolOrNull,
    reason: strOrNull,
    timestamp: numOrNull,
    firstEventId: count,
    lastEventId: count,
    firstSeen: num,
    lastSeen: num,
  },
} as const;

/** A stored event of a task's timeline: its body parsed (`data`; null when it is not a JSON object). */
export const EVENT_VIEW_SCHEMA = {
  type: 'object',
  required: ['id', 'vhost', 'type', 'routingKey', 'at', 'data'],
  properties: {
    id: count,
    vhost: str,
    type: str,
    routingKey: str,
    at: { type: 'number', description: 'when the broker stored it, epoch ms' },
    data: { type: 'object', nullable: true, additionalProperties: true },
  },
} as const;

/** A task with its timeline. */
export const TASK_DETAIL_SCHEMA = {
  ...TASK_INFO_SCHEMA,
  required: [...TASK_INFO_SCHEMA.required, 'timeline'],
  properties: { ...TASK_INFO_SCHEMA.properties, timeline: { type: 'array', items: EVENT_VIEW_SCHEMA } },
} as const;

/** A page of tasks, newest first. */
export const TASKS_PAGE_SCHEMA = {
  type: 'object',
  required: ['tasks', 'cursor'],
  properties: {
    tasks: { type: 'array', items: TASK_INFO_SCHEMA },
    cursor: { type: 'integer', nullable: true, description: 'pass as `cursor` for the next page; null: no more' },
  },
} as const;

/** The query of GET /api/tasks. */
export const TASKS_QUERY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { type: 'string', maxLength: 255, description: 'PENDING, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED, REJECTED' },
    name: { type: 'string', maxLength: 255, description: 'the task name, exactly' },
    worker: { type: 'string', maxLength: 255, description: "the hostname of the worker that sent the task's latest event" },
    search: { type: 'string', maxLength: 255, description: 'case-insensitive: a task id starting with it, or a name containing it' },
    from: { type: 'integer', minimum: 0, description: 'first seen at or after (epoch ms)' },
    to: { type: 'integer', minimum: 0, description: 'first seen before (epoch ms)' },
    limit: { type: 'integer', minimum: 0, maximum: 1000, description: 'default 100' },
    cursor: { type: 'integer', minimum: 0, description: 'the `cursor` of the previous page' },
    vhost: { type: 'string', description: 'only this virtual host (default: every one the user may use)' },
  },
} as const;

/** `?vhost=`: one virtual host. */
export const VHOST_QUERY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: { vhost: { type: 'string', description: 'only this virtual host (default: every one the user may use)' } },
} as const;

/** `{id}` of a task path. */
export const TASK_ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 255, description: 'the task id' } },
} as const;

/** A worker as the worker index knows it (server/engine/events-api.ts WorkerInfo). */
export const WORKER_SCHEMA = {
  type: 'object',
  required: ['vhost', 'hostname', 'online', 'lastHeartbeat', 'freq', 'lastEventId'],
  properties: {
    vhost: str,
    hostname: str,
    online: { type: 'boolean', description: 'not gone offline, and heard from within two heartbeat intervals' },
    lastHeartbeat: numOrNull,
    freq: { type: 'number', description: 'heartbeat interval, seconds (0: none)' },
    active: intOrNull,
    processed: intOrNull,
    loadavg: { type: 'array', nullable: true, items: num },
    pool: strOrNull,
    concurrency: intOrNull,
    queues: { type: 'array', nullable: true, items: str },
    pid: intOrNull,
    swIdent: strOrNull,
    swVer: strOrNull,
    swSys: strOrNull,
    onlineSince: numOrNull,
    offlineAt: numOrNull,
    lastEventId: count,
  },
} as const;
