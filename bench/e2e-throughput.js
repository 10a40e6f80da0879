// End-to-end throughput: N messages of 200 bytes, a publisher with confirms (a window of
// unconfirmed publishes) and a consumer with prefetch and manual acks, on two connections.
//
// msgs/s = N / (first publish → last ack). celeriac's broker runs as a child process
// (broker-server, fresh data file per variant); RabbitMQ through amqplib when installed.
// Run alone: node bench/e2e-throughput.js [--quick] [--count N] [--window N] [--repeat N] [--only celeriac|rabbitmq]
import { openAdapter, publishWindowed } from './adapters.js';
import {
  RABBIT_SKIPPED, deferred, fmt, isMain, makeBody, mb, now, parseArgs, peakRss, ratio,
  settle, startBrokerProcess, startRabbit, table, uniqueName, withBroker, withTimeout, celeriacBuilt,
} from './harness.js';

/** Counts used by default and by --quick. */
export const E2E_DEFAULTS = { count: 100_000, quickCount: 20_000, window: 2_000, bodySize: 200 };

/** The workloads; `compare` pairs a celeriac row with the RabbitMQ row it is held against. */
export const CELERIAC_VARIANTS = [
  { id: 'durable-full', label: 'durable queue, persistent, durability full', durability: 'full', durable: true, persistent: true, prefetch: 100, compare: 'durable' },
  { id: 'durable-process', label: 'durable queue, persistent, durability process', durability: 'process', durable: true, persistent: true, prefetch: 100, compare: 'durable' },
  { id: 'transient', label: 'transient queue, non-persistent', durability: 'full', durable: false, persistent: false, prefetch: 100, compare: 'transient' },
  { id: 'prefetch1', label: 'durable, persistent, full, prefetch 1', durability: 'full', durable: true, persistent: true, prefetch: 1, compare: 'prefetch1' },
];
export const RABBIT_VARIANTS = [
  { id: 'durable', label: 'durable queue, persistent (confirm channel)', durable: true, persistent: true, prefetch: 100 },
  { id: 'transient', label: 'transient queue, non-persistent', durable: false, persistent: false, prefetch: 100 },
  { id: 'prefetch1', label: 'durable, persistent, prefetch 1', durable: true, persistent: true, prefetch: 1 },
];

/**
 * Runs one workload against the broker at `url`: declares a fresh queue, subscribes, publishes
 * `count` messages keeping `window` unconfirmed, and waits for the last ack.
 * Returns { count, seconds, rate (end-to-end msgs/s), publishRate (msgs/s until last confirm) }.
 */
export async function runWorkload(kind, url, { count, window, durable, persistent, prefetch, bodySize = 200 }) {
  const queue = uniqueName('bench-e2e');
  const publisher = await openAdapter(kind, url);
  const consumer = await openAdapter(kind, url);
  try {
    await publisher.declare(queue, { durable });
    let acked = 0;
    const allAcked = deferred();
    await consumer.consume(queue, { prefetch }, (_body, ack) => {
      ack();
      if (++acked === count) allAcked.resolve(now());
    });
    const body = makeBody(bodySize);
    const t0 = now();
    const published = publishWindowed(publisher, queue, { count, window, persistent, bodyFor: () => body }).then(() => now());
    const limitMs = Math.max(120_000, count * 5);
    const [tConfirmed, tAcked] = await withTimeout(Promise.all([published, allAcked.promise]), limitMs, `${kind} e2e ${count} msgs`);
    return {
      count,
      seconds: (tAcked - t0) / 1000,
      rate: count / ((tAcked - t0) / 1000),
      publishRate: count / ((tConfirmed - t0) / 1000),
    };
  } finally {
    await withTimeout(publisher.remove(queue), 30_000, 'delete queue').catch(() => {});
    await Promise.allSettled([publisher.close(), consumer.close()]);
  }
}

/** A short unreported run so both clients' code paths are warm before the measured ones. */
async function warmUp(kind, url, window) {
  await runWorkload(kind, url, { count: 5_000, window, durable: true, persistent: true, prefetch: 100 });
}

