// GET /api/openapi.json over real HTTP: an OpenAPI 3 document built from the routes' own schemas,
// listing every route of the API (no more, no fewer), each with its parameters, body and answers.
import t from 'tap';
import { checkRouteSchema } from '../../server/http/openapi.js';
import { startTestBroker } from '../helpers/broker.js';
import { api } from '../helpers/http.js';

interface Operation {
  parameters?: { in: string; name: string; required?: boolean }[];
  requestBody?: { content: Record<string, { schema: { type?: string; required?: string[] } }> };
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
  security?: unknown[];
}
interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  components: { securitySchemes: Record<string, { type: string; scheme?: string; in?: string; name?: string }>; schemas: Record<string, unknown> };
  security: Record<string, unknown[]>[];
  paths: Record<string, Record<string, Operation>>;
}

/** Every route of the API: method, path as OpenAPI writes it, and whether it is open to all. */
const ROUTES: [string, string, 'open' | 'user'][] = [
  ['get', '/healthz', 'open'],
  ['get', '/readyz', 'open'],
  ['post', '/api/login', 'open'],
  ['post', '/api/logout', 'open'],
  ['get', '/api/whoami', 'user'],
  ['get', '/api/overview', 'user'],
  ['get', '/api/vhosts', 'user'],
  ['get', '/api/users', 'user'],
  ['get', '/api/connections', 'user'],
  ['get', '/api/consumers', 'user'],
  ['get', '/api/bindings', 'user'],
  ['get', '/api/queues', 'user'],
  ['get', '/api/queues/{vhost}', 'user'],
  ['get', '/api/queues/{vhost}/{name}', 'user'],
  ['delete', '/api/queues/{vhost}/{name}', 'user'],
  ['delete', '/api/queues/{vhost}/{name}/contents', 'user'],
  ['post', '/api/queues/{vhost}/{name}/get', 'user'],
  ['get', '/api/exchanges', 'user'],
  ['get', '/api/exchanges/{vhost}', 'user'],
  ['get', '/api/exchanges/{vhost}/{name}', 'user'],
  ['post', '/api/exchanges/{vhost}/{name}/publish', 'user'],
  ['get', '/api/tasks', 'user'],
  ['get', '/api/tasks/{id}', 'user'],
  ['post', '/api/tasks/{id}/revoke', 'user'],
  ['post', '/api/tasks/send', 'user'],
  ['post', '/api/tasks/{id}/retry', 'user'],
  ['get', '/api/workers', 'user'],
  ['get', '/api/beat', 'user'],
  ['get', '/metrics', 'user'],
  ['get', '/', 'user'],
  ['get', '/api/stream', 'user'],
];

t.test('the document needs a user, like every route but the probes', async (t) => {
  const broker = await startTestBroker(t);
  t.equal((await api(broker, '/api/openapi.json', { auth: null })).status, 401);
});

t.test('every route is in the document with its parameters, body and answers; nothing else is', async (t) => {
  const broker = await startTestBroker(t);
  const res = await api<OpenApiDoc>(broker, '/api/openapi.json');
  t.equal(res.status, 200);
  const doc = res.body;
  t.match(doc.openapi, /^3\./);
  t.equal(doc.info.title, 'celeriac management API');
  t.match(doc.info.version, /^\d+\.\d+\.\d+/);
  t.match(doc.components.securitySchemes, { basic: { type: 'http', scheme: 'basic' }, session: { type: 'apiKey', in: 'cookie', name: 'celeriac_session' } });
  t.strictSame(doc.security, [{ basic: [] }, { session: [] }], 'credentials by default');
  t.ok(doc.components.schemas.CeleriacError, 'the coded error body is a shared schema');

  const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)).sort();
  t.strictSame(listed, ROUTES.map(([m, p]) => `${m} ${p}`).sort(), 'the routes, no more and no fewer');

  for (const [method, path, access] of ROUTES) {
    const op = doc.paths[path]?.[method];
    if (op === undefined) continue;
    const where = `${method.toUpperCase()} ${path}`;
    const ok = Object.keys(op.responses).filter((code) => /^2\d\d$/.test(code));
    t.equal(ok.length, 1, `${where}: one success answer (${ok.join(', ')})`);
    t.match(op.responses['4XX'], { content: { 'application/json': { schema: { $ref: '#/components/schemas/CeleriacError' } } } }, `${where}: coded 4xx errors`);
    for (const name of path.match(/\{(\w+)\}/g) ?? []) {
      const param = name.slice(1, -1);
      t.ok(op.parameters?.some((p) => p.in === 'path' && p.name === param && p.required === true), `${where}: path parameter ${param}`);
    }
    if (access === 'open') t.strictSame(op.security, [], `${where}: open to all`);
    else t.equal(op.security, undefined, `${where}: needs credentials`);
  }
  const publish = doc.paths['/api/exchanges/{vhost}/{name}/publish']!.post!;
  t.strictSame(publish.requestBody?.content['application/json']?.schema.required, ['routing_key', 'payload', 'payload_encoding'], "RabbitMQ's publish body");
  const get = doc.paths['/api/queues/{vhost}/{name}/get']!.post!;
  t.strictSame(get.requestBody?.content['application/json']?.schema.required, ['ackmode']);
  const del = doc.paths['/api/queues/{vhost}/{name}']!.delete!;
  t.same(del.parameters?.filter((p) => p.in === 'query').map((p) => p.name).sort(), ['if-empty', 'if-unused']);
  t.ok(doc.paths['/readyz']!.get!.responses['503'], '/readyz documents its 503');
});

t.test('with metricsOpen, /metrics is documented as open', async (t) => {
  const broker = await startTestBroker(t, { metricsOpen: true });
  const doc = (await api<OpenApiDoc>(broker, '/api/openapi.json')).body;
  t.strictSame(doc.paths['/metrics']!.get!.security, []);
});

t.test('a route without a response schema, or without a params schema for its path parameters, is refused as it is added', async (t) => {
  const handler = async (): Promise<void> => undefined;
  t.throws(() => checkRouteSchema({ method: 'GET', url: '/api/x', handler }), /GET \/api\/x has no response schema/);
  t.throws(() => checkRouteSchema({ method: 'GET', url: '/api/x/:id', handler, schema: { response: { 200: { type: 'null' } } } }), /no params schema/);
  const schema = { response: { 200: { type: 'null' } } as Record<string, unknown> };
  checkRouteSchema({ method: 'GET', url: '/api/x', handler, schema });
  t.strictSame(schema.response['4xx'], { $ref: 'CeleriacError#' }, 'errors get the coded body');
  t.doesNotThrow(() => checkRouteSchema({ method: 'HEAD', url: '/api/x', handler }), "fastify's HEAD twin of a GET");
});
