// GET /healthz (the process serves) and GET /readyz (the store is open and the broker takes
// connections): the two probes a load balancer or orchestrator polls, open to all, cheap.
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from './http-deps.js';
import { uptimeSeconds } from './listings.js';

const READY_SCHEMA = {
  type: 'object',
  required: ['ready', 'state', 'store'],
  properties: {
    ready: { type: 'boolean' },
    state: { type: 'string', enum: ['starting', 'ready', 'closing'] },
    store: { type: 'string', enum: ['open', 'closed'] },
  },
} as const;

/** Registers the probes; neither asks for credentials. */
export function registerHealthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/healthz', {
    schema: {
      tags: ['health'],
      summary: 'Liveness: 200 while the process serves HTTP',
      security: [],
      response: { 200: { type: 'object', required: ['ok', 'uptime'], properties: { ok: { type: 'boolean' }, uptime: { type: 'number' } } } },
    },
    config: { auth: 'none', probe: true },
  }, async () => ({ ok: true, uptime: uptimeSeconds(deps) }));

  app.get('/readyz', {
    schema: {
      tags: ['health'],
      summary: 'Readiness: 200 when the store is open and the broker accepts connections, 503 while starting or shutting down',
      security: [],
      response: { 200: READY_SCHEMA, 503: READY_SCHEMA },
    },
    config: { auth: 'none', probe: true },
  }, async (_req, reply) => {
    const state = deps.state();
    const storeOpen = deps.store.isOpen;
    const ready = state === 'ready' && storeOpen;
    return reply.code(ready ? 200 : 503).send({ ready, state, store: storeOpen ? 'open' : 'closed' });
  });
}
