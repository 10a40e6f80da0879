// The management HTTP API as a fastify instance, built but not listening: the broker calls listen()
// and attaches the WebSocket upgrade to the same server and port.
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { CeleriacError, fail } from '../../shared/errors.js';
import { registerAuth } from './auth.js';
import { registerBeatRoutes } from './beat.js';
import { registerDashboardRoutes } from './dashboard.js';
import { EngineActions } from './engine-actions.js';
import { registerExchangeRoutes } from './exchanges.js';
import { registerHealthRoutes } from './health.js';
import { errorBody, httpStatusOf, type HttpDeps } from './http-deps.js';
import { registerListingRoutes } from './listings.js';
import { registerLoginRoutes } from './login-routes.js';
import { registerMetricsRoute } from './metrics.js';
import { checkRouteSchema, registerOpenApi, registerOpenApiRoute } from './openapi.js';
import { registerQueueRoutes } from './queues.js';
import { RateTracker } from './rates.js';
import { SessionStore } from './sessions.js';
import { registerStreamRoute } from './stream.js';
import { registerTaskActionRoutes } from './task-actions.js';
import { registerTaskSendRoute } from './task-send.js';
import { registerTaskRoutes } from './tasks.js';
import { registerWorkerRoutes } from './workers.js';

export type { HttpDeps, HttpErrorBody, BrokerState } from './http-deps.js';

/**
 * Builds the management API (docs/http-api.md). Every route sits behind one gate (auth.ts:
 * Basic or session cookie, then the route's role) and declares JSON schemas for what it takes
 * and answers; every error answers `{ error: { code, message, wire } }` with a code from shared/errors.ts.
 */
export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  // No fastify logger: the broker logs through its own `log`, and a management GET is not news.
  // removeAdditional off: a body field the schema does not know is refused (400), never dropped unseen.
  // return503OnClosing off: the hook below answers a coded ERR_SERVER_SHUTDOWN instead of fastify's plain 503.
  const app = Fastify({ logger: false, return503OnClosing: false, ajv: { customOptions: { removeAdditional: false } } });
  const sessions = new SessionStore();
  const rates = new RateTracker(() => deps.engine.overview());
  const actions = new EngineActions(deps.engine);
  app.addHook('onClose', async () => rates.stop());
  app.addHook('onRoute', checkRouteSchema);

  app.setErrorHandler(async (error: FastifyError | CeleriacError, _req, reply) => {
    if (error instanceof CeleriacError) return reply.code(httpStatusOf(error.code)).send(errorBody(error));
    // fastify's own client errors (validation, bad URL encoding, body too large...) keep their 4xx status.
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    const coded = status < 500
      ? fail('ERR_INVALID_ARGUMENT', error.message)
      : new CeleriacError('ERR_INTERNAL', 'internal error in the management API', { cause: error });
    return reply.code(status).send(errorBody(coded));
  });

  void app.register(fastifyCookie);
  registerOpenApi(app, deps.version);
  // Routes in one plugin registered after cookie and swagger: the gate's hook runs after the cookie
  // parser, and the document builder sees every route. New routes are registered here too.
  void app.register(async (api) => {
    // From the first moment of shutdown only the probes answer: nothing is acted on half-way down.
    api.addHook('onRequest', async (req) => {
      if (deps.state() === 'closing' && req.routeOptions.config.probe !== true) throw fail('ERR_SERVER_SHUTDOWN', 'the broker is shutting down');
    });
    registerAuth(api, deps, sessions);
    api.setNotFoundHandler(async (req) => {
      throw fail('ERR_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
    });
    registerHealthRoutes(api, deps);
    registerLoginRoutes(api, deps, sessions);
    registerListingRoutes(api, deps, rates);
    registerQueueRoutes(api, { deps, rates, actions });
    registerExchangeRoutes(api, { deps, actions });
    registerTaskRoutes(api, deps);
    registerTaskActionRoutes(api, { deps, actions });
    registerTaskSendRoute(api, { deps, actions });
    registerWorkerRoutes(api, deps);
    registerBeatRoutes(api, { deps, actions });
    registerMetricsRoute(api, deps);
    registerOpenApiRoute(api);
    registerStreamRoute(api, deps, rates, sessions);
    registerDashboardRoutes(api);
  });
  return app;
}
