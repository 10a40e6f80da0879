// GET /metrics: valid Prometheus text (every sample under its HELP and TYPE, labels escaped) with
// the per-queue gauges and the broker-wide counters a dashboard or alert reads.
import t, { type Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { connect, type Connection } from '../../client/index.js';
import { escapeLabel, renderMetrics } from '../../server/http/metrics.js';
import type { EngineOverview } from '../../server/engine/types.js';
import { startTestBroker } from '../helpers/broker.js';
import { GUEST } from '../helpers/http.js';

const WAIT_MS = 10_000;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|[+-]Inf))$/;

/** Checks the exposition format and returns the samples as `name{labels}` -> value. */
function parseExposition(t: Test, text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Map<string, string>();
  const helped = new Set<string>();
  t.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.split('\n').filter((l) => l !== '')) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$/.exec(line))) { helped.add(m[1]!); continue; }
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter)$/.exec(line))) {
      if (typed.has(m[1]!)) t.fail(`TYPE of ${m[1]} given twice`);
      typed.set(m[1]!, m[2]!);
      continue;
    }
    m = SAMPLE.exec(line);
    if (!m) { t.fail(`not a valid sample line: ${JSON.stringify(line)}`); continue; }
    if (!typed.has(m[1]!) || !helped.has(m[1]!)) t.fail(`${m[1]} has a sample before its HELP and TYPE`);
    if (typed.get(m[1]!) === 'counter' && !m[1]!.endsWith('_total')) t.fail(`counter ${m[1]} should end in _total`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

async function metrics(httpUrl: string): Promise<{ type: string; text: string }> {
  const res = await fetch(`${httpUrl}/metrics`, { headers: { authorization: GUEST }, signal: AbortSignal.timeout(WAIT_MS) });
  return { type: res.headers.get('content-type') ?? '', text: await res.text() };
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
    samples = parseExposition(t, text);
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
  t.ok(samples.get('process_resident_memory_bytes')! > 1024 * 1024, 'RSS in bytes');
  t.ok(samples.get('celeriac_uptime_seconds')! >= 0);
});

t.test('label values are escaped; counters and gauges render from an overview', async (t) => {
  t.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const overview: EngineOverview = {
    queues: [{ vhost: 'v"1', name: 'we\\ird\nname', durable: true, exclusive: false, autoDelete: false, messages: 7, ready: 5, unacked: 1, delayed: 1, paged: 3, consumers: 2, options: {}, counters: { published: 9, delivered: 3, acked: 2 } }],
    exchanges: [],
    connections: [],
    totals: { published: 10, delivered: 9, acked: 8, deadLettered: 1, deadLetterCyclesDropped: 2, pagedOut: 12, pagedIn: 4, messages: 7 },
    heldBytes: 2048,
    blocked: true,
  };
  const text = renderMetrics(overview, { storeBytes: 4096, rssBytes: 123, connections: 3, uptimeSeconds: 1.5, startTimeSeconds: 1700000000.25, peers: { loginFailures: 5, loginsDelayed: 4, loginsRefused: 3, connectionsRefused: 2, handshakeTimeouts: 1 } });
  const samples = parseExposition(t, text);
  t.equal(samples.get('celeriac_queue_messages{vhost="v\\"1",queue="we\\\\ird\\nname"}'), 7);
  t.equal(samples.get('celeriac_queue_consumers{vhost="v\\"1",queue="we\\\\ird\\nname"}'), 2);
  t.equal(samples.get('celeriac_messages_dead_lettered_total'), 1);
  t.equal(samples.get('celeriac_messages_dead_letter_cycle_dropped_total'), 2);
  t.equal(samples.get('celeriac_messages_acked_total'), 8);
  t.equal(samples.get('celeriac_publishing_blocked'), 1);
  t.equal(samples.get('celeriac_queue_messages_paged{vhost="v\\"1",queue="we\\\\ird\\nname"}'), 3);
  t.equal(samples.get('celeriac_messages_paged_out_total'), 12);
  t.equal(samples.get('celeriac_messages_paged_in_total'), 4);
  t.equal(samples.get('celeriac_memory_held_bytes'), 2048);
  t.equal(samples.get('celeriac_store_bytes'), 4096);
  t.equal(samples.get('celeriac_connections'), 3);
  t.equal(samples.get('process_start_time_seconds'), 1700000000.25);
  t.equal(samples.get('celeriac_login_failures_total'), 5);
  t.equal(samples.get('celeriac_logins_delayed_total'), 4);
  t.equal(samples.get('celeriac_logins_refused_total'), 3);
  t.equal(samples.get('celeriac_connections_refused_total'), 2);
  t.equal(samples.get('celeriac_handshake_timeouts_total'), 1);
});
