// The task layer end to end: N `add(a, b)` tasks sent, run by a worker and their results
// stored and back at the producer (tasks/s), and one task's round trip (send → result) p50/p99.
//
// Three processes a side: this one (the producer), the server (celeriac's broker-server with
// durability full; again with process, not a target) and the worker (bench/tasks-worker.js). BullMQ runs only
// when redis-server is installed, on redis without persistence and again with AOF everysec. The same
// celeriac app also runs on RabbitMQ + Redis (amqp:// broker, redis:// result backend: the move
// README.md describes) when both are installed: one RabbitMQ node and a redis-server without persistence.
// Run alone: node bench/tasks.js [--quick] [--count N] [--repeat N] [--only celeriac|bullmq|rabbitmq] [--events] [--json]
// (--only celeriac: the broker-server rows; rabbitmq: the RabbitMQ + Redis row and BullMQ's)
// --events: the celeriac worker sends task events (received, started, succeeded), which the broker stores.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bullmqInstalled, openBullmqProducer } from './bullmq-adapter.js';
import { celeriacTasksBuilt, openCeleriacProducer } from './celeriac-task-adapter.js';
import {
  RABBIT_SKIPPED, ROOT, deferred, fmt, isMain, mb, now, parseArgs, peakRss, percentile, rabbitInstalled, ratio,
  settle, startBrokerProcess, startRabbit, stopperFor, table, uniqueName, withBroker, withTimeout,
} from './harness.js';
import { REDIS_PERSISTENCE, REDIS_SKIPPED, redisInstalled, startRedis } from './redis-server.js';

/** Counts used by default and by --quick. */
export const TASKS_DEFAULTS = {
  count: 20_000, quickCount: 5_000,      // tasks per throughput run
  calls: 2_000, quickCalls: 500,         // sequential round trips measured
  warmupTasks: 2_000, warmupCalls: 200,  // unreported, before the measured runs
  chunk: 1_000,                          // tasks per addBulk / per Promise.all of delay()
  concurrency: 50,                       // the worker's, both sides (the BullMQ figure)
};

/** The targets of issue 3, item 10. */
export const TASK_TARGETS = { vsBullmq: 2, p99Ms: 2 };

/** The sides measured; `server` names what holds the tasks and results. */
export const TASK_SIDES = [
  { id: 'celeriac', kind: 'celeriac', durability: 'full', label: 'celeriac, broker durability full, async pool' },
  // Not a target: shown so the fsync's share of `full` can be told apart, as latency.js does.
  { id: 'celeriac-process', kind: 'celeriac', durability: 'process', label: 'celeriac, broker durability process' },
  // The same app with two other URLs: a durable RabbitMQ queue (confirms once on disk), results in redis.
  { id: 'celeriac-rabbitmq', kind: 'celeriac', home: 'rabbitmq', label: 'celeriac on RabbitMQ + Redis, redis no persistence' },
  { id: 'bullmq', kind: 'bullmq', persistence: 'none', label: `bullmq, redis ${REDIS_PERSISTENCE.none.label}` },
  { id: 'bullmq-aof', kind: 'bullmq', persistence: 'aof', label: `bullmq, redis ${REDIS_PERSISTENCE.aof.label}` },
];

const WORKER_SCRIPT = join(ROOT, 'bench/tasks-worker.js');

let clockTicks;
/**
 * CPU time (user + system, all threads) process `pid` has used, in ms, from /proc/<pid>/stat;
 * undefined when unreadable. Per-task CPU tells where the time goes even on a busy machine,
 * where wall-clock figures move with the other load.
 */
export function cpuMs(pid) {
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, inside parentheses).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks; // utime, stime
  } catch {
    return undefined;
  }
}

/**
 * Spawns bench/tasks-worker.js for `kind` and waits for its "ready" line. Returns { pid, stop() };
 * stop() sends SIGTERM (a warm shutdown), then SIGKILL after 15 s, to this child only.
 */
