// Does a client flooding the broker with huge batches slow everyone else down? A good client's
// publish → confirm latency (one at a time, durable, persistent) idle, then while hostile clients
// send batches of `maxFramesPerMessage` frames (`get` on a missing queue, each answered with an
// error frame) in a loop; /healthz round trips during the flood; the broker's RSS.
//
// The hostile clients run in a child process (this script with --hostile), so their encoding and
// reading do not share the good client's event loop: what is measured is the broker.
// Run alone: node bench/batch-flood.js [--quick] [--count N] [--hostile-clients N]
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { openAdapter } from './adapters.js';
import {
  ROOT, celeriacBuilt, fmt, isMain, mb, now, peakRss, percentile, settle, sleep, startBrokerProcess, table, uniqueName,
  withBroker, withTimeout,
} from './harness.js';

/** Counts used by default and by --quick; the first `warmup` publishes of each phase are not reported. */
export const FLOOD_DEFAULTS = { count: 1_000, quickCount: 300, warmup: 100, hostileClients: 2, healthzSamples: 20 };

/** One publish at a time; returns the confirm latencies (ms) of the last `count`. */
async function confirmLatencies(pub, queue, count, warmup) {
  const body = Buffer.alloc(200, 0x61);
  const out = [];
  for (let i = 0; i < warmup + count; i++) {
    const t = now();
    await withTimeout(pub.publish(queue, body, { persistent: true }), 60_000, `publish ${i}`);
    if (i >= warmup) out.push(now() - t);
  }
  return out;
}

/** /healthz round trips, one after the other (ms). */
async function healthz(httpUrl, samples) {
  const out = [];
  for (let i = 0; i < samples; i++) {
    const t = now();
    const res = await withTimeout(fetch(`${httpUrl}/healthz`), 60_000, 'healthz');
    await res.arrayBuffer();
    out.push(now() - t);
    await sleep(20);
  }
  return out;
}

const stats = (xs) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99), max: Math.max(...xs) });

