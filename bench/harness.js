// Shared bench helpers: options, timing, percentiles, tables, /proc memory readers, and the
// lifecycles of the two brokers measured (celeriac's broker-server as a child, RabbitMQ).
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';

/** The repository root (bench/..). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The compiled broker CLI, run as a child so the bench measures the real deployment shape. */
export const BROKER_CLI = join(ROOT, 'dist/server/cli/broker-server.js');
const RABBIT_BIN = '/usr/lib/rabbitmq/bin';

// ---------------------------------------------------------------- options and small utils

/**
 * Parses the few flags the bench scripts share: --quick, --count N, --window N, --repeat N,
 * --only SIDE[,SIDE...] (celeriac, celeriac-amqp, rabbitmq; tasks: bullmq), --json, --events
 * (tasks: workers send task events, as `celery worker -E`), --shape NAME[,NAME...] and --markdown
 * (tasks: the shapes to run; the figures as a markdown table). Unknown flags are reported, not fatal.
 */
export function parseArgs(argv = process.argv.slice(2)) {
  const opts = { quick: false, count: undefined, window: undefined, repeat: undefined, only: undefined, json: false, events: false, shape: undefined, markdown: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--json') opts.json = true;
    else if (a === '--events') opts.events = true;
    else if (a === '--count') opts.count = Number(argv[++i]);
    else if (a === '--window') opts.window = Number(argv[++i]);
    else if (a === '--repeat') opts.repeat = Number(argv[++i]);
    else if (a === '--only') opts.only = argv[++i];
    else if (a === '--shape') opts.shape = argv[++i];
    else if (a === '--markdown') opts.markdown = true;
    else console.error(`bench: ignoring unknown option ${a}`);
  }
  if (opts.count !== undefined && !(opts.count > 0)) throw new Error('--count needs a positive number');
  return opts;
}

/**
 * True when `--only` asks for `side` (or is absent). `--only` takes one side or a comma-separated
 * list: `celeriac` (the WebSocket client), `celeriac-amqp` (amqplib on broker-server's AMQP port),
 * `rabbitmq`, and in tasks.js `bullmq`.
 */
export function wants(only, side) {
  return only === undefined || only.split(',').includes(side);
}

/** True when the module at `metaUrl` is the script node was started with. */
export function isMain(metaUrl) {
  return process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(metaUrl);
}

/** Milliseconds, sub-millisecond resolution. */
export const now = () => performance.now();

/**
 * Wall-clock milliseconds, sub-millisecond resolution, comparable between processes on this
 * machine (a task's send time in the producer against its start in the worker).
 */
export const wallNow = () => performance.timeOrigin + performance.now();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects with `label` when `promise` has not settled within `ms`. */
export function withTimeout(promise, ms, label) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A promise with its resolve/reject exposed. */
export function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/**
 * Flushes dirty pages (`sync`) and pauses, so one measurement does not pay for the disk
 * writes of the one before it (a deleted million-message queue, the other broker's files).
 */
export async function settle(ms = 1_000) {
  await new Promise((res) => execFile('sync', [], { timeout: 60_000 }, () => res()));
  await sleep(ms);
}