export async function startWorkerProcess(kind, url, queue, concurrency, events = false, settings = undefined) {
  const args = [WORKER_SCRIPT, kind, url, queue, String(concurrency), ...(events ? ['events'] : []), ...(settings ? [`settings=${JSON.stringify(settings)}`] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = deferred();
  child.once('exit', (code, signal) => exited.resolve({ code, signal }));
  const stop = stopperFor(child, exited.promise, 15_000);
  const ready = deferred();
  child.stdout.setEncoding('utf8').on('data', (c) => {
    output = (output + c).slice(-16_384);
    if (/^ready$/m.test(output)) ready.resolve();
  });
  // Worker logs go to the bench's stderr only when something is wrong; keep the tail for errors.
  child.stderr.setEncoding('utf8').on('data', (c) => { output = (output + c).slice(-16_384); });
  exited.promise.then(({ code, signal }) => ready.reject(new Error(`${kind} worker exited (${code ?? signal}) before ready:\n${output}`)));
  try {
    await withTimeout(ready.promise, 30_000, `${kind} worker start`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid, stop, output: () => output };
}

/**
 * Measures one side against a running server (`serverPid` for its CPU and RSS; an array of pids
 * for a pair such as RabbitMQ + redis, summed): a warm-up, the round trips, then `repeat` batches
 * of `count` (the best kept). `settings` go to both celeriac apps (a resultBackend). Returns
 * { count, seconds, rate, roundTrip: { p50, p99, max }, serverRss, workerRss }.
 */
export async function measureSide(side, url, serverPid, { count, calls, repeat, chunk, concurrency, events = false, settings, log }) {
  const queue = uniqueName('bench-tasks');
  const producer = side.kind === 'bullmq' ? await openBullmqProducer(url, queue) : await openCeleriacProducer(url, settings);
  const serverPids = [serverPid].flat();
  const serverCpuMs = () => serverPids.reduce((sum, pid) => sum + (cpuMs(pid) ?? NaN), 0);
  let worker;
  try {
    worker = await startWorkerProcess(side.kind, url, queue, concurrency, events && side.kind === 'celeriac', settings);
    await withTimeout(producer.runBatch(TASKS_DEFAULTS.warmupTasks, { chunk }), 120_000, `${side.id} warm-up batch`);
    for (let i = 0; i < TASKS_DEFAULTS.warmupCalls; i++) await withTimeout(producer.call(i, 1), 10_000, `${side.id} warm-up call`);

    // Round trips first: an idle system, before the batches' disk writes.
    await settle();
    const trips = new Array(calls);
    for (let i = 0; i < calls; i++) {
      const t = now();
      const v = await withTimeout(producer.call(i, 1), 10_000, `${side.id} call ${i}`);
      trips[i] = now() - t;
      if (v !== i + 1) throw new Error(`${side.id}: add(${i}, 1) returned ${v}`);
    }
    const roundTrip = { p50: percentile(trips, 50), p99: percentile(trips, 99), max: Math.max(...trips) };
    log(`${side.id.padEnd(10)} round trip p50 ${fmt(roundTrip.p50, 3)} ms, p99 ${fmt(roundTrip.p99, 3)} ms`);

    let best;
    for (let r = 0; r < repeat; r++) {
      await settle();
      const cpu0 = { server: serverCpuMs(), worker: cpuMs(worker.pid), producer: process.cpuUsage() };
      const t0 = now();
      await withTimeout(producer.runBatch(count, { chunk }), Math.max(120_000, count * 10), `${side.id} batch of ${count}`);
      const seconds = (now() - t0) / 1000;
      const used = process.cpuUsage(cpu0.producer);
      // CPU µs per task in each process over the batch (the producer's is this process's).
      const cpuUs = {
        server: ((serverCpuMs() - cpu0.server) * 1000) / count,
        worker: ((cpuMs(worker.pid) - cpu0.worker) * 1000) / count,
        producer: (used.user + used.system) / count,
      };
      if (!best || seconds < best.seconds) best = { seconds, rate: count / seconds, cpuUs };
    }
    const c = best.cpuUs;
    log(`${side.id.padEnd(10)} ${fmt(best.rate).padStart(8)} tasks/s end-to-end (${fmt(count)} tasks, ${fmt(best.seconds, 2)} s; ` +
      `CPU µs/task: server ${fmt(c.server)}, worker ${fmt(c.worker)}, producer ${fmt(c.producer)})`);
    const serverRss = serverPids.reduce((sum, pid) => sum + (peakRss(pid).peak ?? NaN), 0);
    return { count, ...best, roundTrip, serverRss, workerRss: peakRss(worker.pid).peak };
  } finally {
    await worker?.stop();
    await producer.close();
  }
}

/**
 * Runs every side: celeriac on broker-server (unless only is 'bullmq' or 'rabbitmq'), celeriac on
 * RabbitMQ + Redis (unless only is 'celeriac' or 'bullmq'; skipped with a line when rabbitmq-server
 * or redis-server is not installed) and BullMQ on both redis modes (unless only is 'celeriac';
 * skipped with a line when redis-server is not installed).
 * Returns { count, calls, repeat, chunk, concurrency, sides: { id → result } }.
 */
export async function run({ count, calls, repeat = 1, chunk = TASKS_DEFAULTS.chunk, concurrency = TASKS_DEFAULTS.concurrency, only, events = false, log = console.log } = {}) {
  const results = { count, calls, repeat, chunk, concurrency, events, sides: {} };
  const opts = { count, calls, repeat, chunk, concurrency, events, log };
  if (only !== 'bullmq' && only !== 'rabbitmq') {
    if (!(await celeriacTasksBuilt())) log('celeriac: task layer not built (npm run build; needs Celeriac in dist/client), skipped');
    else {
      for (const side of TASK_SIDES.filter((s) => s.kind === 'celeriac' && s.home === undefined)) {
        results.sides[side.id] = await withBroker(() => startBrokerProcess({ durability: side.durability }),
          (broker) => measureSide(side, broker.url, broker.pid, opts));
      }
    }
  }
  if (only !== 'celeriac' && only !== 'bullmq') {
    const side = TASK_SIDES.find((s) => s.home === 'rabbitmq');
    if (!rabbitInstalled()) log(`celeriac on ${RABBIT_SKIPPED}`);
    else if (!redisInstalled()) log('celeriac on RabbitMQ + Redis: redis-server not installed (apt-get install redis-server), skipped');
    else if (!(await celeriacTasksBuilt())) log('celeriac on RabbitMQ + Redis: task layer not built (npm run build), skipped');
    else {
      // The app's two URLs: amqp:// to the RabbitMQ node as broker, redis:// as resultBackend.
      results.sides[side.id] = await withBroker(() => startRabbit(), (rabbit) => withBroker(() => startRedis({ persistence: 'none' }),
        (redis) => measureSide(side, rabbit.url, [rabbit.pid, redis.pid], { ...opts, settings: { resultBackend: redis.url } })));
    }
  }
  if (only !== 'celeriac') {
    if (!redisInstalled()) log(REDIS_SKIPPED);
    else if (!(await bullmqInstalled())) log('bullmq: package not installed (npm install, dev dependencies), skipped');
    else {
      for (const side of TASK_SIDES.filter((s) => s.kind === 'bullmq')) {
        // A fresh redis per side: its own persistence mode and its own peak RSS.
        results.sides[side.id] = await withBroker(() => startRedis({ persistence: side.persistence }),
          (redis) => measureSide(side, redis.url, redis.pid, opts));
      }
    }
  }
  return results;
}

/** The figures as one table (a row per side, ratio against BullMQ without persistence). */
export function formatResults(results) {
  const peer = results.sides.bullmq;
  const rows = TASK_SIDES.map((side) => {
    const r = results.sides[side.id];
    const c = r?.cpuUs;
    const cpu = c ? `${fmt(c.server)} / ${fmt(c.worker)} / ${fmt(c.producer)}` : '-';
    return [side.label, fmt(r?.rate), fmt(r?.roundTrip.p50, 3), fmt(r?.roundTrip.p99, 3), fmt(r?.roundTrip.max, 3), cpu,
      mb(r?.serverRss), mb(r?.workerRss), side.id === 'bullmq' ? '' : ratio(r?.rate, peer?.rate)];
  });
  return `Tasks: ${fmt(results.count)} add(a, b) sent, run and their results back at the producer ` +
    `(chunks of ${fmt(results.chunk)}, worker concurrency ${results.concurrency}, best of ${results.repeat}` +
    `${results.events ? '; celeriac worker sends task events, stored by the broker' : ''}); ` +
    `round trip = one send → result, ${fmt(results.calls)} sequential calls\n` +
    `CPU µs/task = CPU time (user + system) of the server / worker / producer process over the best batch, per task` +
    `${results.sides['celeriac-rabbitmq'] ? ' (server = RabbitMQ + redis for the RabbitMQ row, their RSS summed too)' : ''}\n` +
    table(['workload', 'tasks/s', 'rt p50 ms', 'rt p99 ms', 'rt max ms', 'CPU µs/task srv/wrk/prod', 'server peak RSS', 'worker peak RSS', 'vs bullmq'], rows);
}

/** The two targets as [target, this run, verdict] rows. */
export function targetRows(results) {
  const verdict = (ok) => (ok === undefined ? 'not measured' : ok ? 'met' : 'NOT MET');
  const c = results?.sides.celeriac;
  const b = results?.sides.bullmq;
  return [
    ['tasks/s ≥ 2× BullMQ (redis, no persistence)', `${c && b ? fmt(c.rate / b.rate, 2) : '-'}x (${fmt(c?.rate)} vs ${fmt(b?.rate)})`,
      verdict(c && b ? c.rate >= TASK_TARGETS.vsBullmq * b.rate : undefined)],
    ['task round trip p99 ≤ 2 ms', `${fmt(c?.roundTrip.p99, 3)} ms`, verdict(c ? c.roundTrip.p99 <= TASK_TARGETS.p99Ms : undefined)],
  ];
}

if (isMain(import.meta.url)) {
  const opts = parseArgs();
  const results = await run({
    count: opts.count ?? (opts.quick ? TASKS_DEFAULTS.quickCount : TASKS_DEFAULTS.count),
    calls: opts.quick ? TASKS_DEFAULTS.quickCalls : TASKS_DEFAULTS.calls,
    repeat: opts.repeat ?? (opts.quick ? 1 : 2),
    only: opts.only,
    events: opts.events,
  });
  console.log();
  if (opts.json) console.log(JSON.stringify(results, null, 2));
  else {
    console.log(formatResults(results));
    console.log();
    console.log('Targets (issue 3)');
    console.log(table(['target', 'this run', 'verdict'], targetRows(results)));
  }
}
