// /api/exchanges: listings (monitoring) and publish (administrator), at RabbitMQ's management paths;
// amq.default names the nameless default exchange, as in RabbitMQ.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CeleriacError, fail } from '../../shared/errors.js';
import type { ExchangeOverview } from '../engine/types.js';
import { checkVhost, mayUseVhost } from './auth.js';
import type { EngineActions } from './engine-actions.js';
import type { HttpDeps } from './http-deps.js';
import { PROPERTIES_SCHEMA, decodePayload, propertiesFromJson, type PayloadEncoding, type PropertiesJson } from './message-json.js';
import { EXCHANGE_SCHEMA, VHOST_NAME_PARAMS, VHOST_PARAMS, listOf, type VhostName } from './schemas.js';

/** What the exchange routes need beyond HttpDeps. */
export interface ExchangeRouteDeps {
  deps: HttpDeps;
  actions: EngineActions;
}

interface PublishBody {
  routing_key: string;
  payload: string;
  payload_encoding: PayloadEncoding;
  properties?: PropertiesJson;
}

/** The name RabbitMQ's API gives the default exchange in paths. */
export const DEFAULT_EXCHANGE_ALIAS = 'amq.default';

function visible(deps: HttpDeps, req: FastifyRequest, pick: (e: ExchangeOverview) => boolean): ExchangeOverview[] {
  const who = req.principal;
  return deps.engine.overview().exchanges.filter((e) => (who === null || mayUseVhost(who, e.vhost)) && pick(e));
}

/** Registers the exchange routes. */
export function registerExchangeRoutes(app: FastifyInstance, { deps, actions }: ExchangeRouteDeps): void {
  app.get('/api/exchanges', {
    schema: { tags: ['exchanges'], summary: 'Every exchange the user may see', response: { 200: listOf(EXCHANGE_SCHEMA) } },
  }, async (req) => visible(deps, req, () => true));

  app.get<{ Params: { vhost: string } }>('/api/exchanges/:vhost', {
    schema: { tags: ['exchanges'], summary: 'The exchanges of one virtual host', params: VHOST_PARAMS, response: { 200: listOf(EXCHANGE_SCHEMA) } },
  }, async (req) => {
    checkVhost(req, deps, req.params.vhost);
    return visible(deps, req, (e) => e.vhost === req.params.vhost);
  });

  app.get<{ Params: VhostName }>('/api/exchanges/:vhost/:name', {
    schema: { tags: ['exchanges'], summary: 'One exchange', params: VHOST_NAME_PARAMS, response: { 200: EXCHANGE_SCHEMA } },
  }, async (req) => {
    const { vhost, name } = req.params;
    checkVhost(req, deps, vhost);
    const ex = visible(deps, req, (e) => e.vhost === vhost && e.name === name)[0];
    if (ex === undefined) throw fail('ERR_NOT_FOUND', `no exchange '${name}' in vhost '${vhost}'`, { vhost, exchange: name });
    return ex;
  });

  // A base64 body is 4/3 of the bytes it carries; the decoded size is checked against maxBodySize below.
  const bodyLimit = Math.ceil((deps.maxBodySize * 4) / 3) + 64 * 1024;
  app.post<{ Params: VhostName; Body: PublishBody }>('/api/exchanges/:vhost/:name/publish', {
    bodyLimit,
    schema: {
      tags: ['exchanges'],
      summary: 'Publish one message (administrator)',
      description: "RabbitMQ's body. Answers once the broker took the message (after its commit when persistent, delivery_mode 2, into a durable queue); `routed` is false when no queue was bound for it. Use amq.default for the default exchange.",
      params: VHOST_NAME_PARAMS,
      body: {
        type: 'object',
        required: ['routing_key', 'payload', 'payload_encoding'],
        additionalProperties: false,
        properties: {
          routing_key: { type: 'string' },
          payload: { type: 'string' },
          payload_encoding: { type: 'string', enum: ['string', 'base64'] },
          properties: PROPERTIES_SCHEMA,
        },
      },
      response: { 200: { type: 'object', required: ['routed'], properties: { routed: { type: 'boolean' } } } },
    },
    config: { role: 'administrator' },
  }, async (req) => {
    const { vhost, name } = req.params;
    checkVhost(req, deps, vhost);
    const exchange = name === DEFAULT_EXCHANGE_ALIAS ? '' : name;
    const body = decodePayload(req.body.payload, req.body.payload_encoding);
    if (body.byteLength > deps.maxBodySize) {
      throw fail('ERR_MESSAGE_TOO_LARGE', `message body of ${body.byteLength} bytes exceeds maxBodySize ${deps.maxBodySize}`, { size: body.byteLength, maxBodySize: deps.maxBodySize });
    }
    const props = propertiesFromJson(req.body.properties ?? {});
    // mandatory: an unroutable message comes back as ERR_NO_ROUTE, which is RabbitMQ's routed: false.
    const done = new Promise<CeleriacError | null>((resolve) => {
      actions.run(req.principal!, vhost, req.ip, (conn) => deps.engine.publish(conn, exchange, req.body.routing_key, body, props, true, resolve));
    });
    const err = await done;
    if (err === null) return { routed: true };
    if (err.code === 'ERR_NO_ROUTE') return { routed: false };
    throw err;
  });
}
