// Publish → deliver latency at low load: one message at a time (at most ~1,000 msgs/s), each
// carrying its send time, to a durable queue as persistent messages; p50/p99/max reported.
//
// The send time is performance.now() in the body; publisher and consumer share this process,
// so the clock is the same. Also reported: publish → confirm (the durable commit's latency).
// Sides: celeriac's WebSocket client, amqplib on broker-server's AMQP port ('celeriac-amqp'),
// amqplib on RabbitMQ.
// Run alone: node bench/latency.js [--quick] [--count N] [--only celeriac|celeriac-amqp|rabbitmq[,...]]
import { openAdapter } from './adapters.js';
import {
  RABBIT_SKIPPED, celeriacBuilt, deferred, fmt, isMain, now, parseArgs, percentile, ratio,
  printResults, settle, sleep, startBrokerProcess, startRabbit, table, uniqueName, wants, withBroker, withTimeout,
} from './harness.js';

/** Counts used by default and by --quick; the first `warmup` messages are not reported. */
export const LATENCY_DEFAULTS = { count: 2_000, quickCount: 500, warmup: 200, rateHz: 1_000, bodySize: 200 };

const asBuffer = (b) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * Sends `warmup + count` messages one at a time: each waits for its delivery and its confirm,
 * then for the rest of its 1/rateHz slot. Returns the deliver and confirm latencies (ms)
 * of the last `count` with their percentiles, and the achieved rate.
 */
export async function runLatency(kind, url, { count, warmup = LATENCY_DEFAULTS.warmup, rateHz = LATENCY_DEFAULTS.rateHz, bodySize = 200 }) {
  const queue = uniqueName('bench-latency');
  const publisher = await openAdapter(kind, url);
  const consumer = await openAdapter(kind, url);
  try {
    await publisher.declare(queue, { durable: true });
    let delivered;
    let lastDeliverMs = 0;
    await consumer.consume(queue, { prefetch: 100 }, (body, ack) => {
      const t = now();
      lastDeliverMs = t - asBuffer(body).readDoubleLE(0);
      ack();
      delivered?.resolve();
    });
    const deliver = [], confirm = [];
    const slotMs = 1000 / rateHz;
    const tStart = now();
    for (let i = 0; i < warmup + count; i++) {
      delivered = deferred();
      const body = Buffer.alloc(bodySize);
      const t = now();
      body.writeDoubleLE(t, 0);
      const confirmed = publisher.publish(queue, body, { persistent: true }).then(() => now() - t);
      const [confirmMs] = await withTimeout(Promise.all([confirmed, delivered.promise]), 10_000, `${kind} latency message ${i}`);
      if (i >= warmup) { deliver.push(lastDeliverMs); confirm.push(confirmMs); }
      // Slots on an absolute schedule: a late message is followed at once, so the rate
      // stays near rateHz although a timer never fires in under a millisecond.
      const rest = tStart + (i + 1) * slotMs - now();
      if (rest > 0) await sleep(rest);
    }
    const seconds = (now() - tStart) / 1000;
    const stats = (xs) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), max: Math.max(...xs) });
    return { count, rate: (warmup + count) / seconds, deliver: stats(deliver), confirm: stats(confirm) };
  } finally {
    await withTimeout(publisher.remove(queue), 30_000, 'delete queue').catch(() => {});
    await Promise.allSettled([publisher.close(), consumer.close()]);
  }
}

/** Runs celeriac (durability full, then process; a fresh broker child each), the AMQP front-end (durability full) and RabbitMQ (when given). */
export async function run({ count, rabbit, only, log = console.log } = {}) {
  const results = { count, celeriac: undefined, celeriacProcess: undefined, 'celeriac-amqp': undefined, rabbitmq: undefined };
  const line = (name, r) => log(`${name} p50 ${fmt(r.deliver.p50, 3)} ms, p99 ${fmt(r.deliver.p99, 3)} ms`);
  const wantCeleriac = wants(only, 'celeriac'), wantAmqp = wants(only, 'celeriac-amqp');
  if ((wantCeleriac || wantAmqp) && !celeriacBuilt()) log('celeriac: not built (npm run build), skipped');
  else {
    if (wantCeleriac) {
      results.celeriac = await withBroker(() => startBrokerProcess({ durability: 'full' }), async (b) => { await settle(); return runLatency('celeriac', b.url, { count }); });
      line('celeriac  latency', results.celeriac);
      // Not a target; shown so the cost of the fsync in `full` can be told from the rest.
      results.celeriacProcess = await withBroker(() => startBrokerProcess({ durability: 'process' }), async (b) => { await settle(); return runLatency('celeriac', b.url, { count }); });
      line('celeriac  latency (durability process)', results.celeriacProcess);
    }
    if (wantAmqp) {
      results['celeriac-amqp'] = await withBroker(() => startBrokerProcess({ durability: 'full', amqp: true }), async (b) => { await settle(); return runLatency('celeriac-amqp', b.amqpUrl, { count }); });
      line('celeriac-amqp latency', results['celeriac-amqp']);
    }
  }
  if (wants(only, 'rabbitmq')) {
    if (!rabbit) log(RABBIT_SKIPPED);
    else {
      await settle();
      results.rabbitmq = await runLatency('rabbitmq', rabbit.url, { count });
      line('rabbitmq  latency', results.rabbitmq);
    }
  }
  return results;
}

/** The results as a table (milliseconds). */
export function formatResults(results) {
  const row = (name, r, peer) => [
    name, fmt(r?.deliver.p50, 3), fmt(r?.deliver.p99, 3), fmt(r?.deliver.max, 3),
    fmt(r?.confirm.p50, 3), fmt(r?.confirm.p99, 3), fmt(r?.rate), peer ? ratio(peer.deliver.p99, r?.deliver.p99) : '',
  ];
  return `Publish → deliver latency: ${fmt(results.count)} msgs one at a time, durable queue, persistent (celeriac: durability full)\n` +
    table(['broker', 'deliver p50 ms', 'p99 ms', 'max ms', 'confirm p50 ms', 'p99 ms', 'msgs/s', 'p99 rabbitmq/celeriac'], [
      row('celeriac', results.celeriac, results.rabbitmq),
      row('celeriac, durability process', results.celeriacProcess, results.rabbitmq),
      row('celeriac-amqp (amqplib)', results['celeriac-amqp'], results.rabbitmq),
      row('rabbitmq (amqplib)', results.rabbitmq),
    ]);
}

/** Issue 12's latency row for the AMQP front-end: publish → deliver p99 not above RabbitMQ's. */
export function amqpTargetRows(results) {
  const a = results?.['celeriac-amqp'], r = results?.rabbitmq;
  return [['AMQP publish → deliver p99 ≤ RabbitMQ\'s',
    a && r ? `${fmt(a.deliver.p99, 3)} ms vs ${fmt(r.deliver.p99, 3)} ms (p50 ${fmt(a.deliver.p50, 3)} vs ${fmt(r.deliver.p50, 3)})` : '-',
    a && r ? (a.deliver.p99 <= r.deliver.p99 ? 'met' : 'NOT MET') : 'not measured']];
}

if (isMain(import.meta.url)) {
  const opts = parseArgs();
  const count = opts.count ?? (opts.quick ? LATENCY_DEFAULTS.quickCount : LATENCY_DEFAULTS.count);
  const startR = () => (wants(opts.only, 'rabbitmq') ? startRabbit() : undefined);
  const results = await withBroker(startR, (rabbit) => run({ count, rabbit, only: opts.only }));
  printResults(opts, results, formatResults, amqpTargetRows);
}
