// Scale shown, not claimed (issue 11): celeriac on a three-node RabbitMQ cluster with Redis for
// results, tasks running across two workers while a RabbitMQ node is stopped and started again.
//
// Started here, all on loopback: a RabbitMQ cluster of three nodes (separate node names, ports and
// data; bench/rabbitmq-cluster.js), one redis-server (AOF, fsync every second), two celeriac
// worker processes (bench/rabbit-cluster-worker.js) and the producer in this process. Every client
// gets the three node URLs separated by ';' (tried in order: all start on node 1); the task queue
// is a quorum queue (`x-queue-type: quorum`, replicated on the three nodes).
//
// Three phases, each sending `--count` `bench.add(i, 1)` tasks and waiting for every result:
//   steady     no node stopped; sent as fast as confirms come back, 1,000 in flight: tasks/s;
//   other      node 3 (no client connected to it) stopped, then started again, while the tasks
//              are sent at a steady pace over `--seconds`;
//   connected  node 1 (the producer and both workers are connected to it) stopped and started
//              again the same way: every client fails over to node 2.
// For each: tasks/s (send of the first → last result), sends RabbitMQ refused (basic.nack, which
// rejects delay(): the producer sends the task again after 500 ms), results received, duplicates
// (tasks run more than once, which at-least-once delivery allows; counted by the workers), lost
// (tasks whose send was confirmed minus distinct tasks whose result came back; must be 0) and the
// longest wait between two results. Exit code 1 when a task is lost, a result is wrong or a send
// is refused 20 times over.
//
// Usage: node bench/rabbit-cluster.js [--count N] [--seconds S] [--concurrency C] [--acks-late]
//        [--phases steady,other,connected] [--json]            (needs npm run build)
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readdirSync } from 'node:fs';
import { ROOT, deferred, fmt, isMain, now, sleep, stopperFor, table, uniqueName, withTimeout } from './harness.js';
import { celeriacTasksBuilt } from './celeriac-task-adapter.js';
import { clusterInstalled, startRabbitCluster } from './rabbitmq-cluster.js';
import { redisInstalled, startRedis } from './redis-server.js';
import { benchApp } from './rabbit-cluster-app.js';

/** Defaults of the options. */
export const CLUSTER_DEFAULTS = { count: 5_000, seconds: 45, concurrency: 50, chunk: 1_000 };
const PHASES = ['steady', 'other', 'connected'];
/** A refused send is sent again after this wait, at most this many times. */
const RESEND_WAIT_MS = 500;
const RESEND_ATTEMPTS = 20;
/** How long a result may take once its task is sent: long enough to outlast a node's restart. */
const RESULT_TIMEOUT_MS = 300_000;
const WORKER_SCRIPT = join(ROOT, 'bench/rabbit-cluster-worker.js');

function parseOptions(argv = process.argv.slice(2)) {
  const o = { ...CLUSTER_DEFAULTS, acksLate: false, phases: PHASES, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--count') o.count = Number(argv[++i]);
    else if (a === '--seconds') o.seconds = Number(argv[++i]);
    else if (a === '--concurrency') o.concurrency = Number(argv[++i]);
    else if (a === '--acks-late') o.acksLate = true;
    else if (a === '--json') o.json = true;
    else if (a === '--phases') o.phases = argv[++i].split(',');
    else throw new Error(`unknown option ${a}`);
  }
  for (const k of ['count', 'seconds', 'concurrency']) if (!(o[k] > 0)) throw new Error(`--${k} needs a positive number`);
  for (const p of o.phases) if (!PHASES.includes(p)) throw new Error(`--phases takes ${PHASES.join(', ')}; not '${p}'`);
  return o;
}

/** The installed RabbitMQ's version, from the Debian package's folder name. */
function rabbitVersion() {
  try {
    return readdirSync('/usr/lib/rabbitmq/lib').find((d) => d.startsWith('rabbitmq_server-'))?.slice('rabbitmq_server-'.length) ?? '?';
  } catch {
    return '?';
  }
}

