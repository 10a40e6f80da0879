// How the task benchmark measures one shape on one side: the worker child, the CPU each process
// spends (from /proc), waiting for a server-side completion count, and a shape's runs reduced to
// their best and median.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, deferred, now, percentile, settle, sleep, stopperFor, withTimeout } from './harness.js';

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
 * Spawns bench/tasks-worker.js for `kind` and waits for its "ready" line. Returns { pid, runs(),
 * stop() }: runs() asks it (IPC) how many tasks it has run; stop() sends SIGTERM (a warm
 * shutdown), then SIGKILL after 15 s, to this child only.
 */
export async function startWorkerProcess(kind, url, queue, concurrency, events = false, settings = undefined) {
  const args = [WORKER_SCRIPT, kind, url, queue, String(concurrency), ...(events ? ['events'] : []), ...(settings ? [`settings=${JSON.stringify(settings)}`] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
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
  const runs = () => withTimeout(new Promise((res) => {
    child.once('message', (m) => res(m.runs));
    child.send('runs');
  }), 10_000, `${kind} worker runs`);
  return { pid: child.pid, runs, stop, output: () => output };
}

/**
 * Waits until `count()` (a server-side completion counter, `base` when the run started at
 * `startedAt`) reaches base + n. Polls sparingly, so the polling itself costs the server little:
 * each wait is sized by what is left at the rate so far (70 % of it), between 2 and 200 ms.
 */
export async function waitForCount(count, base, n, startedAt, timeoutMs) {
  const deadline = now() + timeoutMs;
  for (;;) {
    const done = (await count()) - base;
    if (done >= n) return;
    if (now() > deadline) throw new Error(`completions: ${done} of ${n} after ${timeoutMs} ms`);
    const perMs = Math.max(done, 1) / Math.max(now() - startedAt, 1);
    await sleep(Math.min(200, Math.max(2, ((n - done) / perMs) * 0.7)));
  }
}

/** p50, p99 and max of latencies in ms. */
export function spread(latencies) {
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies) };
}

/**
 * Runs a throughput shape `repeat` times: `once()` sends `count` tasks and resolves with their
 * latencies once all are done (for fire-and-forget: once the server counts them all). Each run
 * is timed (first send → done) and the CPU of `procs` (server(), worker(): ms; the producer is
 * this process) taken over it. Returns { runs, best, median }: best = the highest tasks/s, median
 * = the run of the median tasks/s (with its own latencies and CPU).
 */
export async function measureThroughput(once, count, repeat, procs) {
  const runs = [];
  for (let r = 0; r < repeat; r++) {
    await settle();
    const cpu0 = { server: procs.server(), worker: procs.worker(), producer: process.cpuUsage() };
    const t0 = now();
    const latencies = await once(t0);
    const seconds = (now() - t0) / 1000;
    const used = process.cpuUsage(cpu0.producer);
    const cpuUs = {
      server: ((procs.server() - cpu0.server) * 1000) / count,
      worker: ((procs.worker() - cpu0.worker) * 1000) / count,
      producer: (used.user + used.system) / count,
    };
    runs.push({ seconds, rate: count / seconds, latency: spread(latencies), cpuUs });
  }
  return { count, runs, ...bestAndMedian(runs, (r) => -r.rate) };
}

/**
 * Runs `calls` sequential round trips `repeat` times. Returns { runs, best, median }: best = the
 * run with the lowest p99, median = the run of the median p99.
 */
export async function measureRoundTrips(roundTrips, calls, repeat) {
  const runs = [];
  for (let r = 0; r < repeat; r++) {
    await settle();
    runs.push({ latency: spread(await roundTrips(calls)) });
  }
  return { calls, runs, ...bestAndMedian(runs, (r) => r.latency.p99) };
}

/** The run ranked first by `key` (ascending) and the median one (of an even count, the worse middle). */
function bestAndMedian(runs, key) {
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  return { best: sorted[0], median: sorted[Math.floor(sorted.length / 2)] };
}