/** Starts the hostile child; resolves once its sockets are flooding, with stop() → { batches, replyBytes }. */
async function startHostile(url, clients) {
  const child = fork(fileURLToPath(import.meta.url), ['--hostile', url, String(clients)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((res) => child.once('exit', res));
  await withTimeout(new Promise((res, rej) => {
    child.once('message', res);
    exited.then(() => rej(new Error('hostile child exited early')));
  }), 30_000, 'hostile clients start');
  return {
    async stop() {
      const report = new Promise((res) => child.once('message', res));
      child.send('stop');
      const r = await withTimeout(report, 30_000, 'hostile report');
      await withTimeout(exited, 10_000, 'hostile exit');
      return r;
    },
  };
}

/** Runs the idle and the flooded phase against one fresh broker child (durability full). */
export async function run({ count, hostileClients = FLOOD_DEFAULTS.hostileClients, log = console.log } = {}) {
  if (!celeriacBuilt()) {
    log('celeriac: not built (npm run build), skipped');
    return undefined;
  }
  return withBroker(() => startBrokerProcess({ durability: 'full' }), async (b) => {
    await settle();
    const httpUrl = b.url.replace(/^ws/, 'http');
    const pub = await openAdapter('celeriac', b.url);
    const queue = uniqueName('bench-flood');
    try {
      await pub.declare(queue, { durable: true });
      const idle = stats(await confirmLatencies(pub, queue, count, FLOOD_DEFAULTS.warmup));
      const idleHealth = stats(await healthz(httpUrl, FLOOD_DEFAULTS.healthzSamples));
      log(`idle     confirm p50 ${fmt(idle.p50, 3)} ms, p99 ${fmt(idle.p99, 3)} ms`);
      const rssBefore = peakRss(b.pid).current;
      const hostile = await startHostile(b.url, hostileClients);
      const tFlood = now();
      let flooded, floodHealth, report;
      try {
        flooded = stats(await confirmLatencies(pub, queue, count, FLOOD_DEFAULTS.warmup));
        floodHealth = stats(await healthz(httpUrl, FLOOD_DEFAULTS.healthzSamples));
      } finally {
        report = await hostile.stop();
      }
      const seconds = (now() - tFlood) / 1000;
      const rss = peakRss(b.pid);
      log(`flooded  confirm p50 ${fmt(flooded.p50, 3)} ms, p99 ${fmt(flooded.p99, 3)} ms`);
      return {
        count, hostileClients, framesPerBatch: report.framesPerBatch, idle, flooded, idleHealth, floodHealth,
        hostileFramesPerSecond: (report.batches * report.framesPerBatch) / seconds, hostileBatches: report.batches,
        hostileClosed: report.closed, rssBefore, rssPeak: rss.peak,
      };
    } finally {
      await pub.close();
    }
  });
}

/** The results as a table (milliseconds). */
export function formatResults(r) {
  if (r === undefined) return 'batch flood: skipped';
  const ratio = r.flooded.p99 / r.idle.p99;
  return `Publish → confirm while ${r.hostileClients} clients send batches of ${fmt(r.framesPerBatch)} frames in a loop ` +
    `(${fmt(r.count)} publishes one at a time, durable, persistent, durability full)\n` +
    table(['phase', 'confirm p50 ms', 'p99 ms', 'max ms', '/healthz p50 ms', '/healthz max ms'], [
      ['idle', fmt(r.idle.p50, 3), fmt(r.idle.p99, 3), fmt(r.idle.max, 3), fmt(r.idleHealth.p50, 3), fmt(r.idleHealth.max, 3)],
      ['flooded', fmt(r.flooded.p50, 3), fmt(r.flooded.p99, 3), fmt(r.flooded.max, 3), fmt(r.floodHealth.p50, 3), fmt(r.floodHealth.max, 3)],
    ]) +
    `\nhostile frames handled: ${fmt(r.hostileFramesPerSecond)}/s (${fmt(r.hostileBatches)} batches; connections closed by the broker: ${r.hostileClosed})` +
    `\nbroker RSS: ${mb(r.rssBefore)} before the flood, peak ${mb(r.rssPeak)}` +
    `\nflooded p99 / idle p99: ${fmt(ratio, 1)}× — target at most 10×: ${ratio <= 10 ? 'met' : 'NOT MET'}`;
}

// ---------------------------------------------------------------- the hostile child

/**
 * `clients` raw connections, each sending one pre-encoded batch of the broker's announced
 * maxFramesPerMessage `get` frames over and over, at most a few batches ahead of what the
 * socket has written; replies are counted in bytes, never decoded.
 */
async function hostileMain(url, clients) {
  const { default: WebSocket } = await import('ws');
  const { FrameCodec } = await import(pathToFileURL(join(ROOT, 'dist/shared/codec.js')).href);
  const codec = new FrameCodec();
  let stopping = false;
  let batches = 0, replyBytes = 0, closed = 0, framesPerBatch = 0;
  const missing = uniqueName('bench-missing');
  const sockets = await Promise.all(Array.from({ length: clients }, () => new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
    ws.binaryType = 'nodebuffer';
    ws.once('error', reject);
    ws.once('open', () => ws.send(codec.encode({ op: 1, id: 1, version: 1 })));
    ws.once('message', (data) => {
      const welcome = codec.decode(data)[0];
      ws.on('message', (d) => { replyBytes += d.length; });
      ws.on('close', () => { closed++; });
      resolve({ ws, cap: welcome.limits.maxFramesPerMessage ?? 10_000 });
    });
  })));
  framesPerBatch = sockets[0].cap;
  const batch = codec.encode(Array.from({ length: framesPerBatch }, (_, i) => ({ op: 28, id: i + 1, queue: missing })));
  const pump = ({ ws }) => {
    while (!stopping && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 2 * batch.length) {
      ws.send(batch);
      batches++;
    }
    if (!stopping && ws.readyState === WebSocket.OPEN) setTimeout(() => pump({ ws }), 1);
  };
  for (const s of sockets) pump(s);
  process.send('flooding');
  process.on('message', () => {
    stopping = true;
    for (const { ws } of sockets) ws.terminate();
    process.send({ batches, replyBytes, closed, framesPerBatch }, () => process.exit(0));
  });
}

if (process.argv[2] === '--hostile') {
  await hostileMain(process.argv[3], Number(process.argv[4]));
} else if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  const hi = argv.indexOf('--hostile-clients');
  const hostileClients = hi >= 0 ? Number(argv.splice(hi, 2)[1]) : FLOOD_DEFAULTS.hostileClients;
  const { parseArgs } = await import('./harness.js');
  const opts = parseArgs(argv);
  const count = opts.count ?? (opts.quick ? FLOOD_DEFAULTS.quickCount : FLOOD_DEFAULTS.count);
  const results = await run({ count, hostileClients });
  console.log();
  console.log(opts.json ? JSON.stringify(results, null, 2) : formatResults(results));
}
