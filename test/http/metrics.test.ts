// GET /metrics: valid Prometheus text through prom-client (every sample under its HELP and TYPE,
// labels escaped) with the per-queue gauges, the broker-wide counters a dashboard or alert reads,
// the store's files apart, the process's own metrics, and one registry per broker.
import t, { type Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Connection } from '../../client/index.js';
import { BrokerMetrics, type MetricsSnapshot } from '../../server/http/metrics.js';
import { RUNTIME_BUCKETS, type TaskSeries } from '../../server/engine/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { parseExposition, scrape } from '../helpers/prometheus.js';

const WAIT_MS = 10_000;

async function metrics(httpUrl: string): Promise<{ type: string; text: string }> {
  return scrape({ httpUrl }, WAIT_MS);
}

function parse(t: Test, text: string): Map<string, number> {
  return parseExposition(t, text).samples;
}

async function client(t: Test, url: string): Promise<Connection> {
  const conn = await connect(url, { reconnect: false });
  t.teardown(() => conn.close());
  return conn;
}

t.test('per-queue gauges and broker-wide counters from a live broker', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await client(t, broker.url);
  const name = `metrics-${randomUUID().slice(0, 8)}`;
  await conn.assertQueue(name);
  for (let i = 0; i < 4; i++) await conn.sendToQueue(name, `m${i}`);
  await conn.consume(name, () => undefined, { prefetch: 1 });

  const labels = `{vhost="/",queue="${name}"}`;
  const deadline = Date.now() + WAIT_MS;
  let samples: Map<string, number>;
  for (;;) {
    const { type, text } = await metrics(broker.httpUrl);
    t.equal(type, 'text/plain; version=0.0.4; charset=utf-8', 'the Prometheus content type');
    samples = parse(t, text);
    if (samples.get(`celeriac_queue_messages_unacked${labels}`) === 1) break;
    if (Date.now() > deadline) { t.fail('the delivery never showed as unacked'); break; }
    await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(samples.get(`celeriac_queue_messages${labels}`), 4);
  t.equal(samples.get(`celeriac_queue_messages_ready${labels}`), 3);
  t.equal(samples.get(`celeriac_queue_messages_unacked${labels}`), 1);
  t.equal(samples.get(`celeriac_queue_messages_delayed${labels}`), 0);
  t.equal(samples.get(`celeriac_queue_consumers${labels}`), 1);
  t.equal(samples.get('celeriac_messages_published_total'), 4);
  t.ok(samples.get('celeriac_messages_delivered_total')! >= 1);
  t.equal(samples.get('celeriac_connections'), 1);
  t.equal(samples.get('celeriac_publishing_blocked'), 0);
  t.equal(samples.get('celeriac_store_bytes'), 0, 'in memory: no file');
  t.equal(samples.get('celeriac_store_db_bytes'), 0);
  t.equal(samples.get('celeriac_store_wal_bytes'), 0);
  t.ok(samples.get('process_resident_memory_bytes')! > 1024 * 1024, 'RSS in bytes (prom-client\'s process metrics)');
  t.ok(samples.get('nodejs_heap_size_used_bytes')! > 0, 'heap in use');
  t.ok(samples.has('nodejs_eventloop_lag_seconds'), 'event loop lag');
  t.ok(samples.get('process_start_time_seconds')! > 1_600_000_000, 'process start, seconds since the epoch');
  t.ok(samples.get('celeriac_uptime_seconds')! >= 0);
  t.equal(samples.get('celeriac_publishing_blocked_seconds_total'), 0, 'never blocked');
  t.equal(samples.get('celeriac_events_stored_total'), 0);
  t.equal(samples.get('celeriac_events_pruned_total'), 0);
});

t.test('two brokers in one process keep their metrics apart', async (t) => {
  const [a, b] = await Promise.all([startTestBroker(t), startTestBroker(t)]);
  const conn = await client(t, a.url);
  const name = `apart-${randomUUID().slice(0, 8)}`;
  await conn.assertQueue(name);
  await conn.sendToQueue(name, 'x');
  await conn.finish({ result: { taskId: randomUUID(), state: 'SUCCESS', task: 'tasks.apart', runtime: 0.002 } });
  const sa = parse(t, (await metrics(a.httpUrl)).text);
  const sb = parse(t, (await metrics(b.httpUrl)).text);
  const queue = `{vhost="/",queue="${name}"}`;
  t.equal(sa.get(`celeriac_queue_messages${queue}`), 1);
  t.notOk(sb.has(`celeriac_queue_messages${queue}`), 'the other broker has no such queue');
  t.equal(sa.get('celeriac_messages_published_total'), 1);
  t.equal(sb.get('celeriac_messages_published_total'), 0);
  t.equal(sa.get('celeriac_tasks_total{vhost="/",task="tasks.apart",outcome="succeeded"}'), 1);
  t.notOk([...sb.keys()].some((k) => k.startsWith('celeriac_tasks_total')), 'no task series on the other');
  t.ok(sb.get('process_resident_memory_bytes')! > 0, 'both show the process metrics');
});

t.test('a broker on a file: the database file and its WAL apart, summing to celeriac_store_bytes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-metrics-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const broker = await startTestBroker(t, { dataFile: join(dir, 'broker.db') });
  const conn = await client(t, broker.url);
  const name = `file-${randomUUID().slice(0, 8)}`;
  await conn.assertQueue(name, { durable: true });
  await conn.sendToQueue(name, new Uint8Array(32 * 1024), { persistent: true });
  const s = parse(t, (await metrics(broker.httpUrl)).text);
  const db = s.get('celeriac_store_db_bytes')!;
  const wal = s.get('celeriac_store_wal_bytes')!;
  t.ok(db > 0, `database file ${db} B`);
  t.ok(wal >= 32 * 1024, `the confirmed message is in the WAL: ${wal} B`);
  t.equal(s.get('celeriac_store_bytes'), db + wal);
});

