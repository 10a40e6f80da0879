// GET /metrics in the Prometheus text exposition format (version 0.0.4), through prom-client: each
// broker has a Registry of its own, filled on a scrape from what the engine and the broker count.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import { RUNTIME_BUCKETS, type EngineOverview, type TaskSeries } from '../engine/index.js';
import type { StoreFileSizes } from '../store/index.js';
import { ExternalHistogram } from './external-histogram.js';
import type { HttpDeps, PeerCounts } from './http-deps.js';
import { uptimeSeconds } from './listings.js';
import { processRegistry } from './process-metrics.js';

/** Content type Prometheus expects for the text format. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** Everything one scrape shows, read at once so the families agree with each other. */
export interface MetricsSnapshot {
  overview: EngineOverview;
  tasks: readonly TaskSeries[];
  events: { stored: number; pruned: number };
  blockedSeconds: number;
  storeFiles: StoreFileSizes;
  connections: number;
  uptimeSeconds: number;
  peers: PeerCounts;
}

type Labels = Record<string, string>;
type Samples = number | Iterable<readonly [Labels, number]>;

/** One family fed from a snapshot: a single value, or labelled samples. */
interface Family {
  name: string;
  help: string;
  kind: 'gauge' | 'counter';
  labels?: readonly string[];
  read: (s: MetricsSnapshot) => Samples;
}

const QUEUE_LABELS = ['vhost', 'queue'] as const;

function perQueue(pick: (q: EngineOverview['queues'][number]) => number): (s: MetricsSnapshot) => Samples {
  return (s) => s.overview.queues.map((q) => [{ vhost: q.vhost, queue: q.name }, pick(q)] as const);
}

function* taskOutcomes(s: MetricsSnapshot): Iterable<readonly [Labels, number]> {
  for (const t of s.tasks) {
    for (const [outcome, n] of Object.entries(t.outcomes)) yield [{ vhost: t.vhost, task: t.task, outcome }, n];
  }
}

