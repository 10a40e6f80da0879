// JSON schemas of the management API's bodies, shared by routes: fastify validates requests and
// serializes answers with them, and @fastify/swagger turns them into /api/openapi.json.

const count = { type: 'integer', minimum: 0 } as const;
const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;

/** `{ error: { code, message, wire, details? } }`: every refusal, with a code from docs/errors.md. */
export const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'wire'],
      properties: { code: str, message: str, wire: { type: 'integer' }, details: anyObject },
    },
  },
} as const;

/** Messages per second over the last few seconds. */
export const RATES_SCHEMA = {
  type: 'object',
  required: ['publish', 'deliver', 'ack'],
  properties: { publish: { type: 'number' }, deliver: { type: 'number' }, ack: { type: 'number' } },
} as const;

/** Messages in, deliveries and acks since the queue was declared (or the broker started). */
export const COUNTERS_SCHEMA = {
  type: 'object',
  required: ['published', 'delivered', 'acked'],
  properties: { published: count, delivered: count, acked: count },
} as const;

export const QUEUE_SCHEMA = {
  type: 'object',
  required: ['vhost', 'name', 'durable', 'exclusive', 'autoDelete', 'messages', 'ready', 'unacked', 'delayed', 'paged', 'consumers', 'options', 'counters', 'rates'],
  properties: {
    vhost: str, name: str, durable: bool, exclusive: bool, autoDelete: bool,
    messages: count, ready: count, unacked: count, delayed: count, paged: count, consumers: count,
    options: anyObject, counters: COUNTERS_SCHEMA, rates: RATES_SCHEMA,
  },
} as const;

export const EXCHANGE_SCHEMA = {
  type: 'object',
  required: ['vhost', 'name', 'type', 'durable', 'autoDelete', 'internal', 'bindings'],
  properties: { vhost: str, name: str, type: { type: 'string', enum: ['direct', 'topic', 'fanout', 'headers'] }, durable: bool, autoDelete: bool, internal: bool, bindings: count },
} as const;

export const BINDING_SCHEMA = {
  type: 'object',
  required: ['vhost', 'source', 'destination', 'destinationType', 'routingKey', 'arguments'],
  properties: { vhost: str, source: str, destination: str, destinationType: { type: 'string', enum: ['queue', 'exchange'] }, routingKey: str, arguments: anyObject },
} as const;

export const CONNECTION_SCHEMA = {
  type: 'object',
  required: ['id', 'vhost', 'user', 'client', 'peer'],
  properties: { id: str, vhost: str, user: str, client: str, peer: str },
} as const;

export const CONSUMER_SCHEMA = {
  type: 'object',
  required: ['vhost', 'queue', 'consumerTag', 'connection', 'user', 'prefetch', 'ackRequired', 'exclusive', 'unacked'],
  properties: { vhost: str, queue: str, consumerTag: str, connection: str, user: str, prefetch: count, ackRequired: bool, exclusive: bool, unacked: count },
} as const;

export const VHOST_SCHEMA = {
  type: 'object',
  required: ['name', 'queues', 'messages', 'ready', 'unacked', 'delayed', 'connections'],
  properties: { name: str, queues: count, messages: count, ready: count, unacked: count, delayed: count, connections: count },
} as const;

const TAGS_SCHEMA = { type: 'array', items: { type: 'string', enum: ['administrator', 'monitoring'] } } as const;

export const USER_SCHEMA = {
  type: 'object',
  required: ['name', 'tags', 'vhosts', 'loopbackOnly'],
  properties: { name: str, tags: TAGS_SCHEMA, vhosts: { type: 'array', items: str, nullable: true }, loopbackOnly: bool },
} as const;

/** Who is asking (GET /api/whoami, and the answer of POST /api/login). */
export const WHOAMI_SCHEMA = {
  type: 'object',
  required: ['name', 'tags', 'vhosts', 'via'],
  properties: {
    name: str, tags: TAGS_SCHEMA, vhosts: { type: 'array', items: str, nullable: true },
    via: { type: 'string', enum: ['basic', 'session'] },
    /** Only with a session: the value of the x-celeriac-csrf header every action must carry. */
    csrfToken: str,
  },
} as const;

export const OVERVIEW_SCHEMA = {
  type: 'object',
  required: ['version', 'uptime', 'blocked', 'totals', 'rates', 'messages', 'queues', 'exchanges', 'consumers', 'connections', 'store', 'memory'],
  properties: {
    version: str,
    uptime: { type: 'number' },
    blocked: bool,
    totals: {
      type: 'object',
      required: ['published', 'delivered', 'acked', 'deadLettered', 'deadLetterCyclesDropped', 'pagedOut', 'pagedIn', 'messages'],
      properties: { published: count, delivered: count, acked: count, deadLettered: count, deadLetterCyclesDropped: count, pagedOut: count, pagedIn: count, messages: count },
    },
    rates: RATES_SCHEMA,
    messages: { type: 'object', required: ['ready', 'unacked', 'delayed'], properties: { ready: count, unacked: count, delayed: count } },
    queues: count, exchanges: count, consumers: count, connections: count,
    store: { type: 'object', required: ['location', 'bytes'], properties: { location: str, bytes: count } },
    memory: { type: 'object', required: ['rss'], properties: { rss: count } },
  },
} as const;

/** Path parameters `{vhost}` (URL-encoded: '/' is %2F) and `{name}`. */
export const VHOST_NAME_PARAMS = {
  type: 'object',
  required: ['vhost', 'name'],
  properties: { vhost: { type: 'string', description: "virtual host, URL-encoded ('/' is %2F)" }, name: str },
} as const;

export const VHOST_PARAMS = {
  type: 'object',
  required: ['vhost'],
  properties: { vhost: { type: 'string', description: "virtual host, URL-encoded ('/' is %2F)" } },
} as const;

/** The answer of an action that has nothing to say (204). */
export const NO_CONTENT = { type: 'null', description: 'done' } as const;

/** An array of `item`. */
export function listOf<T extends object>(item: T): { type: 'array'; items: T } {
  return { type: 'array', items: item };
}

/** `{vhost}` and `{name}` of a path. */
export interface VhostName {
  vhost: string;
  name: string;
}
