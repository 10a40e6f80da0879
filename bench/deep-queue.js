// Deep queue: enqueue 1,000,000 messages of 200 bytes (durable queue, persistent, confirms,
// no consumer) and report the seconds it took and the broker's resident memory.
//
// celeriac's broker is a fresh child process, so its RSS (VmHWM = peak, VmRSS = at the end,
// from /proc) is the broker's alone; RabbitMQ's is the sum of its node's beam.smp processes.
// Run alone: node bench/deep-queue.js [--quick] [--count N] [--window N] [--only celeriac|rabbitmq]
import { statSync } from 'node:fs';
import { openAdapter, publishWindowed } from './adapters.js';
import {
  RABBIT_SKIPPED, celeriacBuilt, fmt, isMain, makeBody, mb, now, parseArgs, peakRss, ratio,
  settle, startBrokerProcess, startRabbit, table, uniqueName, withBroker, withTimeout,
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

/** Runs celeriac (fresh broker child, durability full) and RabbitMQ (when given). */
export async function run({ count, window, rabbit, only, log = console.log } = {}) {
  const results = { count, celeriac: undefined, rabbitmq: undefined };
  if (only !== 'rabbitmq') {
    if (!celeriacBuilt()) log('celeriac: not built (npm run build), skipped');
    else {
      results.celeriac = await withBroker(() => startBrokerProcess({ durability: 'full' }), async (b) => {
        await settle();
        const r = await runDeep('celeriac', b.url, { count, window, memory: () => peakRss(b.pid) });
        r.dataBytes = fileSize(b.dataFile) + fileSize(`${b.dataFile}-wal`);
        return r;
      });
      log(`celeriac  enqueued ${fmt(count)} in ${fmt(results.celeriac.seconds, 1)} s, peak RSS ${mb(results.celeriac.peakRss)}`);
    }
  }
  if (only !== 'celeriac') {
    if (!rabbit) log(RABBIT_SKIPPED);
    else {
      await settle();
      results.rabbitmq = await runDeep('rabbitmq', rabbit.url, { count, window, memory: () => rabbit.rss() });
      log(`rabbitmq  enqueued ${fmt(count)} in ${fmt(results.rabbitmq.seconds, 1)} s, peak RSS ${mb(results.rabbitmq.peakRss)}`);
    }
  }
  return results;
}

/** The results as a table. */
export function formatResults(results) {
  const c = results.celeriac, r = results.rabbitmq;
  const row = (name, x) => [name, fmt(x?.seconds, 1), fmt(x?.rate), mb(x?.rssBefore), mb(x?.peakRss), mb(x?.endRss), x?.dataBytes ? mb(x.dataBytes) : '-'];
  return `Deep queue: enqueue ${fmt(results.count)} msgs of 200 B, durable, persistent, confirms, no consumer\n` +
    table(['broker', 'seconds', 'msgs/s', 'RSS idle', 'RSS peak', 'RSS end', 'data file'], [row('celeriac', c), row('rabbitmq', r)]) +
    (c && r ? `\nceleriac vs rabbitmq: ${ratio(r.seconds, c.seconds)} faster, ${ratio(r.peakRss, c.peakRss)} less peak RSS` : '');
}

if (isMain(import.meta.url)) {
  const opts = parseArgs();
  const count = opts.count ?? (opts.quick ? DEEP_DEFAULTS.quickCount : DEEP_DEFAULTS.count);
  const startR = () => (opts.only === 'celeriac' ? undefined : startRabbit());
  const results = await withBroker(startR, (rabbit) => run({ count, window: opts.window, rabbit, only: opts.only }));
  console.log();
  console.log(opts.json ? JSON.stringify(results, null, 2) : formatResults(results));
}
