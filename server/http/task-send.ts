// POST /api/tasks/send: a task by name over plain HTTP, so a producer in any language can send one.
// The message is built by the same code as celeriac's producer (shared/messages: Celery protocol
// v2, JSON body, PENDING track in the publish's commit) and published mandatory: a send no queue
// takes is refused, never dropped.
import type { FastifyInstance } from 'fastify';
import { fail } from '../../shared/errors.js';
import type { MessageProperties, TrackOptions } from '../../shared/frames.js';
import { buildTaskMessage } from '../../shared/messages/task-message.js';
import { newTaskId } from '../../shared/messages/task-id.js';
import { DEFAULT_RESULT_EXPIRES, pendingTrack, taskPublishProperties } from '../../shared/messages/task-publish.js';
import { checkVhost } from './auth.js';
import type { EngineActions } from './engine-actions.js';
import { DEFAULT_EXCHANGE_ALIAS } from './exchanges.js';
import type { HttpDeps } from './http-deps.js';

/** Celery's default queue: where a send that names no route goes (through the default exchange). */
export const DEFAULT_SEND_QUEUE = 'celery';

/** The body of POST /api/tasks/send. */
export interface SendBody {
  name: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue?: string;
  exchange?: string;
  routingKey?: string;
  countdown?: number;
  eta?: number | string;
  expires?: number | string;
  priority?: number;
  vhost?: string;
}

const timeOrText = (description: string): Record<string, unknown> => ({
  anyOf: [{ type: 'number' }, { type: 'string', minLength: 1, maxLength: 64 }],
  description,
});

export const SEND_BODY_SCHEMA = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 255, description: 'the registered task name' },
    args: { type: 'array', description: 'positional arguments (default [])' },
    kwargs: { type: 'object', additionalProperties: true, description: 'keyword arguments (default {})' },
    queue: { type: 'string', minLength: 1, maxLength: 255, description: `the queue (default '${DEFAULT_SEND_QUEUE}'), through the default exchange unless exchange is given` },
    exchange: { type: 'string', maxLength: 255, description: "the exchange ('' or amq.default: the default exchange, routing by queue name)" },
    routingKey: { type: 'string', maxLength: 255, description: 'the routing key (default: the queue name)' },
    countdown: { type: 'number', minimum: 0, description: 'run no sooner than this many ms from now' },
    eta: timeOrText('run no sooner than this time: epoch ms, or ISO 8601 text'),
    expires: timeOrText('expire this many ms from now (a number), or at this time (ISO 8601 text)'),
    priority: { type: 'integer', minimum: 0, maximum: 255 },
    vhost: { type: 'string', default: '/', description: 'the virtual host' },
  },
} as const;

const SEND_ANSWER_SCHEMA = {
  type: 'object',
  required: ['id', 'state'],
  properties: { id: { type: 'string', description: 'the new task id' }, state: { type: 'string', enum: ['PENDING'] } },
} as const;

/** A time of the body: epoch ms, or ISO 8601 text. */
function dateOf(v: number | string, field: string): Date {
  const d = new Date(typeof v === 'number' ? v : Date.parse(v));
  if (!Number.isFinite(d.getTime())) throw fail('ERR_INVALID_ARGUMENT', `body/${field} must be epoch ms or an ISO 8601 time, got ${JSON.stringify(v)}`);
  return d;
}

/** A task message ready for engine.publish. */
export interface SendPlan {
  id: string;
  exchange: string;
  routingKey: string;
  body: Uint8Array;
  props: MessageProperties;
  track: TrackOptions;
}

/**
 * Builds the message of a send as celeriac's producer builds it (JSON, persistent, PENDING kept
 * for the default resultExpires past when it may run). Throws ERR_INVALID_ARGUMENT for bad input.
 */
export function planSend(body: SendBody, now = Date.now()): SendPlan {
  const id = newTaskId(now);
  const queue = body.queue ?? DEFAULT_SEND_QUEUE;
  const exchange = body.exchange === undefined || body.exchange === DEFAULT_EXCHANGE_ALIAS ? '' : body.exchange;
  const routingKey = body.routingKey ?? queue;
  let expires: number | Date | undefined;
  if (typeof body.expires === 'number') expires = body.expires;
  else if (body.expires !== undefined) expires = dateOf(body.expires, 'expires');
  const msg = buildTaskMessage({
    id, task: body.name, args: body.args ?? [], kwargs: body.kwargs ?? {}, now, serializer: 'json',
    countdown: body.countdown, eta: body.eta === undefined ? undefined : dateOf(body.eta, 'eta'), expires, priority: body.priority,
  });
  return { id, exchange, routingKey, body: msg.body, props: taskPublishProperties(msg), track: pendingTrack(id, DEFAULT_RESULT_EXPIRES, msg.properties.delay) };
}

/** What the send route needs. */
export interface TaskSendDeps {
  deps: HttpDeps;
  actions: EngineActions;
}

/** Publishes a planned send on an engine connection of the caller; resolves once committed. */
export async function publishTask(r: TaskSendDeps, who: Parameters<EngineActions['run']>[0], vhost: string, peer: string, plan: SendPlan): Promise<void> {
  const { deps, actions } = r;
  if (plan.body.byteLength > deps.maxBodySize) {
    throw fail('ERR_MESSAGE_TOO_LARGE', `task message of ${plan.body.byteLength} bytes exceeds maxBodySize ${deps.maxBodySize}`, { size: plan.body.byteLength, maxBodySize: deps.maxBodySize });
  }
  await new Promise<void>((resolve, reject) => {
    actions.run(who, vhost, peer, (conn) => deps.engine.publish(conn, plan.exchange, plan.routingKey, plan.body, plan.props, true, (err) => {
      if (err === null) resolve();
      else if (err.code === 'ERR_NO_ROUTE') {
        reject(fail('ERR_NO_ROUTE', `no queue takes the task: exchange '${plan.exchange}' routing key '${plan.routingKey}' matched none (is a worker consuming it declared?)`, { exchange: plan.exchange, routingKey: plan.routingKey }));
      } else reject(err);
    }, plan.track));
  });
  // The PENDING track and a transient message's commit too: answered once all of it is on disk.
  await actions.committed();
}

/** Registers POST /api/tasks/send. */
export function registerTaskSendRoute(app: FastifyInstance, r: TaskSendDeps): void {
  app.post<{ Body: SendBody }>('/api/tasks/send', {
    // JSON arguments take about the room of the message they become.
    bodyLimit: r.deps.maxBodySize + 64 * 1024,
    schema: {
      tags: ['tasks'],
      summary: 'Send a task by name (administrator)',
      description: `A Celery protocol v2 message, as celeriac's producer builds it (JSON body), to queue '${DEFAULT_SEND_QUEUE}' through the default exchange unless `
        + 'queue / exchange / routingKey say otherwise; registered PENDING in the same commit. A send no queue takes is refused (404 ERR_NO_ROUTE). '
        + 'Answered once committed.',
      body: SEND_BODY_SCHEMA,
      response: { 200: SEND_ANSWER_SCHEMA },
    },
  }, async (req) => {
    const vhost = req.body.vhost ?? '/';
    checkVhost(req, r.deps, vhost);
    const plan = planSend(req.body);
    await publishTask(r, req.principal!, vhost, req.ip, plan);
    return { id: plan.id, state: 'PENDING' as const };
  });
}