/** The families, in exposition order. Names and meanings of the first ones are what dashboards already read. */
const FAMILIES: readonly Family[] = [
  { name: 'celeriac_queue_messages', kind: 'gauge', labels: QUEUE_LABELS, help: 'Messages in the queue: ready + unacked + delayed.', read: perQueue((q) => q.messages) },
  { name: 'celeriac_queue_messages_ready', kind: 'gauge', labels: QUEUE_LABELS, help: 'Messages ready for delivery.', read: perQueue((q) => q.ready) },
  { name: 'celeriac_queue_messages_unacked', kind: 'gauge', labels: QUEUE_LABELS, help: 'Messages delivered and not yet acked.', read: perQueue((q) => q.unacked) },
  { name: 'celeriac_queue_messages_delayed', kind: 'gauge', labels: QUEUE_LABELS, help: 'Messages held until their delay is over.', read: perQueue((q) => q.delayed) },
  { name: 'celeriac_queue_messages_paged', kind: 'gauge', labels: QUEUE_LABELS, help: 'Messages on disk only, read back when their turn comes (deep lanes, later-due delayed ones).', read: perQueue((q) => q.paged) },
  { name: 'celeriac_queue_consumers', kind: 'gauge', labels: QUEUE_LABELS, help: 'Consumers subscribed to the queue.', read: perQueue((q) => q.consumers) },

  { name: 'celeriac_messages_published_total', kind: 'counter', help: 'Messages published since start.', read: (s) => s.overview.totals.published },
  { name: 'celeriac_messages_delivered_total', kind: 'counter', help: 'Deliveries made since start (redeliveries included).', read: (s) => s.overview.totals.delivered },
  { name: 'celeriac_messages_acked_total', kind: 'counter', help: 'Deliveries acked since start.', read: (s) => s.overview.totals.acked },
  { name: 'celeriac_messages_dead_lettered_total', kind: 'counter', help: 'Messages dead-lettered since start.', read: (s) => s.overview.totals.deadLettered },
  { name: 'celeriac_messages_dead_letter_cycle_dropped_total', kind: 'counter', help: 'Dead-lettered copies dropped since start: they would have cycled with no reject between.', read: (s) => s.overview.totals.deadLetterCyclesDropped },
  { name: 'celeriac_messages_paged_out_total', kind: 'counter', help: 'Persisted messages kept on disk only instead of in memory since start.', read: (s) => s.overview.totals.pagedOut },
  { name: 'celeriac_messages_paged_in_total', kind: 'counter', help: 'Messages read back from disk into memory since start.', read: (s) => s.overview.totals.pagedIn },
  { name: 'celeriac_messages', kind: 'gauge', help: 'Messages held by the broker in all queues.', read: (s) => s.overview.totals.messages },

  { name: 'celeriac_queues', kind: 'gauge', help: 'Queues in all virtual hosts.', read: (s) => s.overview.queues.length },
  { name: 'celeriac_exchanges', kind: 'gauge', help: 'Exchanges in all virtual hosts.', read: (s) => s.overview.exchanges.length },
  { name: 'celeriac_connections', kind: 'gauge', help: 'Open WebSocket connections.', read: (s) => s.connections },
  { name: 'celeriac_login_failures_total', kind: 'counter', help: 'Logins refused for a wrong user name or password.', read: (s) => s.peers.loginFailures },
  { name: 'celeriac_logins_delayed_total', kind: 'counter', help: 'Logins delayed because their address had failed logins recently.', read: (s) => s.peers.loginsDelayed },
  { name: 'celeriac_logins_refused_total', kind: 'counter', help: 'Logins refused unchecked: too many from their address were waiting after failures.', read: (s) => s.peers.loginsRefused },
  { name: 'celeriac_connections_refused_total', kind: 'counter', help: 'TCP connections refused over the total or per-address cap.', read: (s) => s.peers.connectionsRefused },
  { name: 'celeriac_handshake_timeouts_total', kind: 'counter', help: 'TCP connections closed for sending no request headers within the handshake timeout.', read: (s) => s.peers.handshakeTimeouts },
  { name: 'celeriac_publishing_blocked', kind: 'gauge', help: '1 while publishers are blocked by a memory or store limit.', read: (s) => (s.overview.blocked ? 1 : 0) },
  { name: 'celeriac_publishing_blocked_seconds_total', kind: 'counter', help: 'Seconds publishers have been blocked by a memory or store watermark since start (a block going on included).', read: (s) => s.blockedSeconds },
  { name: 'celeriac_memory_held_bytes', kind: 'gauge', help: 'Bytes of messages and send buffers the broker holds in memory (what the memory watermark limits).', read: (s) => s.overview.heldBytes },
  { name: 'celeriac_store_bytes', kind: 'gauge', help: 'Bytes of the SQLite file, its WAL and the event log\'s segment files (0 in memory).', read: (s) => s.storeFiles.db + s.storeFiles.wal + s.storeFiles.events },
  { name: 'celeriac_store_db_bytes', kind: 'gauge', help: 'Bytes of the SQLite database file (0 in memory).', read: (s) => s.storeFiles.db },
  { name: 'celeriac_store_wal_bytes', kind: 'gauge', help: 'Bytes of the SQLite write-ahead log, which grows between checkpoints (0 in memory).', read: (s) => s.storeFiles.wal },
  { name: 'celeriac_store_events_bytes', kind: 'gauge', help: 'Bytes of the event log\'s segment files beside the data file (0 in memory).', read: (s) => s.storeFiles.events },
  { name: 'celeriac_events_stored_total', kind: 'counter', help: 'Events (messages through celeriac.events) stored in the event log since start.', read: (s) => s.events.stored },
  { name: 'celeriac_events_pruned_total', kind: 'counter', help: 'Stored events deleted by retention (count or age bound) since start.', read: (s) => s.events.pruned },
  {
    name: 'celeriac_tasks_total', kind: 'counter', labels: ['vhost', 'task', 'outcome'],
    help: 'Task runs ended, by task name and outcome (succeeded, failed, retried, revoked), from the workers\' finishes and revoked messages dropped; names past the per-vhost cap count as task="other".',
    read: taskOutcomes,
  },
  { name: 'celeriac_uptime_seconds', kind: 'gauge', help: 'Seconds since the broker started.', read: (s) => s.uptimeSeconds },
];