t.test('label values are escaped; families render from a snapshot', async (t) => {
  const series: TaskSeries = {
    vhost: 'v"1', task: 'tasks.we\\ird\nname', outcomes: { succeeded: 3, failed: 2, retried: 1, revoked: 4 },
    buckets: RUNTIME_BUCKETS.map((_, i) => (i === 0 ? 2 : i === 9 ? 1 : 0)).concat([1]), runtimeSum: 700.0015, runtimeCount: 4,
  };
  const snapshot: MetricsSnapshot = {
    overview: {
      queues: [{ vhost: 'v"1', name: 'we\\ird\nname', durable: true, exclusive: false, autoDelete: false, messages: 7, ready: 5, unacked: 1, delayed: 1, paged: 3, consumers: 2, options: {}, counters: { published: 9, delivered: 3, acked: 2 } }],
      exchanges: [],
      connections: [],
      totals: { published: 10, delivered: 9, acked: 8, deadLettered: 1, deadLetterCyclesDropped: 2, pagedOut: 12, pagedIn: 4, messages: 7 },
      heldBytes: 2048,
      blocked: true,
    },
    tasks: [series],
    events: { stored: 11, pruned: 5 },
    blockedSeconds: 2.5,
    storeFiles: { db: 4096, wal: 1024, events: 2048 },
    connections: 3,
    uptimeSeconds: 1.5,
    peers: { loginFailures: 5, loginsDelayed: 4, loginsRefused: 3, connectionsRefused: 2, handshakeTimeouts: 1 },
  };
  const metrics = new BrokerMetrics();
  const { samples, types } = parseExposition(t, await metrics.render(snapshot));
  const q = '{vhost="v\\"1",queue="we\\\\ird\\nname"}';
  t.equal(samples.get(`celeriac_queue_messages${q}`), 7);
  t.equal(samples.get(`celeriac_queue_consumers${q}`), 2);
  t.equal(samples.get(`celeriac_queue_messages_paged${q}`), 3);
  t.equal(samples.get('celeriac_messages_dead_lettered_total'), 1);
  t.equal(samples.get('celeriac_messages_dead_letter_cycle_dropped_total'), 2);
  t.equal(samples.get('celeriac_messages_acked_total'), 8);
  t.equal(samples.get('celeriac_publishing_blocked'), 1);
  t.equal(samples.get('celeriac_publishing_blocked_seconds_total'), 2.5);
  t.equal(samples.get('celeriac_messages_paged_out_total'), 12);
  t.equal(samples.get('celeriac_messages_paged_in_total'), 4);
  t.equal(samples.get('celeriac_memory_held_bytes'), 2048);
  t.equal(samples.get('celeriac_store_bytes'), 7168, 'the file, its WAL and the event segments');
  t.equal(samples.get('celeriac_store_db_bytes'), 4096);
  t.equal(samples.get('celeriac_store_wal_bytes'), 1024);
  t.equal(samples.get('celeriac_store_events_bytes'), 2048);
  t.equal(samples.get('celeriac_events_stored_total'), 11);
  t.equal(samples.get('celeriac_events_pruned_total'), 5);
  t.equal(samples.get('celeriac_connections'), 3);
  t.equal(samples.get('celeriac_login_failures_total'), 5);
  t.equal(samples.get('celeriac_logins_delayed_total'), 4);
  t.equal(samples.get('celeriac_logins_refused_total'), 3);
  t.equal(samples.get('celeriac_connections_refused_total'), 2);
  t.equal(samples.get('celeriac_handshake_timeouts_total'), 1);

  const task = 'vhost="v\\"1",task="tasks.we\\\\ird\\nname"';
  t.equal(samples.get(`celeriac_tasks_total{${task},outcome="succeeded"}`), 3);
  t.equal(samples.get(`celeriac_tasks_total{${task},outcome="failed"}`), 2);
  t.equal(samples.get(`celeriac_tasks_total{${task},outcome="retried"}`), 1);
  t.equal(samples.get(`celeriac_tasks_total{${task},outcome="revoked"}`), 4);
  t.equal(types.get('celeriac_task_runtime_seconds'), 'histogram');
  t.equal(samples.get(`celeriac_task_runtime_seconds_bucket{${task},le="0.001"}`), 2, 'buckets are cumulative');
  t.equal(samples.get(`celeriac_task_runtime_seconds_bucket{${task},le="0.5"}`), 2);
  t.equal(samples.get(`celeriac_task_runtime_seconds_bucket{${task},le="1"}`), 3);
  t.equal(samples.get(`celeriac_task_runtime_seconds_bucket{${task},le="600"}`), 3);
  t.equal(samples.get(`celeriac_task_runtime_seconds_bucket{${task},le="+Inf"}`), 4, 'the run over the last bound');
  t.equal(samples.get(`celeriac_task_runtime_seconds_sum{${task}}`), 700.0015);
  t.equal(samples.get(`celeriac_task_runtime_seconds_count{${task}}`), 4);

  // A second render shows the new snapshot, not the sum of both (counters are set, not added to).
  const again = parseExposition(t, await metrics.render({ ...snapshot, tasks: [], events: { stored: 12, pruned: 5 } })).samples;
  t.equal(again.get('celeriac_events_stored_total'), 12);
  t.notOk([...again.keys()].some((k) => k.startsWith('celeriac_task')), 'no task series left over');
});
