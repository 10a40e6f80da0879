// GET /healthz and GET /api/overview: is the broker up, and the broker-wide totals.
// Both are cheap enough for a load balancer to poll every second.
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from './http-deps.js';

/** GET /healthz: 200 with uptime while the broker serves. */
export function registerHealthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/healthz', async () => ({ ok: true, uptime: uptimeSeconds(deps) }));

  app.get('/api/overview', async () => {
    const o = deps.engine.overview();
    let ready = 0;
    let unacked = 0;
    let delayed = 0;
    let consumers = 0;
    for (const q of o.queues) {
      ready += q.ready;
      unacked += q.unacked;
      delayed += q.delayed;
      consumers += q.consumers;
    }
    return {
      version: deps.version,
      uptime: uptimeSeconds(deps),
      blocked: o.blocked,
      totals: o.totals,
      messages: { ready, unacked, delayed },
      queues: o.queues.length,
      exchanges: o.exchanges.length,
      consumers,
      connections: deps.connections(),
      store: { location: deps.store.location, bytes: deps.store.sizeBytes() },
      memory: { rss: process.memoryUsage.rss() },
    };
  });
}

/** Seconds since start, with millisecond precision. */
export function uptimeSeconds(deps: Pick<HttpDeps, 'startedAt'>): number {
  return Math.max(0, Date.now() - deps.startedAt) / 1000;
}
