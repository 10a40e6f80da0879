// Deep queue: enqueue 1,000,000 messages of 200 bytes (durable queue, persistent, confirms,
// no consumer) and report the seconds it took and the broker's resident memory.
//
// celeriac's broker is a fresh child process, so its RSS (VmHWM = peak, VmRSS = at the end,
// from /proc) is the broker's alone; RabbitMQ's is the sum of its node's beam.smp processes.
// Three sides: celeriac's WebSocket client, amqplib on broker-server's AMQP port ('celeriac-amqp')
// and amqplib on RabbitMQ; each run gets a fresh broker (a fresh RabbitMQ node too), and with
// --repeat N the sides take turns N times (best and median seconds reported).
// Run alone: node bench/deep-queue.js [--quick] [--count N] [--window N] [--repeat N] [--only celeriac|celeriac-amqp|rabbitmq[,...]]
import { statSync } from 'node:fs';
import { openAdapter, publishWindowed } from './adapters.js';
import {
  RABBIT_SKIPPED, celeriacBuilt, fmt, isMain, makeBody, mb, median, now, parseArgs, peakRss, ratio,
  printResults, settle, startBrokerProcess, startRabbit, table, uniqueName, wants, withBroker, withTimeout,
} from './harness.js';

/** Counts used by default and by --quick. */
export const DEEP_DEFAULTS = { count: 1_000_000, quickCount: 100_000, window: 2_000, bodySize: 200 };

/**
 * Publishes `count` persistent messages to a fresh durable queue with no consumer, keeping
 * `window` unconfirmed. `memory()` reads the broker's { peak, current } RSS in bytes.
 * Returns { count, seconds, rate, rssBefore, peakRss, endRss }.
 */
export async function runDeep(kind, url, { count, window = DEEP_DEFAULTS.window, memory, bodySize = 200 }) {
  const queue = uniqueName('bench-deep');
  const publisher = await openAdapter(kind, url);
  try {
    await publisher.declare(queue, { durable: true });
    const rssBefore = memory().current;
    // Sampling as well as reading the high-water mark: RabbitMQ's figure is a sum over pids,
    // whose high-water marks need not have been reached at the same moment.
    let sampledPeak = 0;
    const tick = setInterval(() => { sampledPeak = Math.max(sampledPeak, memory().current ?? 0); }, 200);
    const body = makeBody(bodySize);
    const t0 = now();
    await withTimeout(
      publishWindowed(publisher, queue, { count, window, persistent: true, bodyFor: () => body }),
      Math.max(300_000, count * 1), `${kind} enqueue ${count} msgs`);
    const seconds = (now() - t0) / 1000;
    clearInterval(tick);
    const end = memory();
    return {
      count,
      seconds,
      rate: count / seconds,
      rssBefore,
      peakRss: Math.max(end.peak ?? 0, sampledPeak, end.current ?? 0),
      endRss: end.current,
    };
  } finally {
    // Deleting a queue of a million messages can take a while on either broker.
    await withTimeout(publisher.remove(queue), 180_000, 'delete deep queue').catch(() => {});
    await publisher.close().catch(() => {});
  }
}

const fileSize = (path) => { try { return statSync(path).size; } catch { return 0; } };

/** The sides in the order of a round's first turn. */
const SIDES = ['celeriac', 'celeriac-amqp', 'rabbitmq'];

/**
 * One run of `side` on a broker of its own: a fresh broker-server child (durability full; with its
 * AMQP listener for 'celeriac-amqp') or a fresh RabbitMQ node from `newRabbit()`.
 */
async function runSide(side, { count, window, newRabbit }) {
  if (side === 'rabbitmq') {
    return withBroker(newRabbit, async (rabbit) => {
      if (!rabbit) return undefined;
      await settle();
      return runDeep('rabbitmq', rabbit.url, { count, window, memory: () => rabbit.rss() });
    });
  }
  const amqp = side === 'celeriac-amqp';
  return withBroker(() => startBrokerProcess({ durability: 'full', amqp }), async (b) => {
    await settle();
    const r = await runDeep(side, amqp ? b.amqpUrl : b.url, { count, window, memory: () => peakRss(b.pid) });
    r.dataBytes = fileSize(b.dataFile) + fileSize(`${b.dataFile}-wal`);
    return r;
  });
}

