// The OpenAPI 3 document of the management API, built by @fastify/swagger from the routes' own JSON
// schemas (so it cannot drift from what the routes validate), served at GET /api/openapi.json.
import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { ERROR_SCHEMA } from './schemas.js';
import { SESSION_COOKIE } from './sessions.js';

/** Name of the coded error body among the document's shared schemas. */
export const ERROR_SCHEMA_ID = 'CeleriacError';

/**
 * Registers the document builder; call before any route, since it records routes as they are added.
 * Basic credentials and the session cookie are the two security schemes; open routes say `security: []`.
 */
export function registerOpenApi(app: FastifyInstance, version: string): void {
  app.addSchema({ $id: ERROR_SCHEMA_ID, ...ERROR_SCHEMA });
  void app.register(fastifySwagger, {
    // Shared schemas keep their $id as their name under components.schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'celeriac management API',
        version,
        description: "The broker's HTTP API: RabbitMQ's management paths, with JSON bodies and coded errors (docs/http-api.md).",
      },
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        },
      },
      security: [{ basic: [] }, { session: [] }],
    },
  });
}

/** GET /api/openapi.json: the document (for monitoring users and up, like every other route). */
export function registerOpenApiRoute(app: FastifyInstance): void {
  app.get('/api/openapi.json', {
    schema: { hide: true, response: { 200: { type: 'object', additionalProperties: true } } },
  }, async () => app.swagger());
}

/**
 * The rule every route is held to as it is added: a response schema, a params schema when the
 * path has parameters, a body schema on methods that take one; answers 4xx/5xx are the coded
 * error body unless the route says otherwise. A route that breaks it fails the broker's start.
 */
export function checkRouteSchema(route: RouteOptions): void {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  if (methods.every((m) => m === 'HEAD')) return; // fastify's automatic twin of a GET route
  const where = `${methods.join(',')} ${route.url}`;
  const schema = route.schema;
  if (schema?.response === undefined) throw new Error(`route ${where} has no response schema`);
  if (route.url.includes(':') && schema.params === undefined) throw new Error(`route ${where} has no params schema`);
  const response = schema.response as Record<string, unknown>;
  response['4xx'] ??= { $ref: `${ERROR_SCHEMA_ID}#` };
  response['5xx'] ??= { $ref: `${ERROR_SCHEMA_ID}#` };
}