/** Forks a worker process and waits for its 'ready'. Returns { url, report(), stop() }. */
async function startWorker(config) {
  const child = fork(WORKER_SCRIPT, [JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c) => { output = (output + c).slice(-16_384); });
  child.stderr.setEncoding('utf8').on('data', (c) => { output = (output + c).slice(-16_384); });
  const exited = deferred();
  child.once('exit', (code, signal) => exited.resolve({ code, signal }));
  const stop = stopperFor(child, exited.promise, 20_000);
  const waitFor = (type, ms, what) => withTimeout(new Promise((resolve, reject) => {
    const onMessage = (m) => { if (m?.type === type) { child.off('message', onMessage); resolve(m); } };
    child.on('message', onMessage);
    exited.promise.then(({ code, signal }) => reject(new Error(`worker exited (${code ?? signal}):\n${output}`)));
  }), ms, what);
  try {
    const ready = await waitFor('ready', 120_000, 'worker start');
    return {
      pid: child.pid,
      url: ready.url,
      report() {
        const r = waitFor('report', 60_000, 'worker report');
        child.send('report');
        return r;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** "node 2" for a URL of one of `nodes` (matched by port), else the URL. */
function nodeOf(nodes, url) {
  const port = Number(/:(\d+)(?:\/|\?|$)/.exec(url ?? '')?.[1]);
  const n = nodes.find((x) => x.port === port);
  return n ? `node ${n.index + 1}` : String(url);
}

/**
 * Sends `count` tasks numbered from `first`, `chunk` at a time as fast as confirms come back, or
 * paced evenly over `seconds` when given; `disrupt` (optional) starts once a tenth of them were
 * sent. Waits for every result and for the disruption. Returns the phase's figures.
 */
async function runPhase({ add, workers, first, count, chunk, seconds, disrupt }) {
  const t0 = now();
  const completions = [];
  const done = new Set();
  const problems = { send: [], result: [], wrong: 0 };
  const sent = new Set();
  const refused = [];
  const gets = [];
  // A send RabbitMQ refuses (basic.nack: a quorum queue electing a new leader nacks publishes for a
  // few seconds) rejects delay(): the producer knows, and sends the task again, as an app would.
  const sendOne = (i, attempt = 0) => add.delay(i, 1).then((r) => {
    sent.add(i);
    gets.push(r.get({ timeout: RESULT_TIMEOUT_MS }).then((v) => {
      if (v !== i + 1) { problems.wrong++; return; }
      if (!done.has(i)) completions.push(now() - t0);
      done.add(i);
    }, (err) => { problems.result.push(`${i}: ${err?.message ?? err}`); }));
  }, async (err) => {
    refused.push(`${((now() - t0) / 1000).toFixed(1)} s, task ${i}: ${err?.code ?? ''} ${err?.message ?? err}`);
    if (attempt >= RESEND_ATTEMPTS) { problems.send.push(`${i}: ${err?.message ?? err}`); return; }
    await sleep(RESEND_WAIT_MS);
    await sendOne(i, attempt + 1);
  });

  let disruption;
  const startDisruption = () => { disruption ??= disrupt?.(t0); };
  if (seconds === undefined) {
    for (let k = 0; k < count; k += chunk) {
      if (k >= count / 10) startDisruption();
      const sends = [];
      for (let j = k; j < Math.min(count, k + chunk); j++) sends.push(sendOne(first + j));
      await Promise.all(sends);
    }
  } else {
    // Paced: task k goes at t0 + k × interval, so the sending spans the node's stop and start.
    const interval = (seconds * 1000) / count;
    const sends = [];
    for (let k = 0; k < count;) {
      const due = Math.min(count, Math.floor((now() - t0) / interval) + 1);
      for (; k < due; k++) {
        if (k >= count / 10) startDisruption();
        sends.push(sendOne(first + k));
      }
      await sleep(20);
    }
    await Promise.all(sends);
  }
  startDisruption();
  const sentAt = now() - t0;
  // Results settle one by one (gets grows while sends confirm): wait until all have.
  for (let settled = 0; settled < gets.length;) {
    const upTo = gets.length;
    await Promise.all(gets.slice(settled, upTo));
    settled = upTo;
  }
  const lastResult = Math.max(0, ...completions);
  const event = disruption ? await disruption : undefined;
  // Runs counted by the workers, for this phase's numbers only.
  const reports = await Promise.all(workers.map((w) => w.report()));
  const runs = new Map();
  for (const r of reports) for (const [i, c] of r.runs) if (i >= first && i < first + count) runs.set(i, (runs.get(i) ?? 0) + c);
  let duplicates = 0;
  for (const c of runs.values()) if (c > 1) duplicates += c - 1;
  completions.sort((a, b) => a - b);
  // Between two results (the wait for the first one is not counted: it is the batch's latency).
  let gap = 0;
  for (let k = 1; k < completions.length; k++) gap = Math.max(gap, completions[k] - completions[k - 1]);
  return {
    count, sent: sent.size, refused: refused.length, firstRefusals: refused.slice(0, 3), sendFailed: problems.send.length, received: done.size, wrong: problems.wrong,
    resultErrors: problems.result.length, duplicates, ranOnce: [...runs.values()].filter((c) => c === 1).length,
    lost: [...sent].filter((i) => !done.has(i)).length, seconds: lastResult / 1000, rate: done.size / (lastResult / 1000), sentSeconds: sentAt / 1000,
    longestGapMs: gap, event, workerUrls: reports.map((r) => r.url),
    problems: { send: problems.send.slice(0, 5), result: problems.result.slice(0, 5), workers: reports.flatMap((r) => r.problems).slice(0, 20) },
  };
}

/** Stops node `i` and starts it again; returns what happened, with times from the phase's start. */
function stopAndStart(cluster, i, log) {
  return async (t0) => {
    const at = (now() - t0) / 1000;
    log(`  stopping node ${i + 1} at ${fmt(at, 1)} s into the phase...`);
    const s0 = now();
    await cluster.stopNode(i);
    const stopMs = now() - s0;
    log(`  node ${i + 1} stopped (${fmt(stopMs / 1000, 1)} s); starting it again...`);
    const b0 = now();
    await cluster.startNode(i);
    const bootMs = now() - b0;
    log(`  node ${i + 1} back after ${fmt(bootMs / 1000, 1)} s, ${fmt((now() - t0) / 1000, 1)} s into the phase`);
    return { node: i + 1, stoppedAt: at, stopMs, bootMs, backAt: (now() - t0) / 1000 };
  };
}

export async function run(opts, log = console.log) {
  const { Celeriac } = await import(pathToFileURL(join(ROOT, 'dist/client/index.js')).href);
  const started = now();
  const cluster = await startRabbitCluster({ size: 3, log });
  let redis, app;
  const workers = [];
  try {
    log(`cluster up in ${fmt((now() - started) / 1000, 1)} s`);
    redis = await startRedis({ persistence: 'aof' });
    const broker = cluster.nodes.map((n) => n.url).join(';');
    const config = { broker, resultBackend: redis.url, queue: uniqueName('bench-cluster'), concurrency: opts.concurrency, acksLate: opts.acksLate };
    app = new Celeriac(benchApp(config));
    const add = app.task('bench.add', (i, b) => i + b);
    // The producer declares the quorum queue (through node 1) before the workers consume it; this
    // task (-1) is outside every phase's numbers.
    await add.delay(-1, 1);
    for (let w = 0; w < 2; w++) workers.push(await startWorker(config));
    const where = async () => ({
      producer: nodeOf(cluster.nodes, (await app.link()).transport.url),
      workers: (await Promise.all(workers.map((w) => w.report()))).map((r) => nodeOf(cluster.nodes, r.url)),
    });
    const results = { rabbitmq: rabbitVersion(), nodes: cluster.nodes.map((n) => ({ node: n.index + 1, port: n.port })), queue: config.queue, ...opts, phases: {} };
    let first = 0;
    for (const phase of opts.phases) {
      const before = await where();
      log(`phase ${phase}: producer on ${before.producer}, workers on ${before.workers.join(' and ')}`);
      const onNode = (n) => before.producer === `node ${n}` || before.workers.includes(`node ${n}`);
      // 'other': a node no client is on (node 3 unless they moved there); 'connected': the workers' node.
      const target = phase === 'other' ? [3, 2, 1].find((n) => !onNode(n)) : phase === 'connected' ? Number(before.workers[0].split(' ')[1]) : undefined;
      const r = await runPhase({
        add, workers, first, count: opts.count, chunk: opts.chunk,
        seconds: phase === 'steady' ? undefined : opts.seconds,
        disrupt: target === undefined ? undefined : stopAndStart(cluster, target - 1, log),
      });
      first += opts.count;
      r.before = before;
      r.after = await where();
      r.stoppedNodeHadClients = target === undefined ? undefined : onNode(target);
      results.phases[phase] = r;
      log(`  ${fmt(r.received)} results of ${fmt(r.sent)} sent, ${fmt(r.duplicates)} duplicates, ${fmt(r.lost)} lost; ` +
        `${fmt(r.rate)} tasks/s; longest wait between results ${fmt(r.longestGapMs)} ms; after: producer on ${r.after.producer}, workers on ${r.after.workers.join(' and ')}`);
    }
    return results;
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await app?.close().catch(() => undefined);
    await redis?.stop();
    await cluster.stop();
  }
}

const PHASE_LABELS = {
  steady: 'no node stopped (as fast as confirms come back)',
  other: 'a node no client is on stopped and started',
  connected: 'the node every client is on stopped and started',
};

/** The figures as one table, a row per phase, and a line per node event. */
export function formatResults(results) {
  const rows = [];
  const notes = [];
  for (const [phase, r] of Object.entries(results.phases)) {
    const e = r.event;
    rows.push([`${phase}: ${PHASE_LABELS[phase]}`, fmt(r.sent), fmt(r.refused), fmt(r.rate), fmt(r.received), fmt(r.duplicates), fmt(r.lost),
      fmt(r.longestGapMs), e ? `node ${e.node}` : '-']);
    if (e) {
      notes.push(`${phase}: node ${e.node} (${r.stoppedNodeHadClients ? 'clients connected to it' : 'no client connected to it'}) stopped at ${fmt(e.stoppedAt, 1)} s ` +
        `(clean stop took ${fmt(e.stopMs / 1000, 1)} s), booted again in ${fmt(e.bootMs / 1000, 1)} s (back at ${fmt(e.backAt, 1)} s); tasks sent over ${fmt(r.sentSeconds, 1)} s, ` +
        `last result at ${fmt(r.seconds, 1)} s; clients before: producer ${r.before.producer}, workers ${r.before.workers.join(' + ')}; after: producer ${r.after.producer}, workers ${r.after.workers.join(' + ')}`);
    }
    if (r.refused > 0) notes.push(`${phase}: ${fmt(r.refused)} sends refused by RabbitMQ and sent again, e.g. ${r.firstRefusals.join(' | ')}`);
    if (r.sendFailed || r.resultErrors || r.wrong) notes.push(`${phase}: ${r.sendFailed} sends failed, ${r.resultErrors} result errors, ${r.wrong} wrong results: ${JSON.stringify(r.problems)}`);
  }
  return `RabbitMQ ${results.rabbitmq}, 3-node cluster on loopback (ports ${results.nodes.map((n) => n.port).join(', ')}), quorum queue; ` +
    `redis-server (AOF everysec) for results; 2 celeriac workers (async pool, concurrency ${results.concurrency}, ${results.acksLate ? 'late' : 'early'} acks) ` +
    `and the producer, each given the 3 node URLs separated by ';'. ${fmt(results.count)} tasks per phase; node stops paced over ${results.seconds} s.\n` +
    table(['phase', 'sent', 'refused, sent again', 'tasks/s', 'results', 'duplicates', 'lost', 'longest wait ms', 'stopped'], rows) +
    (notes.length ? `\n${notes.join('\n')}` : '');
}

if (isMain(import.meta.url)) {
  const opts = parseOptions();
  if (!clusterInstalled()) { console.log('rabbitmq-server not installed (apt-get install rabbitmq-server), skipped'); process.exit(0); }
  if (!redisInstalled()) { console.log('redis-server not installed (apt-get install redis-server), skipped'); process.exit(0); }
  if (!(await celeriacTasksBuilt())) { console.log('celeriac not built (npm run build), skipped'); process.exit(0); }
  const results = await run(opts, opts.json ? console.error : console.log);
  console.log();
  console.log(opts.json ? JSON.stringify(results, null, 2) : formatResults(results));
  const bad = Object.values(results.phases).some((r) => r.lost > 0 || r.wrong > 0 || r.sendFailed > 0);
  process.exit(bad ? 1 : 0);
}
