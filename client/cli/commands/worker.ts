// `celeriac worker`: loads the app, prints the banner, runs a worker until SIGINT/SIGTERM (warm
// shutdown: running tasks finish), a second signal stops at once (cold). Exit 0 after either.
import { hostname as osHostname } from 'node:os';
import { WORKER_POOLS, type WorkerPool } from '../../app/settings.js';
import type { Beat } from '../../beat/beat.js';
import type { Worker, WorkerLog, WorkerOptions } from '../../worker/worker.js';
import { parseChoice, parseInteger, parseSize, UsageError, type CommandSpec } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import type { LoadedApp } from '../load-app.js';
import { maskUrlPassword } from '../../../shared/mask-url.js';
import { makeLogger, shortRepr } from '../output.js';
import { packageVersion } from '../version.js';

const spec: CommandSpec = {
  name: 'worker',
  summary: 'run a worker consuming the app\'s tasks',
  positionals: '',
  description: [
    'Consumes task messages from the queues, runs them in the pool and stores their results.',
    'SIGINT/SIGTERM: warm shutdown (running tasks finish, prefetched ones go back to the queue);',
    'a second signal: cold shutdown (running tasks are stopped). Exit code 0 after either.',
    '-B also runs a beat in this process (as `celeriac beat` does): it sends the periodic tasks while',
    'it holds the leader lease in the broker, so -B on every worker still fires each run once.',
  ],
  flags: [
    { flag: 'queues', short: 'Q', env: 'CELERIAC_QUEUES', kind: 'list', metavar: 'NAMES', default: "the app's taskDefaultQueue", help: 'queues to consume, comma-separated (repeatable)' },
    { flag: 'concurrency', short: 'c', env: 'CELERIAC_CONCURRENCY', kind: 'string', metavar: 'N', default: 'the app\'s workerConcurrency', help: 'tasks run at once' },
    { flag: 'pool', short: 'P', env: 'CELERIAC_POOL', kind: 'string', metavar: WORKER_POOLS.join('|'), default: 'the app\'s workerPool', help: 'async: in this process (I/O-bound tasks); threads, processes: isolated runners that load the module' },
    { flag: 'hostname', short: 'n', env: 'CELERIAC_HOSTNAME', kind: 'string', metavar: 'NAME', default: 'celeriac-<pid>-1@<host>', help: 'node name in inspect replies and events; %h = host name, %n = its first label, %d = its domain' },
    { flag: 'prefetch-multiplier', env: 'CELERIAC_PREFETCH_MULTIPLIER', kind: 'string', metavar: 'N', default: 'the app\'s workerPrefetchMultiplier', help: 'prefetch = concurrency × N (0 = no limit)' },
    { flag: 'max-tasks-per-child', env: 'CELERIAC_MAX_TASKS_PER_CHILD', kind: 'string', metavar: 'N', default: 'the app\'s workerMaxTasksPerChild', help: 'replace an isolated runner after N tasks' },
    { flag: 'task-events', short: 'E', env: 'CELERIAC_TASK_EVENTS', kind: 'bool', default: "the app's workerSendTaskEvents", help: 'publish task events (task-received, task-started, task-succeeded, ...) for monitors' },
    { flag: 'beat', short: 'B', env: 'CELERIAC_WORKER_BEAT', kind: 'bool', help: 'also run a beat in this process (periodic tasks; one leader among all beats)' },
    { flag: 'max-memory-per-child', env: 'CELERIAC_MAX_MEMORY_PER_CHILD', kind: 'string', metavar: 'BYTES', default: 'the app\'s workerMaxMemoryPerChild', help: 'replace an isolated runner above this memory (k, m or g suffix)' },
  ],
  examples: [
    'celeriac worker -A ./tasks.js -Q web_tasks,default -c 4 --pool threads -l info',
    'celeriac worker -A ./tasks.js -B',
    'CELERIAC_BROKER=ws://broker:5680 celeriac worker -A ./tasks.js -n worker1@%h',
  ],
};

/** Celery's node name expansions: %h host name, %n its first label, %d the rest (domain). */
export function expandHostname(name: string, host: string = osHostname()): string {
  const dot = host.indexOf('.');
  const short = dot < 0 ? host : host.slice(0, dot);
  const domain = dot < 0 ? '' : host.slice(dot + 1);
  return name.replace(/%([hnd%])/g, (_, c: string) => (c === 'h' ? host : c === 'n' ? short : c === 'd' ? domain : '%'));
}

/** The worker's options from the flags (each falls back to the app's setting inside the Worker). */
function workerOptions(ctx: CommandContext, loaded: LoadedApp, log: WorkerLog): WorkerOptions {
  const a = ctx.args;
  const opts: WorkerOptions = { log };
  const queues = a.list('queues');
  if (queues.length > 0) opts.queues = [...new Set(queues)];
  const c = a.string('concurrency');
  if (c !== undefined) opts.concurrency = parseInteger(c, 1, 65_535);
  const p = a.string('pool');
  if (p !== undefined) opts.pool = parseChoice<WorkerPool>(p, WORKER_POOLS);
  const n = a.string('hostname');
  if (n !== undefined) {
    if (n.raw.trim() === '') throw new UsageError(`${n.source} expects a node name`);
    opts.hostname = expandHostname(n.raw.trim());
  }
  const pm = a.string('prefetch-multiplier');
  if (pm !== undefined) opts.prefetchMultiplier = parseInteger(pm, 0, 65_535);
  const mt = a.string('max-tasks-per-child');
  if (mt !== undefined) opts.maxTasksPerChild = parseInteger(mt, 1);
  const mm = a.string('max-memory-per-child');
  if (mm !== undefined) opts.maxMemoryPerChild = parseSize(mm);
  if (a.bool('task-events')) opts.sendEvents = true;
  if (loaded.modulePath !== undefined) opts.appModule = loaded.modulePath;
  return opts;
}

