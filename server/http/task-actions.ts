// Actions on one task (administrator): revoke, through the engine's own revoke (the operation the
// WebSocket protocol's revoke frame runs), and retry (a failed or revoked task sent again as a new
// task, from what the task index kept); each answered once committed.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fail } from '../../shared/errors.js';
import type { RevokeOptions } from '../../shared/frames.js';
import type { TaskDetail } from '../engine/events-api.js';
import { checkVhost } from './auth.js';
import type { EngineActions } from './engine-actions.js';
import type { HttpDeps } from './http-deps.js';
import { TASK_ID_PARAMS } from './task-schemas.js';
import { planSend, publishTask, type SendBody } from './task-send.js';
import { findTask } from './tasks.js';

/** States a task can be sent again from: it ended without a result, and nothing of it still runs. */
export const RETRYABLE_STATES: ReadonlySet<string> = new Set(['FAILURE', 'REVOKED', 'REJECTED']);

/** What the task action routes need. */
export interface TaskActionDeps {
  deps: HttpDeps;
  actions: EngineActions;
}

interface RevokeBody {
  terminate?: boolean;
  signal?: string;
  vhost?: string;
}

const REVOKE_BODY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    terminate: { type: 'boolean', default: false, description: 'also stop it where it runs (the broker tells every worker of the vhost)' },
    signal: { type: 'string', minLength: 1, maxLength: 32, description: "the signal a processes pool stops it with (e.g. 'SIGKILL'; default SIGTERM)" },
    vhost: { type: 'string', default: '/', description: 'the virtual host of the task' },
  },
} as const;

const REVOKE_ANSWER_SCHEMA = {
  type: 'object',
  required: ['id', 'revoked', 'terminate'],
  properties: { id: { type: 'string' }, revoked: { type: 'boolean', enum: [true] }, terminate: { type: 'boolean' } },
} as const;

/** Lets an action whose body fields are all optional be sent without a body (`curl -X POST URL`). */
export async function emptyBodyIsEmptyObject(req: FastifyRequest): Promise<void> {
  req.body ??= {};
}

const RETRY_BODY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: { vhost: { type: 'string', description: 'the virtual host of the task (default: every one the user may use is searched)' } },
} as const;

const RETRY_ANSWER_SCHEMA = {
  type: 'object',
  required: ['id', 'retryOf'],
  properties: { id: { type: 'string', description: 'the new task id' }, retryOf: { type: 'string', description: 'the task sent again' } },
} as const;

/**
 * What a retry of `task` sends: its name, its arguments as the worker's task-received carried them
 * (the values, not their repr), to the exchange and routing key it came through. Throws
 * ERR_PRECONDITION_FAILED when its state does not allow it or the index lacks any of these.
 */
export function retrySend(task: TaskDetail): SendBody {
  const refuse = (why: string): never => {
    throw fail('ERR_PRECONDITION_FAILED', `task '${task.id}' cannot be sent again: ${why}`, { id: task.id, state: task.state });
  };
  if (!RETRYABLE_STATES.has(task.state)) refuse(`it is ${task.state} (only ${[...RETRYABLE_STATES].join(', ')} can be)`);
  if (task.name === null) refuse('the task index does not know its name');
  if (task.argsValue === null || task.kwargsValue === null) {
    refuse('the task index holds only the repr of its arguments (a worker that is not celeriac, or arguments over 16 KiB)');
  }
  if (task.exchange === null || task.routingKey === null) refuse('the task index does not know the exchange and routing key it came through');
  return { name: task.name!, args: task.argsValue!, kwargs: task.kwargsValue!, exchange: task.exchange!, routingKey: task.routingKey! };
}

/** Registers POST /api/tasks/{id}/revoke and POST /api/tasks/{id}/retry. */
export function registerTaskActionRoutes(app: FastifyInstance, { deps, actions }: TaskActionDeps): void {
  app.post<{ Params: { id: string }; Body: RevokeBody }>('/api/tasks/:id/revoke', {
    schema: {
      tags: ['tasks'],
      summary: 'Revoke a task (administrator)',
      description: 'A task not started yet never runs (its messages are dropped when they come up; its result is REVOKED); with `terminate`, '
        + 'a running one is stopped. The id need not be in the task index: a task still queued by a producer without events is revoked too. '
        + 'Answered once the revocation is committed.',
      params: TASK_ID_PARAMS,
      body: REVOKE_BODY_SCHEMA,
      response: { 200: REVOKE_ANSWER_SCHEMA },
    },
    preValidation: emptyBodyIsEmptyObject,
  }, async (req) => {
    const id = req.params.id;
    const { terminate = false, signal, vhost = '/' } = req.body;
    checkVhost(req, deps, vhost);
    const options: RevokeOptions = { terminate };
    if (signal !== undefined) options.signal = signal;
    await new Promise<number>((resolve, reject) => {
      actions.run(req.principal!, vhost, req.ip, (conn) => deps.engine.revoke(conn, [id], options, (err, n) => (err === null ? resolve(n) : reject(err))));
    });
    return { id, revoked: true as const, terminate };
  });

  app.post<{ Params: { id: string }; Body: { vhost?: string } }>('/api/tasks/:id/retry', {
    schema: {
      tags: ['tasks'],
      summary: 'Send a failed or revoked task again, as a new task (administrator)',
      description: 'Same name, arguments (the values the worker received, from the task index) and exchange / routing key, a new task id; '
        + 'registered PENDING in the same commit. 404 when the index does not hold the task; 412 when its state is not FAILURE, REVOKED or REJECTED, '
        + 'or the index lacks its arguments or route.',
      params: TASK_ID_PARAMS,
      body: RETRY_BODY_SCHEMA,
      response: { 200: RETRY_ANSWER_SCHEMA },
    },
    preValidation: emptyBodyIsEmptyObject,
  }, async (req) => {
    const task = findTask(req, deps, req.params.id, req.body.vhost);
    const plan = planSend(retrySend(task));
    await publishTask({ deps, actions }, req.principal!, task.vhost, req.ip, plan);
    return { id: plan.id, retryOf: task.id };
  });
}
