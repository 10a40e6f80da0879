// A good publisher's confirm latency while loops of bad logins hammer the broker: can logins be
// used against everyone else? Before the fix, password hashing and the WAL fsync shared libuv's
// pool, so 64 loops of bad logins took a publisher's p50 from 4 ms to 2.8 s.
//
// Three phases against one broker-server (durability full, a data file): idle; N loops of bad
// logins from one address (the per-address throttle applies); N loops each login from a fresh
// 127.x.y.z address (the throttle never applies: only the hashing cap and the fsync's own thread
// protect the publisher). The publisher sends one persistent message at a time, each awaiting its
// confirm, on a 1 ms schedule, and reports p50/p99/max of publish -> confirm. The bad logins run
// in a child process of their own, so their client-side work does not delay the publisher's.
//
// Run: node bench/login-flood.js [--quick] [--loops N] [--seconds S] [--broker path/to/broker-server.js] [--json]
import WebSocket from 'ws';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openCeleriac } from './adapters.js';
import {
  BROKER_CLI, ROOT, celeriacBuilt, fmt, isMain, now, percentile, sleep, startBrokerProcess, table, uniqueName, withBroker, withTimeout,
} from './harness.js';

export const LOGIN_FLOOD_DEFAULTS = { loops: 64, seconds: 10, quickSeconds: 4 };

function options(argv = process.argv.slice(2)) {
  const o = { quick: false, loops: LOGIN_FLOOD_DEFAULTS.loops, seconds: undefined, broker: BROKER_CLI, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--json') o.json = true;
    else if (a === '--loops') o.loops = Number(argv[++i]);
    else if (a === '--seconds') o.seconds = Number(argv[++i]);
    else if (a === '--broker') o.broker = argv[++i];
    else console.error(`bench: ignoring unknown option ${a}`);
  }
  o.seconds ??= o.quick ? LOGIN_FLOOD_DEFAULTS.quickSeconds : LOGIN_FLOOD_DEFAULTS.seconds;
  return o;
}

async function codecModules() {
  const { FrameCodec } = await import(pathToFileURL(join(ROOT, 'dist/shared/codec.js')).href);
  const { OP, PROTOCOL_VERSION } = await import(pathToFileURL(join(ROOT, 'dist/shared/opcodes.js')).href);
  return { codec: new FrameCodec(), OP, PROTOCOL_VERSION };
}

/** One bad login: open, hello with a wrong password, wait for the broker to close. Resolves its outcome. */
function badLogin(url, localAddress, { codec, OP, PROTOCOL_VERSION }) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(localAddress === undefined ? {} : { localAddress }) });
    let outcome = 'closed';
    const timer = setTimeout(() => { outcome = 'timeout'; ws.terminate(); }, 30_000);
    ws.on('open', () => ws.send(codec.encode({ op: OP.hello, id: 1, version: PROTOCOL_VERSION, user: 'guest', password: 'not-the-password' })));
    ws.on('message', (data) => {
      for (const f of codec.decode(data)) if (f.op === OP.error) outcome = f.code === 'ERR_ACCESS_REFUSED' ? (/already waiting/.test(f.message) ? 'refused-unchecked' : 'refused') : f.code;
    });
    ws.on('unexpected-response', () => { outcome = 'http-refused'; ws.terminate(); });
    ws.on('error', () => undefined);
    ws.on('close', () => { clearTimeout(timer); resolve(outcome); });
  });
}

// 127.0.0.1 for every attempt: after 3 failures the address is throttled. 'fresh': a new address
// per attempt (127.1.0.1 and up), so no address fails often enough to be throttled.
const ADDRESSES = {
  one: () => undefined,
  fresh: (i) => `127.${1 + ((i >> 16) % 254)}.${(i >> 8) & 255}.${1 + (i & 254)}`,
};

