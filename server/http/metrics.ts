// GET /metrics in the Prometheus text exposition format (version 0.0.4), written by hand:
// a dozen gauges and counters do not justify a client library and its global registry.
import type { FastifyInstance } from 'fastify';
import type { EngineOverview } from '../engine/types.js';
import { uptimeSeconds } from './listings.js';
import type { HttpDeps, PeerCounts } from './http-deps.js';

/** Content type Prometheus expects for the text format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Facts from outside the engine that the metrics include. */
export interface MetricsExtra {
  storeBytes: number;
  rssBytes: number;
  connections: number;
  uptimeSeconds: number;
  startTimeSeconds: number;
  peers: PeerCounts;
}

/** Escapes a label value: backslash, double quote and newline, as the format requires. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

type Sample = readonly [labels: string, value: number];

function family(out: string[], name: string, type: 'gauge' | 'counter', help: string, samples: readonly Sample[]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) out.push(`${name}${labels} ${Number.isFinite(value) ? value : 0}`);
}

/** Renders the whole exposition; pure, so tests can check it without a broker. */
export function renderMetrics(o: EngineOverview, extra: MetricsExtra): string {
  const out: string[] = [];
  const perQueue = (pick: (q: EngineOverview['queues'][number]) => number): Sample[] =>
    o.queues.map((q) => [`{vhost="${escapeLabel(q.vhost)}",queue="${escapeLabel(q.name)}"}`, pick(q)]);

  family(out, 'celeriac_queue_messages', 'gauge', 'Messages in the queue: ready + unacked + delayed.', perQueue((q) => q.messages));
  family(out, 'celeriac_queue_messages_ready', 'gauge', 'Messages ready for delivery.', perQueue((q) => q.ready));
  family(out, 'celeriac_queue_messages_unacked', 'gauge', 'Messages delivered and not yet acked.', perQueue((q) => q.unacked));
  family(out, 'celeriac_queue_messages_delayed', 'gauge', 'Messages held until their delay is over.', perQueue((q) => q.delayed));
  family(out, 'celeriac_queue_messages_paged', 'gauge', 'Messages on disk only, read back when their turn comes (deep lanes, later-due delayed ones).', perQueue((q) => q.paged));
  family(out, 'celeriac_queue_consumers', 'gauge', 'Consumers subscribed to the queue.', perQueue((q) => q.consumers));

  family(out, 'celeriac_messages_published_total', 'counter', 'Messages published since start.', [['', o.totals.published]]);
  family(out, 'celeriac_messages_delivered_total', 'counter', 'Deliveries made since start (redeliveries included).', [['', o.totals.delivered]]);
  family(out, 'celeriac_messages_acked_total', 'counter', 'Deliveries acked since start.', [['', o.totals.acked]]);
  family(out, 'celeriac_messages_dead_lettered_total', 'counter', 'Messages dead-lettered since start.', [['', o.totals.deadLettered]]);
  family(out, 'celeriac_messages_dead_letter_cycle_dropped_total', 'counter', 'Dead-lettered copies dropped since start: they would have cycled with no reject between.', [['', o.totals.deadLetterCyclesDropped]]);
  family(out, 'celeriac_messages_paged_out_total', 'counter', 'Persisted messages kept on disk only instead of in memory since start.', [['', o.totals.pagedOut]]);
  family(out, 'celeriac_messages_paged_in_total', 'counter', 'Messages read back from disk into memory since start.', [['', o.totals.pagedIn]]);
  family(out, 'celeriac_messages', 'gauge', 'Messages held by the broker in all queues.', [['', o.totals.messages]]);

  family(out, 'celeriac_queues', 'gauge', 'Queues in all virtual hosts.', [['', o.queues.length]]);
  family(out, 'celeriac_exchanges', 'gauge', 'Exchanges in all virtual hosts.', [['', o.exchanges.length]]);
  family(out, 'celeriac_connections', 'gauge', 'Open WebSocket connections.', [['', extra.connections]]);
  family(out, 'celeriac_login_failures_total', 'counter', 'Logins refused for a wrong user name or password.', [['', extra.peers.loginFailures]]);
  family(out, 'celeriac_logins_delayed_total', 'counter', 'Logins delayed because their address had failed logins recently.', [['', extra.peers.loginsDelayed]]);
  family(out, 'celeriac_logins_refused_total', 'counter', 'Logins refused unchecked: too many from their address were waiting after failures.', [['', extra.peers.loginsRefused]]);
  family(out, 'celeriac_connections_refused_total', 'counter', 'TCP connections refused over the total or per-address cap.', [['', extra.peers.connectionsRefused]]);
  family(out, 'celeriac_handshake_timeouts_total', 'counter', 'TCP connections closed for sending no request headers within the handshake timeout.', [['', extra.peers.handshakeTimeouts]]);
  family(out, 'celeriac_publishing_blocked', 'gauge', '1 while publishers are blocked by a memory or store limit.', [['', o.blocked ? 1 : 0]]);
  family(out, 'celeriac_memory_held_bytes', 'gauge', 'Bytes of messages and send buffers the broker holds in memory (what the memory watermark limits).', [['', o.heldBytes]]);
  family(out, 'celeriac_store_bytes', 'gauge', 'Bytes of the SQLite file and its WAL (0 in memory).', [['', extra.storeBytes]]);
  family(out, 'celeriac_uptime_seconds', 'gauge', 'Seconds since the broker started.', [['', extra.uptimeSeconds]]);
  family(out, 'process_resident_memory_bytes', 'gauge', 'Resident memory of the broker process.', [['', extra.rssBytes]]);
  family(out, 'process_start_time_seconds', 'gauge', 'Start time of the broker since the Unix epoch.', [['', extra.startTimeSeconds]]);
  return out.join('\n') + '\n';
}

/** Registers GET /metrics: monitoring users, or anyone with --metrics-open. */
export function registerMetricsRoute(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/metrics', {
    schema: {
      tags: ['broker'],
      summary: 'Prometheus text exposition format',
      ...(deps.metricsOpen ? { security: [] } : {}),
      response: { 200: { description: 'the exposition', content: { [METRICS_CONTENT_TYPE]: { schema: { type: 'string' } } } } },
    },
    config: { auth: deps.metricsOpen ? 'none' : 'required' },
  }, async (_req, reply) => {
    const text = renderMetrics(deps.engine.overview(), {
      storeBytes: deps.store.sizeBytes(),
      rssBytes: process.memoryUsage.rss(),
      connections: deps.connections(),
      uptimeSeconds: uptimeSeconds(deps),
      startTimeSeconds: deps.startedAt / 1000,
      peers: deps.peers(),
    });
    return reply.type(METRICS_CONTENT_TYPE).send(text);
  });
}
