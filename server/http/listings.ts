// The read-only listings: overview, vhosts, bindings, connections, consumers (monitoring) and users
// (administrator, as RabbitMQ limits it). Each shows only the vhosts the caller may use.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { mayUseVhost } from './auth.js';
import type { HttpDeps } from './http-deps.js';
import type { EngineOverview } from '../engine/types.js';
import type { RateTracker, Rates } from './rates.js';
import { BINDING_SCHEMA, CONNECTION_SCHEMA, CONSUMER_SCHEMA, OVERVIEW_SCHEMA, USER_SCHEMA, VHOST_SCHEMA, listOf } from './schemas.js';

/** Seconds since start, with millisecond precision. */
export function uptimeSeconds(deps: Pick<HttpDeps, 'startedAt'>): number {
  return Math.max(0, Date.now() - deps.startedAt) / 1000;
}

/** The body of GET /api/overview (also the dashboard stream's `overview` event). */
export function overviewOf(deps: HttpDeps, rates: RateTracker, o: EngineOverview = deps.engine.overview()): OverviewJson {
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
    rates: rates.ratesOf(o).totals,
    messages: { ready, unacked, delayed },
    queues: o.queues.length,
    exchanges: o.exchanges.length,
    consumers,
    connections: deps.connections(),
    store: { location: deps.store.location, bytes: deps.store.sizeBytes() },
    memory: { rss: process.memoryUsage.rss() },
  };
}

/** Broker-wide totals, rates and counts: what GET /api/overview answers. */
export interface OverviewJson {
  version: string;
  uptime: number;
  blocked: boolean;
  totals: EngineOverview['totals'];
  rates: Rates;
  messages: { ready: number; unacked: number; delayed: number };
  queues: number;
  exchanges: number;
  consumers: number;
  connections: number;
  store: { location: string; bytes: number };
  memory: { rss: number };
}

function sees(req: FastifyRequest, vhost: string): boolean {
  return req.principal === null || mayUseVhost(req.principal, vhost);
}

/** Registers the listings. */
export function registerListingRoutes(app: FastifyInstance, deps: HttpDeps, rates: RateTracker): void {
  app.get('/api/overview', {
    schema: { tags: ['broker'], summary: 'Broker-wide totals, rates, counts, store and memory', response: { 200: OVERVIEW_SCHEMA } },
  }, async () => overviewOf(deps, rates));

  app.get('/api/vhosts', {
    schema: { tags: ['broker'], summary: 'The virtual hosts the user may use, with their counts', response: { 200: listOf(VHOST_SCHEMA) } },
  }, async (req) => {
    const o = deps.engine.overview();
    return deps.vhosts.filter((name) => sees(req, name)).map((name) => {
      const row = { name, queues: 0, messages: 0, ready: 0, unacked: 0, delayed: 0, connections: 0 };
      for (const q of o.queues) {
        if (q.vhost !== name) continue;
        row.queues++;
        row.messages += q.messages;
        row.ready += q.ready;
        row.unacked += q.unacked;
        row.delayed += q.delayed;
      }
      row.connections = o.connections.filter((c) => c.vhost === name).length;
      return row;
    });
  });

  app.get('/api/bindings', {
    schema: { tags: ['exchanges'], summary: "Every binding, the default exchange's implicit ones (source '') included", response: { 200: listOf(BINDING_SCHEMA) } },
  }, async (req) => deps.engine.bindings().filter((b) => sees(req, b.vhost)));

  app.get('/api/connections', {
    schema: { tags: ['broker'], summary: 'Open client connections: id, vhost, user, client name, peer address', response: { 200: listOf(CONNECTION_SCHEMA) } },
  }, async (req) => deps.engine.overview().connections.filter((c) => sees(req, c.vhost)));

  app.get('/api/consumers', {
    schema: { tags: ['queues'], summary: 'Every consumer: queue, tag, connection, prefetch, unacked', response: { 200: listOf(CONSUMER_SCHEMA) } },
  }, async (req) => deps.engine.consumers().filter((c) => sees(req, c.vhost)));

  app.get('/api/users', {
    schema: { tags: ['broker'], summary: 'The users, their tags and vhosts (administrator; never a password or its hash)', response: { 200: listOf(USER_SCHEMA) } },
    config: { role: 'administrator' },
  }, async () => deps.users.list());
}
