// /api/queues: listings with counts and rates (monitoring), and the actions on one queue:
// delete, purge and get (administrator), at RabbitMQ's management paths.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fail } from '../../shared/errors.js';
import type { QueueOverview } from '../engine/types.js';
import { checkVhost, mayUseVhost, type HttpPrincipal } from './auth.js';
import type { EngineActions } from './engine-actions.js';
import type { HttpDeps } from './http-deps.js';
import { PROPERTIES_OUT_SCHEMA, encodePayload, propertiesToJson } from './message-json.js';
import type { RateTracker } from './rates.js';
import { NO_CONTENT, QUEUE_SCHEMA, VHOST_NAME_PARAMS, VHOST_PARAMS, listOf, type VhostName } from './schemas.js';

/** What the queue routes need beyond HttpDeps. */
export interface QueueRouteDeps {
  deps: HttpDeps;
  rates: RateTracker;
  actions: EngineActions;
}

/** A queue as the API shows it: the engine's counts plus rates. */
type QueueJson = QueueOverview & { rates: { publish: number; deliver: number; ack: number } };

/** Ack modes of a get, RabbitMQ's names. */
export const ACK_MODES = ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true'] as const;
type AckMode = (typeof ACK_MODES)[number];

interface GetBody {
  count?: number;
  ackmode: AckMode;
  encoding?: 'auto' | 'base64';
  truncate?: number;
}

/** Most messages one get may return: each is held in memory and in the answer at once. */
export const MAX_GET_COUNT = 10_000;

const GET_MESSAGE_SCHEMA = {
  type: 'object',
  required: ['payload_bytes', 'redelivered', 'delivery_count', 'exchange', 'routing_key', 'message_count', 'properties', 'payload', 'payload_encoding'],
  properties: {
    payload_bytes: { type: 'integer' },
    redelivered: { type: 'boolean' },
    delivery_count: { type: 'integer' },
    exchange: { type: 'string' },
    routing_key: { type: 'string' },
    message_count: { type: 'integer', description: 'ready messages left in the queue after this one was taken' },
    properties: PROPERTIES_OUT_SCHEMA,
    payload: { type: 'string' },
    payload_encoding: { type: 'string', enum: ['string', 'base64'] },
  },
} as const;

/** The queues of `o` the caller may see, with rates. */
function visibleQueues(r: QueueRouteDeps, who: HttpPrincipal | null, pick: (q: QueueOverview) => boolean): QueueJson[] {
  const o = r.deps.engine.overview();
  const rates = r.rates.ratesOf(o);
  return o.queues
    .filter((q) => (who === null || mayUseVhost(who, q.vhost)) && pick(q))
    .map((q) => ({ ...q, rates: rates.queue(q.vhost, q.name) }));
}

function findQueue(r: QueueRouteDeps, req: FastifyRequest, vhost: string, name: string): QueueJson {
  checkVhost(req, r.deps, vhost);
  const q = visibleQueues(r, req.principal, (x) => x.vhost === vhost && x.name === name)[0];
  if (q === undefined) throw fail('ERR_NOT_FOUND', `no queue '${name}' in vhost '${vhost}'`, { vhost, queue: name });
  return q;
}