/** Celery-like start-up banner: who, where, how, and what it runs. */
function banner(worker: Worker, loaded: LoadedApp, taskEvents: boolean, beat: Beat | undefined): string {
  const s = loaded.app.settings;
  const tasks = loaded.app.taskNames();
  const queueRows = worker.queues.map((q) => {
    const def = s.taskQueues.find((x) => x.name === q);
    return def === undefined ? `.> ${q}` : `.> ${q.padEnd(16)} exchange=${def.exchange}(${def.exchangeType}) key=${def.routingKey}`;
  });
  return [
    '',
    ` -------------- ${worker.hostname} v${packageVersion()}`,
    '[config]',
    `.> app:         ${loaded.label}${loaded.modulePath === undefined ? '' : ` (${loaded.modulePath})`}`,
    `.> transport:   ${maskUrlPassword(s.broker)}`,
    `.> results:     ${maskUrlPassword(s.resultBackend)}`,
    `.> concurrency: ${worker.concurrency} (${worker.poolName})`,
    `.> prefetch:    ${worker.prefetch === 0 ? 'unlimited' : worker.prefetch}`,
    `.> task events: ${taskEvents ? 'ON' : 'OFF'}`,
    `.> beat:        ${beat === undefined ? 'OFF' : `ON (${beat.holder}, lease '${beat.leaseName}')`}`,
    '',
    '[queues]',
    ...queueRows,
    '',
    '[tasks]',
    ...(tasks.length === 0 ? ['  (none registered)'] : tasks.map((t) => `  . ${t}`)),
    '',
    '',
  ].join('\n');
}

async function run(ctx: CommandContext): Promise<number> {
  const loaded = await ctx.loadApp({ required: true });
  const log = makeLogger(ctx.logLevel, ctx.output);
  const options = workerOptions(ctx, loaded, log);
  const worker = loaded.app.worker(options);
  // -B: a beat beside the worker, on its own connection; it stops first on shutdown (no new fires).
  const beat = ctx.args.bool('beat') ? loaded.app.beat({ log }) : undefined;
  worker.on('task-received', (e) => log('info', `Task ${e.name ?? '?'}[${e.uuid}] received`));
  worker.on('task-succeeded', (e) => log('info', `Task ${e.name ?? '?'}[${e.uuid}] succeeded in ${String(e['runtime'])}s: ${shortRepr(e['result'])}`));

  // Shutdown: the first signal is warm, the second cold, a third gives up on a clean exit.
  let signals = 0;
  let closing: Promise<void> | undefined;
  let started = false;
  // Stops the wait for a broker that is not up yet when a signal comes first.
  const waiting = new AbortController();
  const shutdown = (force: boolean): void => {
    // Every close() call returns the one shutdown under way (a forced one turns it cold).
    closing = Promise.all([beat?.close(), worker.close({ force })]).then(() => {});
  };
  const removeSignal = ctx.onSignal((signal) => {
    signals++;
    if (signals === 1) {
      log('warn', `${signal}: warm shutdown (running tasks finish; ${signal} again for a cold shutdown)`);
      if (started) shutdown(false);
      else waiting.abort(new Error(`${signal} while waiting for the broker`));
    } else if (signals === 2) {
      log('warn', `${signal} again: cold shutdown (running tasks are stopped)`);
      if (started) shutdown(true);
    } else {
      ctx.output.err(`celeriac: ${signal} a third time, exiting without a clean shutdown\n`);
      process.exit(1);
    }
  });

  // Reach the broker before printing the banner, so an unreachable one is one error line, not a
  // banner and then an error. A broker not up yet is waited for as Celery's worker does
  // (brokerConnectionRetryOnStartup, brokerConnectionMaxRetries), one log line per try.
  try {
    await loaded.app.link({ startup: { log, signal: waiting.signal } });
  } catch (err) {
    removeSignal();
    await loaded.app.close();
    // Stopped by a signal while waiting: a shutdown like any other.
    if (waiting.signal.aborted) return 0;
    throw err;
  }
  ctx.output.out(banner(worker, loaded, options.sendEvents ?? loaded.app.settings.workerSendTaskEvents, beat));
  // A remote `shutdown` control command closes the worker without a signal: exit then too.
  const offline = new Promise<void>((res) => worker.once('worker-offline', () => res()));
  try {
    await worker.start();
  } catch (err) {
    removeSignal();
    await loaded.app.close();
    throw err;
  }
  try {
    await beat?.start();
  } catch (err) {
    removeSignal();
    await worker.close({ force: true });
    await loaded.app.close();
    throw err;
  }
  started = true;
  if (signals >= 1) shutdown(signals >= 2);
  await offline;
  await closing;
  await beat?.close();
  removeSignal();
  await loaded.app.close();
  return 0;
}

/** The `worker` command. */
export const workerCommand: Command = { spec, defaultLogLevel: 'info', run };
