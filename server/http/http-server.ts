// The management HTTP API as a fastify instance, built but not listening: the broker's session
// helper calls listen() and attaches the WebSocket upgrade to the same server and port.
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { CeleriacError, fail } from '../../shared/errors.js';
import { registerEntityRoutes } from './entities.js';
import { registerHealthRoutes } from './health.js';
import { errorBody, httpStatusOf, type HttpDeps } from './http-deps.js';
import { registerMetricsRoute } from './metrics.js';

export type { HttpDeps, HttpErrorBody } from './http-deps.js';

/**
 * Builds the management API: GET /healthz, /api/overview, /api/queues, /api/queues/:vhost/:name,
 * /api/exchanges, /api/connections and /metrics. Every error answers `{ error: { code, message } }`
 * with a code from shared/errors.ts.
 */
export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  // No fastify logger: the broker logs through its own `log`, and a management GET is not news.
  const app = Fastify({ logger: false, return503OnClosing: true });

  app.setNotFoundHandler(async (req, reply) => {
    const err = fail('ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
    return reply.code(404).send(errorBody(err));
  });

  app.setErrorHandler(async (error: FastifyError | CeleriacError, _req, reply) => {
    if (error instanceof CeleriacError) return reply.code(httpStatusOf(error.code)).send(errorBody(error));
    // fastify's own client errors (bad URL encoding, body too large...) keep their 4xx status.
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    const coded = status < 500
      ? fail('ERR_INVALID_ARGUMENT', error.message)
      : new CeleriacError('ERR_INTERNAL', 'internal error in the management API', { cause: error });
    return reply.code(status).send(errorBody(coded));
  });

  registerHealthRoutes(app, deps);
  registerEntityRoutes(app, deps);
  registerMetricsRoute(app, deps);
  return app;
}
