// GET /api/workers: the broker's worker index (online, heartbeat, pool, concurrency, running,
// processed, queues) from the workers' own events. Thin over engine.workers.
import type { FastifyInstance } from 'fastify';
import { mayUseVhost } from './auth.js';
import type { HttpDeps } from './http-deps.js';
import { listOf } from './schemas.js';
import { VHOST_QUERY_SCHEMA, WORKER_SCHEMA } from './task-schemas.js';
import { listingVhosts } from './tasks.js';

/** Registers GET /api/workers. */
export function registerWorkerRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get<{ Querystring: { vhost?: string } }>('/api/workers', {
    schema: {
      tags: ['tasks'],
      summary: 'Workers known from their events: online, last heartbeat, pool, concurrency, running, processed, queues',
      querystring: VHOST_QUERY_SCHEMA,
      response: { 200: listOf(WORKER_SCHEMA) },
    },
  }, async (req) => {
    const vhosts = listingVhosts(req, deps, req.query.vhost);
    if (vhosts !== null && vhosts.length === 1) return deps.engine.workers.list(vhosts[0]!);
    const who = req.principal;
    return deps.engine.workers.list().filter((w) => who === null || mayUseVhost(who, w.vhost));
  });
}
