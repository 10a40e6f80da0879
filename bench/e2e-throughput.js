// End-to-end throughput: N messages of 200 bytes, a publisher with confirms (a window of
// unconfirmed publishes) and a consumer with prefetch and manual acks, on two connections.
//
// msgs/s = N / (first publish → last ack). celeriac's broker runs as a child process
// (broker-server, fresh data file per variant) and is measured twice: through its WebSocket
// client ('celeriac') and through amqplib on its AMQP 0-9-1 port ('celeriac-amqp'); RabbitMQ
// through the same amqplib code when installed. The sides of a workload take turns, round after
// round, so a burst of load on the machine falls on all of them; best and median are reported.
// Run alone: node bench/e2e-throughput.js [--quick] [--count N] [--window N] [--repeat N] [--only celeriac|celeriac-amqp|rabbitmq[,...]]
import { openAdapter, publishWindowed } from './adapters.js';
import {
  RABBIT_SKIPPED, deferred, fmt, isMain, makeBody, mb, median, now, parseArgs, peakRss, ratio,
  printResults, settle, startBrokerProcess, startRabbit, table, uniqueName, wants, withBroker, withTimeout, celeriacBuilt,
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
/**
 * amqplib on broker-server's AMQP port: RabbitMQ's workloads, exactly, with the broker at its
 * default durability `full` (every commit fsynced before its confirm).
 */
export const AMQP_VARIANTS = [
  { id: 'durable', label: 'durable queue, persistent, durability full (confirm channel)', durability: 'full', durable: true, persistent: true, prefetch: 100 },
  { id: 'transient', label: 'transient queue, non-persistent', durability: 'full', durable: false, persistent: false, prefetch: 100 },
  { id: 'prefetch1', label: 'durable, persistent, full, prefetch 1', durability: 'full', durable: true, persistent: true, prefetch: 1 },
];
export const RABBIT_VARIANTS = [
  { id: 'durable', label: 'durable queue, persistent (confirm channel)', durable: true, persistent: true, prefetch: 100 },
  { id: 'transient', label: 'transient queue, non-persistent', durable: false, persistent: false, prefetch: 100 },
  { id: 'prefetch1', label: 'durable, persistent, prefetch 1', durable: true, persistent: true, prefetch: 1 },
];
/** The workload groups, each measured with every side's variants taking turns. */
const GROUPS = ['durable', 'transient', 'prefetch1'];
/** The AMQP front-end's targets (issue 12): at least this many times RabbitMQ's figure. */
export const AMQP_TARGETS = { durable: 2, transient: 1, prefetch1: 1 };

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

/** A short unreported run so the client's and the broker's code paths are warm before the measured ones. */
async function warmUp(kind, url, window) {
  await runWorkload(kind, url, { count: 5_000, window, durable: true, persistent: true, prefetch: 100 });
}

/**
 * Runs every variant. `rabbit` is a started RabbitMQ ({ url }) or undefined to skip it; `only`
 * picks sides (see wants()). Group by group (durable, transient, prefetch 1), a fresh
 * broker-server child per celeriac variant is started, each warmed up, then `repeat` rounds run
 * every side's variant of the group in turn (the order rotated each round).
 * Returns { celeriac, 'celeriac-amqp', rabbitmq }: each {id → best run + medianRate, rates, peakRss} or undefined.
 */
export async function run({ count, window = E2E_DEFAULTS.window, repeat = 1, rabbit, only, log = console.log } = {}) {
  const results = { count, window, repeat, celeriac: undefined, 'celeriac-amqp': undefined, rabbitmq: undefined };
  const wantCeleriac = wants(only, 'celeriac'), wantAmqp = wants(only, 'celeriac-amqp');
  if ((wantCeleriac || wantAmqp) && !celeriacBuilt()) log('celeriac: not built (npm run build), skipped');
  else {
    if (wantCeleriac) results.celeriac = {};
    if (wantAmqp) results['celeriac-amqp'] = {};
  }
  if (wants(only, 'rabbitmq')) {
    if (!rabbit) log(RABBIT_SKIPPED);
    else {
      results.rabbitmq = {};
      await warmUp('rabbitmq', rabbit.url, window);
    }
  }
  for (const group of GROUPS) {
    const entries = [];
    try {
      // A fresh broker per celeriac variant: one durability mode each, and its own peak RSS.
      for (const v of results.celeriac ? CELERIAC_VARIANTS.filter((x) => x.compare === group) : []) {
        const broker = await startBrokerProcess({ durability: v.durability });
        entries.push({ side: 'celeriac', v, url: broker.url, broker, runs: [] });
      }
      for (const v of results['celeriac-amqp'] ? AMQP_VARIANTS.filter((x) => x.id === group) : []) {
        const broker = await startBrokerProcess({ durability: v.durability, amqp: true });
        entries.push({ side: 'celeriac-amqp', v, url: broker.amqpUrl, broker, runs: [] });
      }
      for (const v of results.rabbitmq ? RABBIT_VARIANTS.filter((x) => x.id === group) : []) {
        entries.push({ side: 'rabbitmq', v, url: rabbit.url, runs: [] });
      }
      for (const e of entries) if (e.broker) await warmUp(e.side, e.url, window);
      // Turns, not one side's runs back to back: load from the rest of the machine comes and goes,
      // and a side measured only during a quiet (or busy) minute would skew the ratio.
      for (let round = 0; round < repeat; round++) {
        for (let k = 0; k < entries.length; k++) {
          const e = entries[(k + round) % entries.length];
          await settle();
          const r = await runWorkload(e.side, e.url, { count, window, ...e.v });
          e.runs.push(r);
          log(`${e.side.padEnd(13)} ${e.v.id.padEnd(16)} ${fmt(r.rate).padStart(8)} msgs/s end-to-end (${fmt(r.seconds, 2)} s)${repeat > 1 ? ` [${round + 1}/${repeat}]` : ''}`);
        }
      }
      for (const e of entries) {
        // Best of the runs on each side: RabbitMQ's durable figure moves a lot run to run, and a
        // ratio against its unlucky run would flatter celeriac. The median is shown beside it.
        const best = e.runs.reduce((top, r) => (r.rate > top.rate ? r : top));
        const r = { ...best, rates: e.runs.map((x) => x.rate), medianRate: median(e.runs.map((x) => x.rate)) };
        if (e.broker) r.peakRss = peakRss(e.broker.pid).peak;
        results[e.side][e.v.id] = r;
      }
    } finally {
      await Promise.allSettled(entries.filter((e) => e.broker).map((e) => e.broker.stop()));
    }
  }
  return results;
}

/** The results as a table: one row per variant, with the ratio against RabbitMQ's pair; then the AMQP comparison. */
export function formatResults(results) {
  const rows = [];
  const row = (name, r, peer) => [name, fmt(r?.rate), fmt(r?.medianRate), fmt(r?.publishRate), r?.peakRss ? mb(r.peakRss) : '-', peer === null ? '' : ratio(r?.rate, peer?.rate)];
  for (const v of CELERIAC_VARIANTS) rows.push(row(`celeriac ${v.label}`, results.celeriac?.[v.id], results.rabbitmq?.[v.compare]));
  for (const v of AMQP_VARIANTS) rows.push(row(`celeriac-amqp ${v.label}`, results['celeriac-amqp']?.[v.id], results.rabbitmq?.[v.id]));
  for (const v of RABBIT_VARIANTS) rows.push(row(`rabbitmq ${v.label}`, results.rabbitmq?.[v.id], null));
  const head = `End-to-end throughput: ${fmt(results.count)} msgs of 200 B, confirm window ${fmt(results.window)}, manual acks, best and median of ${results.repeat}\n` +
    table(['workload', 'e2e msgs/s', 'median', 'confirmed msgs/s', 'broker peak RSS', 'vs rabbitmq'], rows);
  if (!results['celeriac-amqp']) return head;
  return `${head}\n\n${formatAmqpComparison(results)}`;
}

/**
 * The AMQP front-end beside RabbitMQ (same amqplib code, same run), with the WebSocket client on
 * the same broker as a sanity check: one row per workload, e2e msgs/s best / median.
 */
export function formatAmqpComparison(results) {
  const cell = (r) => (r ? `${fmt(r.rate)} / ${fmt(r.medianRate)}` : '-');
  const ws = { durable: 'durable-full', transient: 'transient', prefetch1: 'prefetch1' };
  const rows = GROUPS.map((g) => {
    const a = results['celeriac-amqp']?.[g], r = results.rabbitmq?.[g];
    return [g === 'prefetch1' ? 'prefetch 1' : g, cell(results.celeriac?.[ws[g]]), cell(a), cell(r),
      `${ratio(a?.rate, r?.rate)} / ${ratio(a?.medianRate, r?.medianRate)}`, `≥ ${AMQP_TARGETS[g]}x`];
  });
  return 'AMQP front-end vs RabbitMQ, amqplib on both, e2e msgs/s best / median (celeriac = WebSocket client, same broker build)\n' +
    table(['workload', 'celeriac (ws)', 'celeriac-amqp', 'rabbitmq', 'amqp/rabbitmq best / median', 'target'], rows);
}

/** Issue 12's e2e targets for the AMQP front-end as [target, this run, verdict] rows (best of the runs, as the other targets). */
export function amqpTargetRows(results) {
  return GROUPS.map((g) => {
    const a = results?.['celeriac-amqp']?.[g], r = results?.rabbitmq?.[g];
    const name = `AMQP ${g === 'prefetch1' ? 'prefetch 1' : g} e2e ≥ ${AMQP_TARGETS[g] === 1 ? '' : `${AMQP_TARGETS[g]}× `}RabbitMQ`;
    const measured = a && r;
    return [name, measured ? `${fmt(a.rate / r.rate, 2)}x (${fmt(a.rate)} vs ${fmt(r.rate)}; median ${fmt(a.medianRate / r.medianRate, 2)}x)` : '-',
      verdict(measured ? a.rate >= AMQP_TARGETS[g] * r.rate : undefined)];
  });
}

/** 'met', 'NOT MET' or 'not measured' (undefined). */
export const verdict = (ok) => (ok === undefined ? 'not measured' : ok ? 'met' : 'NOT MET');

if (isMain(import.meta.url)) {
  const opts = parseArgs();
  const count = opts.count ?? (opts.quick ? E2E_DEFAULTS.quickCount : E2E_DEFAULTS.count);
  const startR = () => (wants(opts.only, 'rabbitmq') ? startRabbit() : undefined);
  const repeat = opts.repeat ?? (opts.quick ? 1 : 2);
  const results = await withBroker(startR, (rabbit) => run({ count, window: opts.window, repeat, rabbit, only: opts.only }));
  printResults(opts, results, formatResults, amqpTargetRows);
}