/**
 * Runs the sides `only` asks for, `repeat` rounds, the order rotated each round. `newRabbit`
 * starts a fresh RabbitMQ node (or returns undefined when it is not installed), so every run's
 * RSS is its own. Returns { count, repeat, celeriac, 'celeriac-amqp', rabbitmq }: each the run
 * with the fewest seconds, plus medianSeconds, runs (seconds of each) and worstPeakRss; or undefined.
 */
export async function run({ count, window, repeat = 1, newRabbit = startRabbit, only, log = console.log } = {}) {
  const results = { count, repeat, celeriac: undefined, 'celeriac-amqp': undefined, rabbitmq: undefined };
  let sides = SIDES.filter((s) => wants(only, s));
  if (sides.some((s) => s !== 'rabbitmq') && !celeriacBuilt()) {
    log('celeriac: not built (npm run build), skipped');
    sides = sides.filter((s) => s === 'rabbitmq');
  }
  const runs = Object.fromEntries(sides.map((s) => [s, []]));
  for (let round = 0; round < repeat; round++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(k + round) % sides.length];
      const r = await runSide(side, { count, window, newRabbit });
      if (r === undefined) continue; // RabbitMQ not installed
      runs[side].push(r);
      log(`${side.padEnd(13)} enqueued ${fmt(count)} in ${fmt(r.seconds, 1)} s, peak RSS ${mb(r.peakRss)}${repeat > 1 ? ` [${round + 1}/${repeat}]` : ''}`);
    }
  }
  for (const side of sides) {
    const rs = runs[side];
    if (rs.length === 0) {
      log(RABBIT_SKIPPED);
      continue;
    }
    const best = rs.reduce((top, r) => (r.seconds < top.seconds ? r : top));
    results[side] = { ...best, runs: rs.map((r) => r.seconds), medianSeconds: median(rs.map((r) => r.seconds)), worstPeakRss: Math.max(...rs.map((r) => r.peakRss)) };
  }
  return results;
}

/** The results as a table. */
export function formatResults(results) {
  const c = results.celeriac, a = results['celeriac-amqp'], r = results.rabbitmq;
  const row = (name, x) => [name, fmt(x?.seconds, 1), fmt(x?.medianSeconds, 1), fmt(x?.rate), mb(x?.rssBefore), mb(x?.peakRss), mb(x?.endRss), x?.dataBytes ? mb(x.dataBytes) : '-'];
  const vs = (name, x) => (x && r ? `\n${name} vs rabbitmq: ${ratio(r.seconds, x.seconds)} faster (median ${ratio(r.medianSeconds, x.medianSeconds)}), ${ratio(r.peakRss, x.peakRss)} less peak RSS` : '');
  return `Deep queue: enqueue ${fmt(results.count)} msgs of 200 B, durable, persistent, confirms, no consumer, best and median of ${results.repeat ?? 1}\n` +
    table(['broker', 'seconds', 'median', 'msgs/s', 'RSS idle', 'RSS peak', 'RSS end', 'data file'],
      [row('celeriac', c), row('celeriac-amqp (amqplib)', a), row('rabbitmq (amqplib)', r)]) +
    vs('celeriac', c) + vs('celeriac-amqp', a);
}

/** Issue 12's backlog target for the AMQP front-end: [target, this run, verdict] rows. */
export function amqpTargetRows(results) {
  const a = results?.['celeriac-amqp'], r = results?.rabbitmq;
  const scaled = results?.count !== 1_000_000 ? ` (at ${fmt(results?.count)} msgs, not 1,000,000)` : '';
  const ok = a && r && !scaled ? a.seconds <= r.seconds : undefined;
  return [['AMQP 1M backlog build ≤ RabbitMQ\'s seconds',
    a && r ? `${fmt(a.seconds, 1)} s vs ${fmt(r.seconds, 1)} s (median ${fmt(a.medianSeconds, 1)} vs ${fmt(r.medianSeconds, 1)}), peak RSS ${mb(a.peakRss)} vs ${mb(r.peakRss)}${scaled}` : '-',
    ok === undefined ? 'not measured' : ok ? 'met' : 'NOT MET']];
}

if (isMain(import.meta.url)) {
  const opts = parseArgs();
  const count = opts.count ?? (opts.quick ? DEEP_DEFAULTS.quickCount : DEEP_DEFAULTS.count);
  const results = await run({ count, window: opts.window, repeat: opts.repeat ?? 1, only: opts.only });
  printResults(opts, results, formatResults, amqpTargetRows);
}