/** A fresh temporary directory, removed by the returned `remove()`. */
export function tempDir(prefix) {
  const path = mkdtempSync(join(tmpdir(), `celeriac-bench-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A queue name no other run uses. */
export const uniqueName = (prefix) => `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;

/** A body of `size` bytes (the bench's 200-byte message). */
export const makeBody = (size = 200) => Buffer.alloc(size, 0x61);

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

// ---------------------------------------------------------------- statistics and formatting

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The p-th percentile (0..100) of `values`, nearest-rank on a sorted copy. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Formats a number with thousands separators and `digits` decimals. */
export function fmt(n, digits = 0) {
  if (n === undefined || n === null || Number.isNaN(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Bytes → "123.4 MB" (decimal megabytes, as the targets are written). */
export const mb = (bytes) => (bytes === undefined || bytes === null ? '-' : `${fmt(bytes / 1e6, 1)} MB`);

/** `a / b` as "2.31x", or "-" when either side is missing. */
export function ratio(a, b) {
  if (!(a > 0) || !(b > 0)) return '-';
  return `${fmt(a / b, 2)}x`;
}

/**
 * Prints a script's results as its main does: the JSON with --json, else its tables and, when the
 * run had the AMQP front-end's side, the issue 12 targets it is judged on.
 */
export function printResults(opts, results, formatResults, amqpTargetRows) {
  console.log();
  if (opts.json) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  console.log(formatResults(results));
  if (results['celeriac-amqp']) {
    console.log();
    console.log('Targets (issue 12, AMQP front-end)');
    console.log(table(['target', 'this run', 'verdict'], amqpTargetRows(results)));
  }
}

/** Renders rows (arrays of cells) under `headers` as an aligned text table. */
export function table(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c ?? '-')));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(cells[0]), sep, ...cells.slice(1).map(line)].join('\n');
}

// ---------------------------------------------------------------- process memory (/proc)

function readStatus(pid) {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
}

function statusKb(status, key) {
  const m = status?.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * The resident memory of process `pid` in bytes: `peak` from VmHWM (the kernel's high-water
 * mark, so no sample is missed) and `current` from VmRSS. Undefined fields once it exited.
 */
export function peakRss(pid) {
  const s = readStatus(pid);
  return { peak: statusKb(s, 'VmHWM'), current: statusKb(s, 'VmRSS') };
}

/** Sums peakRss over several pids (RabbitMQ's node is a beam.smp plus small helpers). */
export function sumRss(pids) {
  let peak = 0, current = 0;
  for (const pid of pids) {
    const r = peakRss(pid);
    peak += r.peak ?? 0;
    current += r.current ?? 0;
  }
  return { peak, current };
}

// ---------------------------------------------------------------- celeriac broker-server child

/** True when the compiled package is there (run `npm run build` first). */
export function celeriacBuilt() {
  return existsSync(BROKER_CLI) && existsSync(join(ROOT, 'dist/client/index.js'));
}

/**
 * Spawns `node dist/server/cli/broker-server.js --port 0 --host 127.0.0.1` with the given
 * durability and data file (a fresh temp file when none; `memory: true` for --memory), waits
 * for the line carrying its ws:// URL, and returns { url, amqpUrl, pid, dataFile, stop() }. stop()
 * sends SIGTERM (clean shutdown), waits, then SIGKILLs this one child if it is still there.
 * `amqp: true` adds `--amqp-port 0` (the AMQP 0-9-1 listener on a free port); `amqpUrl` is then
 * the amqp:// URL from the same line (guest/guest from loopback, the default user).
 * `cli` runs another build of broker-server (e.g. an older checkout's dist/, for a before/after).
 */
export async function startBrokerProcess({ durability = 'full', dataFile, memory = false, amqp = false, timeoutMs = 20_000, cli = BROKER_CLI, extraArgs = [] } = {}) {
  if (!existsSync(cli)) throw new Error(`${cli} not found: run npm run build first`);
  let dir;
  if (!memory && !dataFile) {
    dir = tempDir('broker');
    dataFile = join(dir.path, 'broker.db');
  }
  const args = [cli, '--port', '0', '--host', '127.0.0.1', '--durability', durability];
  if (memory) args.push('--memory');
  else args.push('--data', dataFile);
  if (amqp) args.push('--amqp-port', '0');
  args.push(...extraArgs);
  const child = spawn(process.execPath, args, { cwd: dir?.path ?? tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
  const stop = stopperFor(child, exited, 15_000, () => dir?.remove());
  const urls = await withTimeout(new Promise((res, rej) => {
    const onData = (chunk) => {
      output = (output + chunk).slice(-65_536);
      // The listening line names every listener; with --amqp-port, wait for its amqp:// URL too.
      const m = output.match(/ws:\/\/[^\s'"(),]+/);
      const a = output.match(/amqp:\/\/[^\s'"(),]+/);
      if (m && (!amqp || a)) res({ url: m[0], amqpUrl: a?.[0] });
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (c) => { output = (output + c).slice(-65_536); });
    exited.then(({ code, signal }) => rej(new Error(`broker-server exited (${code ?? signal}) before printing its URL:\n${output}`)));
  }), timeoutMs, 'broker-server start').catch(async (err) => { await stop(); throw err; });
  return { url: urls.url, amqpUrl: urls.amqpUrl, pid: child.pid, dataFile, stop, output: () => output };
}

// ---------------------------------------------------------------- RabbitMQ lifecycle

/** True when the Debian rabbitmq-server package is installed. */
export const rabbitInstalled = () => existsSync(join(RABBIT_BIN, 'rabbitmq-server'));

/** Pids of live processes whose environment carries `tag` (what one startRabbit() started). */
function pidsTagged(tag) {
  const needle = Buffer.from(`CELERIAC_BENCH_TAG=${tag}\0`);
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`).includes(needle)) {
        // Skip zombies: they hold no memory and cannot be signalled away.
        const state = readStatus(entry)?.match(/^State:\s+(\S)/m)?.[1];
        if (state && state !== 'Z') out.push(Number(entry));
      }
    } catch { /* gone, or not ours to read */ }
  }
  return out;
}

const commOf = (pid) => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return ''; } };

function run(file, args, env, timeoutMs) {
  return new Promise((res) => {
    execFile(file, args, { env, timeout: timeoutMs }, (err, stdout, stderr) => res({ ok: !err, stdout, stderr, err }));
  });
}

/**
 * Starts a private RabbitMQ node on 127.0.0.1 when the Debian package is installed, or
 * returns undefined. Everything it touches is fresh: HOME (so its own Erlang cookie), the
 * mnesia and log folders, an empty plugin list (no management plugin), free ports for AMQP,
 * Erlang distribution and its own epmd. Every process it starts inherits a unique
 * CELERIAC_BENCH_TAG variable, which is how stop() finds them: it asks `rabbitmqctl stop`,
 * then SIGTERMs (and, if need be, SIGKILLs) only the tagged pids still alive — its beam and
 * its epmd — never anything by name.
 * Returns { url, pid, pids(), rss(), stop() }.
 */
export async function startRabbit({ timeoutMs = 90_000 } = {}) {
  if (!rabbitInstalled()) return undefined;
  const dir = tempDir('rabbit');
  const tag = randomBytes(8).toString('hex');
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(join(dir.path, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir.path, 'rabbitmq-env.conf'), '');
  const node = `celeriacbench${port}@localhost`;
  const env = {
    ...process.env,
    HOME: dir.path,
    CELERIAC_BENCH_TAG: tag,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_MNESIA_BASE: join(dir.path, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir.path, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir.path, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(dir.path, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir.path, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir.path, 'advanced.config'),
  };
  const child = spawn(join(RABBIT_BIN, 'rabbitmq-server'), [], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c) => { output += c; });
  child.stderr.setEncoding('utf8').on('data', (c) => { output += c; });
  const ctl = (args, ms = 30_000) => run(join(RABBIT_BIN, 'rabbitmqctl'), args, env, ms);

  let stopped;
  const stop = () => (stopped ??= (async () => {
    off();
    if (child.exitCode === null) await ctl(['stop'], 30_000);
    for (const signal of ['SIGTERM', 'SIGKILL']) {
      const left = pidsTagged(tag);
      if (left.length === 0) break;
      for (const pid of left) { try { process.kill(pid, signal); } catch { /* already gone */ } }
      for (let i = 0; i < 50 && pidsTagged(tag).length > 0; i++) await sleep(100);
    }
    dir.remove();
  })());
  const off = onInterrupt(stop);

  // await_startup fails at once while the node is not yet registered with epmd: retry it.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) { await stop(); throw new Error(`rabbitmq-server exited early:\n${output}`); }
    const r = await ctl(['await_startup', '--timeout', '30'], 35_000);
    if (r.ok) break;
    if (Date.now() > deadline) { await stop(); throw new Error(`rabbitmq-server did not start in ${timeoutMs} ms:\n${output}\n${r.stderr}`); }
    await sleep(500);
  }
  const beams = () => pidsTagged(tag).filter((p) => commOf(p).startsWith('beam'));
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    pid: beams()[0],
    node,
    pids: () => pidsTagged(tag),
    /** Summed RSS of the node's beam.smp processes. */
    rss: () => sumRss(beams()),
    beams,
    ctl,
    stop,
  };
}

/** Prints the standard line for a skipped RabbitMQ comparison. */
export const RABBIT_SKIPPED = 'rabbitmq: not installed, skipped';

// ---------------------------------------------------------------- cleanup on Ctrl-C

const cleanups = new Set();
let signalsHooked = false;

/**
 * A once-only stop for a child process this bench spawned: SIGTERM (a clean shutdown), then
 * SIGKILL after `graceMs` if it is still there; `after` runs last (e.g. removing its temp dir).
 * Registered with onInterrupt, so a Ctrl-C of the bench stops the child too.
 */
export function stopperFor(child, exited, graceMs, after = () => {}) {
  let stopped;
  const stop = () => (stopped ??= (async () => {
    off();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const r = await Promise.race([exited, sleep(graceMs).then(() => undefined)]);
      if (!r) { child.kill('SIGKILL'); await exited; }
    }
    after();
  })());
  const off = onInterrupt(stop);
  return stop;
}

/**
 * Registers `fn` (a broker's stop; both starters register their own at spawn) to run if the bench is interrupted, so a Ctrl-C never
 * leaves a RabbitMQ node or a broker-server behind. Returns an unregister function.
 */
export function onInterrupt(fn) {
  cleanups.add(fn);
  if (!signalsHooked) {
    signalsHooked = true;
    for (const sig of ['SIGINT', 'SIGTERM']) {
      process.once(sig, async () => {
        console.error(`\nbench: ${sig}, stopping the brokers it started...`);
        await Promise.allSettled([...cleanups].map((f) => f()));
        process.exit(130);
      });
    }
  }
  return () => cleanups.delete(fn);
}

/** Runs `body(broker)` with a broker from `start()`, stopping it afterwards whatever happens. */
export async function withBroker(start, body) {
  const broker = await start();
  if (!broker) return body(undefined);
  try {
    return await body(broker);
  } finally {
    await broker.stop();
  }
}
