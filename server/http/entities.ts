// GET /api/queues, /api/queues/:vhost/:name, /api/exchanges, /api/connections: read-only listings
// from engine.overview(). The vhost is URL-encoded in paths, as in RabbitMQ's API ('/' is %2F).
import type { FastifyInstance } from 'fastify';
import { fail } from '../../shared/errors.js';
import type { HttpDeps } from './http-deps.js';

/** Registers the listing routes. */
export function registerEntityRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/api/queues', async () => deps.engine.overview().queues);

  app.get<{ Params: { vhost: string; name: string } }>('/api/queues/:vhost/:name', async (req) => {
    const { vhost, name } = req.params;
    const queue = deps.engine.overview().queues.find((q) => q.vhost === vhost && q.name === name);
    if (queue === undefined) throw fail('ERR_NOT_FOUND', `no queue '${name}' in vhost '${vhost}'`, { vhost, queue: name });
    return queue;
  });

  app.get('/api/exchanges', async () => deps.engine.overview().exchanges);

  app.get('/api/connections', async () => deps.engine.overview().connections);
}
