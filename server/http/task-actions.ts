// Actions on one task (administrator): revoke, through the engine's own revoke (the operation the
// WebSocket protocol's revoke frame runs), answered once the revocation is committed.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RevokeOptions } from '../../shared/frames.js';
import { checkVhost } from './auth.js';
import type { EngineActions } from './engine-actions.js';
import type { HttpDeps } from './http-deps.js';
import { TASK_ID_PARAMS } from './task-schemas.js';

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

/** Registers POST /api/tasks/{id}/revoke. */
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
}
