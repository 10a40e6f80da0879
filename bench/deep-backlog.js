// Deep backlogs of every kind: enqueue 1,000,000 messages of 200 bytes (durable queue,
// persistent, confirms, no consumer) as a plain queue, a priority queue (maxPriority 9, priorities
// spread over 0..9) and delayed by an hour, and report the broker's RSS for each. Each backlog
// past the broker's paging threshold (20,000 per queue) stays on disk; the target is < 300 MB.
//
// A fresh broker child (durability full) per kind, so each RSS (VmHWM = peak, VmRSS = at the
// end, from /proc) is that backlog's alone. celeriac only: RabbitMQ has no built-in delayed
// delivery. A --drain run also consumes the backlog back (priority order, or the delayed one
// once its delay is short enough to wait for: use --delay MS) and reports the drain time.
// Run alone: node bench/deep-backlog.js [--quick] [--count N] [--window N] [--kind plain|priority|delayed] [--delay MS] [--drain]
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ROOT, celeriacBuilt, fmt, isMain, makeBody, mb, now, peakRss, settle, startBrokerProcess, table, uniqueName, withBroker, withTimeout,
} from './harness.js';

/** Counts used by default and by --quick. */
export const BACKLOG_DEFAULTS = { count: 1_000_000, quickCount: 100_000, window: 2_000, bodySize: 200, delay: 3_600_000 };

/** What each kind declares and publishes. */
const KINDS = {
  plain: { queue: {}, props: () => ({}) },
  priority: { queue: { maxPriority: 9 }, props: (i) => ({ priority: i % 10 }) },
  delayed: { queue: {}, props: (_i, delay) => ({ delay }) },
};

/** Publishes `count` messages keeping `window` unconfirmed; resolves after the last confirm. */
function publishAll(conn, queue, { count, window, propsFor, body }) {
  return new Promise((resolve, reject) => {
    let sent = 0, confirmed = 0, failed = false;
    const pump = () => {
      while (!failed && sent < count && sent - confirmed < window) {
        const props = { persistent: true, ...propsFor(sent++) };
        conn.publish('', queue, body, props).then(() => {
          if (++confirmed === count) resolve();
          else pump();
        }, (err) => { if (!failed) { failed = true; reject(err); } });
      }
    };
    if (count === 0) resolve();
    else pump();
  });
}

/** One kind on one fresh broker: { kind, count, seconds, rssBefore, peakRss, endRss, drainSeconds? }. */
export async function runKind(kind, { count, window, delay, drain }) {
  const { connect } = await import(pathToFileURL(join(ROOT, 'dist/client/index.js')).href);
  return withBroker(() => startBrokerProcess({ durability: 'full' }), async (b) => {
    await settle();
    const conn = await connect(b.url);
    try {
      const queue = uniqueName(`bench-${kind}`);
      await conn.assertQueue(queue, { durable: true, ...KINDS[kind].queue });
      const rssBefore = peakRss(b.pid).current;
      let sampledPeak = 0;
      const tick = setInterval(() => { sampledPeak = Math.max(sampledPeak, peakRss(b.pid).current ?? 0); }, 200);
      const t0 = now();
      await withTimeout(
        publishAll(conn, queue, { count, window, body: makeBody(BACKLOG_DEFAULTS.bodySize), propsFor: (i) => KINDS[kind].props(i, delay) }),
        Math.max(300_000, count), `${kind}: enqueue ${count}`);
      const seconds = (now() - t0) / 1000;
      clearInterval(tick);
      const end = peakRss(b.pid);
      const result = { kind, count, seconds, rssBefore, peakRss: Math.max(end.peak ?? 0, sampledPeak, end.current ?? 0), endRss: end.current };
      if (drain) {
        let got = 0;
        const t1 = now();
        await new Promise((resolve) => {
          conn.consume(queue, (m) => { m.ack(); if (++got === count) resolve(); }, { prefetch: 1_000 });
        });
        result.drainSeconds = (now() - t1) / 1000;
        result.drainRss = peakRss(b.pid);
      }
      return result;
    } finally {
      await conn.close().catch(() => {});
    }
  });
}

/** Runs the kinds asked for, one fresh broker each. */
export async function run({ count, window = BACKLOG_DEFAULTS.window, kinds = Object.keys(KINDS), delay = BACKLOG_DEFAULTS.delay, drain = false, log = console.log } = {}) {
  const results = [];
  if (!celeriacBuilt()) {
    log('celeriac: not built (npm run build), skipped');
    return results;
  }
  for (const kind of kinds) {
    const r = await runKind(kind, { count, window, delay, drain });
    log(`${kind.padEnd(8)} enqueued ${fmt(count)} in ${fmt(r.seconds, 1)} s, peak RSS ${mb(r.peakRss)}${drain ? `, drained in ${fmt(r.drainSeconds, 1)} s` : ''}`);
    results.push(r);
  }
  return results;
}

/** The results as a table. */
export function formatResults(results, count, delay) {
  const rows = results.map((r) => [
    r.kind, fmt(r.seconds, 1), fmt(r.count / r.seconds), mb(r.rssBefore), mb(r.peakRss), mb(r.endRss),
    r.peakRss <= 300e6 ? 'met' : 'NOT MET', r.drainSeconds === undefined ? '-' : fmt(r.drainSeconds, 1),
  ]);
  return `Deep backlogs: ${fmt(count)} msgs of 200 B each, durable, persistent, confirms, no consumer ` +
    `(priority: maxPriority 9, priorities 0..9; delayed: ${fmt(delay / 1000)} s)\n` +
    table(['kind', 'seconds', 'msgs/s', 'RSS idle', 'RSS peak', 'RSS end', '< 300 MB', 'drain s'], rows);
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  const value = (flag) => { const i = argv.indexOf(flag); return i < 0 ? undefined : argv[i + 1]; };
  const quick = argv.includes('--quick');
  const count = Number(value('--count') ?? (quick ? BACKLOG_DEFAULTS.quickCount : BACKLOG_DEFAULTS.count));
  const window = Number(value('--window') ?? BACKLOG_DEFAULTS.window);
  const delay = Number(value('--delay') ?? BACKLOG_DEFAULTS.delay);
  const kind = value('--kind');
  if (kind !== undefined && !(kind in KINDS)) throw new Error(`--kind must be one of ${Object.keys(KINDS).join(', ')}`);
  const results = await run({ count, window, delay, drain: argv.includes('--drain'), kinds: kind === undefined ? undefined : [kind] });
  console.log();
  console.log(argv.includes('--json') ? JSON.stringify(results, null, 2) : formatResults(results, count, delay));
}