const RUNTIME_HELP = 'Seconds task runs took, by task name, as the worker measured them (runs that succeeded, failed or retried).';

/**
 * The broker's metrics: one prom-client Registry per broker (never the global default one), so two
 * brokers in one process keep apart. The process's own metrics are appended from processRegistry().
 */
export class BrokerMetrics {
  readonly registry = new Registry();
  private readonly fed: { family: Family; metric: Gauge | Counter }[];
  private readonly runtime: ExternalHistogram;

  constructor() {
    const registers = [this.registry];
    this.fed = FAMILIES.map((family) => {
      const config = { name: family.name, help: family.help, labelNames: [...(family.labels ?? [])], registers };
      return { family, metric: family.kind === 'gauge' ? new Gauge(config) : new Counter(config) };
    });
    this.runtime = new ExternalHistogram('celeriac_task_runtime_seconds', RUNTIME_HELP, RUNTIME_BUCKETS, this.registry);
  }

  /**
   * The exposition of `snapshot`. The values are set and read in one synchronous stretch (prom-client
   * reads every metric before its first await), so scrapes at once cannot mix their snapshots.
   */
  render(snapshot: MetricsSnapshot): Promise<string> {
    for (const { family, metric } of this.fed) {
      metric.reset();
      const samples = family.read(snapshot);
      // Counters hold totals kept elsewhere: after the reset, inc() sets them.
      const put = metric instanceof Gauge ? (l: Labels, v: number) => metric.set(l, v) : (l: Labels, v: number) => metric.inc(l, v);
      if (typeof samples === 'number') put({}, finite(samples));
      else for (const [labels, v] of samples) put(labels, finite(v));
    }
    this.runtime.set(snapshot.tasks.filter((t) => t.runtimeCount > 0).map((t) => ({
      labels: { vhost: t.vhost, task: t.task }, buckets: t.buckets, sum: t.runtimeSum, count: t.runtimeCount,
    })));
    const own = this.registry.metrics();
    const process = processRegistry().metrics();
    return Promise.all([own, process]).then(([a, b]) => `${a}\n${b}`);
  }
}

function finite(v: number): number {
  return Number.isFinite(v) ? v : 0;
}

/** Registers GET /metrics: monitoring users, or anyone with --metrics-open. */
export function registerMetricsRoute(app: FastifyInstance, deps: HttpDeps): void {
  const metrics = new BrokerMetrics();
  app.get('/metrics', {
    schema: {
      tags: ['broker'],
      summary: 'Prometheus text exposition format',
      ...(deps.metricsOpen ? { security: [] } : {}),
      response: { 200: { description: 'the exposition', content: { [METRICS_CONTENT_TYPE]: { schema: { type: 'string' } } } } },
    },
    config: { auth: deps.metricsOpen ? 'none' : 'required' },
  }, async (_req, reply) => {
    const m = deps.engine.metrics;
    const text = await metrics.render({
      overview: deps.engine.overview(),
      tasks: [...m.taskSeries()],
      events: m.events,
      blockedSeconds: m.blockedSeconds(),
      storeFiles: deps.store.fileSizes(),
      connections: deps.connections(),
      uptimeSeconds: uptimeSeconds(deps),
      peers: deps.peers(),
    });
    return reply.type(METRICS_CONTENT_TYPE).send(text);
  });
}