/** Runs `loops` loops of bad logins until `stop()`; `addressOf(i)` picks each attempt's local address. */
function flood(url, loops, addressOf, mods) {
  let running = true;
  let seq = 0;
  const outcomes = {};
  const loopsDone = Array.from({ length: loops }, async () => {
    while (running) {
      const outcome = await badLogin(url, addressOf(seq++), mods);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
  });
  return { outcomes, stop: async () => { running = false; await Promise.all(loopsDone); } };
}

/** Runs a flood for `seconds` in a child process; resolves with its outcome counts. */
function floodChild(url, loops, mode, seconds) {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--flood-child', url, String(loops), mode, String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c) => { out += c; });
  const done = new Promise((resolve, reject) => child.once('exit', (code) => {
    if (code === 0) resolve(JSON.parse(out));
    else reject(new Error(`flood child exited ${code}`));
  }));
  return withTimeout(done, (seconds + 60) * 1000, 'flood child');
}

/** The child's side: flood, then print the outcome counts as JSON. */
async function runFloodChild([url, loops, mode, seconds]) {
  const f = flood(url, Number(loops), ADDRESSES[mode], await codecModules());
  await sleep(Number(seconds) * 1000);
  await f.stop();
  process.stdout.write(JSON.stringify(f.outcomes));
}

/** One persistent publish at a time for `seconds`; returns confirm latencies (ms). */
async function publishFor(pub, queue, seconds) {
  const latencies = [];
  const body = Buffer.alloc(200, 0x61);
  const end = now() + seconds * 1000;
  const tStart = now();
  for (let i = 0; now() < end; i++) {
    const t = now();
    await withTimeout(pub.publish(queue, body, { persistent: true }), 60_000, 'confirm');
    latencies.push(now() - t);
    const rest = tStart + (i + 1) - now();
    if (rest > 0) await sleep(rest);
  }
  return latencies;
}

const stats = (xs) => ({ n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), max: xs.length ? Math.max(...xs) : NaN });

/** Reads the broker's login counters from /metrics. */
async function loginMetrics(url) {
  const text = await (await fetch(`${url.replace(/^ws/, 'http')}/metrics`)).text();
  const read = (name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { failures: read('celeriac_login_failures_total'), delayed: read('celeriac_logins_delayed_total'), refused: read('celeriac_logins_refused_total') };
}

export async function runLoginFlood(opts) {
  // /metrics open: with credentials, each read would be a login from the address the flood throttles.
  // (An older build given with --broker has no such flag, and no credentials on /metrics either.)
  const extraArgs = opts.broker === BROKER_CLI ? ['--metrics-open'] : [];
  return withBroker(() => startBrokerProcess({ durability: 'full', cli: opts.broker, extraArgs }), async (broker) => {
    const pub = await openCeleriac(broker.url);
    const queue = uniqueName('bench-login-flood');
    try {
      await pub.declare(queue, { durable: true });
      await publishFor(pub, queue, 1); // warm-up
      const phases = [];
      phases.push({ phase: 'idle', ...stats(await publishFor(pub, queue, opts.seconds)), outcomes: {} });
      for (const [mode, label] of [['one', 'one address'], ['fresh', 'fresh addresses']]) {
        const child = floodChild(broker.url, opts.loops, mode, opts.seconds);
        const latencies = await publishFor(pub, queue, opts.seconds);
        phases.push({ phase: `${opts.loops} loops, ${label}`, ...stats(latencies), outcomes: await child });
      }
      let metrics = {};
      try { metrics = await loginMetrics(broker.url); } catch { /* an older broker without these counters */ }
      return { loops: opts.loops, seconds: opts.seconds, phases, metrics };
    } finally {
      await withTimeout(pub.remove(queue), 30_000, 'delete queue').catch(() => {});
      await pub.close().catch(() => {});
    }
  });
}

export function printLoginFlood(r) {
  console.log(`\nlogin flood: a publisher's publish -> confirm (durability full, one message at a time) while ${r.loops} loops of bad logins run, ${r.seconds} s per phase`);
  console.log(table(['phase', 'confirms', 'p50 ms', 'p99 ms', 'max ms', 'bad logins answered'], r.phases.map((p) => [
    p.phase, fmt(p.n), fmt(p.p50, 1), fmt(p.p99, 1), fmt(p.max, 1),
    Object.entries(p.outcomes).map(([k, v]) => `${k} ${fmt(v)}`).join(', ') || '-',
  ])));
  if (r.metrics.failures !== undefined) console.log(`broker counters: login failures ${fmt(r.metrics.failures)}, delayed ${fmt(r.metrics.delayed)}, refused unchecked ${fmt(r.metrics.refused)}`);
}

if (isMain(import.meta.url) && process.argv[2] === '--flood-child') {
  await runFloodChild(process.argv.slice(3));
} else if (isMain(import.meta.url)) {
  const opts = options();
  if (!celeriacBuilt()) throw new Error('run npm run build first');
  const r = await runLoginFlood(opts);
  if (opts.json) console.log(JSON.stringify(r, null, 2));
  else printLoginFlood(r);
}