/**
 * Runs every variant. `rabbit` is a started RabbitMQ ({ url }) or undefined to skip it.
 * Returns { celeriac: {id → result}, rabbitmq: {id → result} | undefined }.
 */
export async function run({ count, window = E2E_DEFAULTS.window, repeat = 1, rabbit, only, log = console.log } = {}) {
  const results = { count, window, repeat, celeriac: undefined, rabbitmq: undefined };
  // Best of `repeat` runs on each side: RabbitMQ's durable figure moves a lot run to run,
  // and a ratio against its unlucky run would flatter celeriac.
  const best = async (fn) => {
    let top;
    for (let i = 0; i < repeat; i++) {
      await settle();
      const r = await fn();
      if (!top || r.rate > top.rate) top = r;
    }
    return top;
  };
  if (only !== 'rabbitmq') {
    if (!celeriacBuilt()) log('celeriac: not built (npm run build), skipped');
    else {
      results.celeriac = {};
      for (const v of CELERIAC_VARIANTS) {
        // A fresh broker per variant: one durability mode each, and its own peak RSS.
        await withBroker(() => startBrokerProcess({ durability: v.durability }), async (broker) => {
          await warmUp('celeriac', broker.url, window);
          const r = await best(() => runWorkload('celeriac', broker.url, { count, window, ...v }));
          r.peakRss = peakRss(broker.pid).peak;
          results.celeriac[v.id] = r;
          log(`celeriac  ${v.id.padEnd(16)} ${fmt(r.rate).padStart(8)} msgs/s end-to-end (${fmt(r.seconds, 2)} s)`);
        });
      }
    }
  }
  if (only !== 'celeriac') {
    if (!rabbit) log(RABBIT_SKIPPED);
    else {
      results.rabbitmq = {};
      await warmUp('rabbitmq', rabbit.url, window);
      for (const v of RABBIT_VARIANTS) {
        const r = await best(() => runWorkload('rabbitmq', rabbit.url, { count, window, ...v }));
        results.rabbitmq[v.id] = r;
        log(`rabbitmq  ${v.id.padEnd(16)} ${fmt(r.rate).padStart(8)} msgs/s end-to-end (${fmt(r.seconds, 2)} s)`);
      }
    }
  }
  return results;
}

/** The results as a table: one row per variant, with the ratio against RabbitMQ's pair. */
export function formatResults(results) {
  const rows = [];
  for (const v of CELERIAC_VARIANTS) {
    const r = results.celeriac?.[v.id];
    const peer = results.rabbitmq?.[v.compare];
    rows.push([`celeriac ${v.label}`, fmt(r?.rate), fmt(r?.publishRate), mb(r?.peakRss), ratio(r?.rate, peer?.rate)]);
  }
  for (const v of RABBIT_VARIANTS) {
    const r = results.rabbitmq?.[v.id];
    rows.push([`rabbitmq ${v.label}`, fmt(r?.rate), fmt(r?.publishRate), '-', '']);
  }
  return `End-to-end throughput: ${fmt(results.count)} msgs of 200 B, confirm window ${fmt(results.window)}, manual acks, best of ${results.repeat}\n` +
    table(['workload', 'e2e msgs/s', 'confirmed msgs/s', 'broker peak RSS', 'vs rabbitmq'], rows);
}

if (isMain(import.meta.url)) {
  const opts = parseArgs();
  const count = opts.count ?? (opts.quick ? E2E_DEFAULTS.quickCount : E2E_DEFAULTS.count);
  const startR = () => (opts.only === 'celeriac' ? undefined : startRabbit());
  const repeat = opts.repeat ?? (opts.quick ? 1 : 2);
  const results = await withBroker(startR, (rabbit) => run({ count, window: opts.window, repeat, rabbit, only: opts.only }));
  console.log();
  console.log(opts.json ? JSON.stringify(results, null, 2) : formatResults(results));
}