/** Registers the queue routes. */
export function registerQueueRoutes(app: FastifyInstance, r: QueueRouteDeps): void {
  app.get('/api/queues', {
    schema: { tags: ['queues'], summary: 'Every queue the user may see, with counts and rates', response: { 200: listOf(QUEUE_SCHEMA) } },
  }, async (req) => visibleQueues(r, req.principal, () => true));

  app.get<{ Params: { vhost: string } }>('/api/queues/:vhost', {
    schema: { tags: ['queues'], summary: 'The queues of one virtual host', params: VHOST_PARAMS, response: { 200: listOf(QUEUE_SCHEMA) } },
  }, async (req) => {
    checkVhost(req, r.deps, req.params.vhost);
    return visibleQueues(r, req.principal, (q) => q.vhost === req.params.vhost);
  });

  app.get<{ Params: VhostName }>('/api/queues/:vhost/:name', {
    schema: { tags: ['queues'], summary: 'One queue', params: VHOST_NAME_PARAMS, response: { 200: QUEUE_SCHEMA } },
  }, async (req) => findQueue(r, req, req.params.vhost, req.params.name));

  app.delete<{ Params: VhostName; Querystring: { 'if-empty'?: boolean; 'if-unused'?: boolean } }>('/api/queues/:vhost/:name', {
    schema: {
      tags: ['queues'],
      summary: 'Delete a queue (administrator)',
      description: 'Its messages go with it; consumers are cancelled. `if-empty` / `if-unused` refuse (412 ERR_PRECONDITION_FAILED) a queue holding messages / consumers.',
      params: VHOST_NAME_PARAMS,
      querystring: { type: 'object', properties: { 'if-empty': { type: 'boolean' }, 'if-unused': { type: 'boolean' } } },
      response: { 204: NO_CONTENT },
    },
    config: { role: 'administrator' },
  }, async (req, reply) => {
    const { vhost, name } = req.params;
    findQueue(r, req, vhost, name);
    const options = { ifEmpty: req.query['if-empty'] === true, ifUnused: req.query['if-unused'] === true };
    r.actions.run(req.principal!, vhost, req.ip, (conn) => r.deps.engine.deleteQueue(conn, name, options));
    await r.actions.committed();
    return reply.code(204).send();
  });

  app.delete<{ Params: VhostName }>('/api/queues/:vhost/:name/contents', {
    schema: {
      tags: ['queues'],
      summary: 'Purge a queue (administrator)',
      description: 'Removes its ready messages; delivered (unacked) and delayed ones stay, as in AMQP queue.purge.',
      params: VHOST_NAME_PARAMS,
      response: { 204: NO_CONTENT },
    },
    config: { role: 'administrator' },
  }, async (req, reply) => {
    const { vhost, name } = req.params;
    findQueue(r, req, vhost, name);
    r.actions.run(req.principal!, vhost, req.ip, (conn) => r.deps.engine.purgeQueue(conn, name));
    await r.actions.committed();
    return reply.code(204).send();
  });

  app.post<{ Params: VhostName; Body: GetBody }>('/api/queues/:vhost/:name/get', {
    schema: {
      tags: ['queues'],
      summary: 'Take messages from a queue (administrator)',
      description: 'ack_requeue_false removes them; ack_requeue_true and reject_requeue_true put them back (flagged redelivered, their delivery count raised, so a queue\'s deliveryLimit counts these too).',
      params: VHOST_NAME_PARAMS,
      body: {
        type: 'object',
        required: ['ackmode'],
        additionalProperties: false,
        properties: {
          count: { type: 'integer', minimum: 1, maximum: MAX_GET_COUNT, default: 1 },
          ackmode: { type: 'string', enum: ACK_MODES },
          encoding: { type: 'string', enum: ['auto', 'base64'], default: 'auto' },
          truncate: { type: 'integer', minimum: 0, description: 'payload cut to this many bytes' },
        },
      },
      response: { 200: listOf(GET_MESSAGE_SCHEMA) },
    },
    config: { role: 'administrator' },
  }, async (req) => {
    const { vhost, name } = req.params;
    const { count = 1, ackmode, encoding = 'auto', truncate } = req.body;
    findQueue(r, req, vhost, name);
    const engine = r.deps.engine;
    const taken = r.actions.run(req.principal!, vhost, req.ip, (conn) => {
      const got = [];
      for (let i = 0; i < count; i++) {
        // ack_requeue_false takes them for good (noAck); the others keep them outstanding until settled below.
        const m = engine.get(conn, name, ackmode === 'ack_requeue_false');
        if (m === null) break;
        got.push(m);
      }
      // Settled after all are taken, so a count of n returns n different messages; back in their order.
      if (ackmode === 'ack_requeue_true') engine.nack(conn, 0, true, true);
      else if (ackmode === 'reject_requeue_true') for (const m of got) engine.reject(conn, m.deliveryTag, true);
      return got;
    });
    await r.actions.committed();
    return taken.map((m) => ({
      ...encodePayload(m.body, encoding, truncate),
      redelivered: m.redelivered,
      delivery_count: m.deliveryCount,
      exchange: m.exchange,
      routing_key: m.routingKey,
      message_count: m.messageCount,
      properties: propertiesToJson(m.props),
    }));
  });
}
