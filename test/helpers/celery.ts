// Python Celery for interop tests: Debian's python3-celery (5.2) run by Debian's own python, as
// workers and beats (stopped by PID in teardown) and as short producer scripts, with test/fixtures
// on the path.
import type { Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startService, type Service } from './service-process.js';

/**
 * Debian's interpreter, where python3-celery is installed. Not `python3` from PATH: on a developer
 * machine that is often a pyenv or venv python without Celery.
 */
export const PYTHON = '/usr/bin/python3';

/** test/fixtures: on PYTHONPATH, so `celery_app.tasks` (the fixture app) imports. */
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** A worker waits for the broker's connection, the result backend and its consumers before "ready". */
const READY_TIMEOUT_MS = 40_000;
const SCRIPT_TIMEOUT_MS = 40_000;
/** A line the worker writes right after something the test already saw (a stored result). */
const LOG_TIMEOUT_MS = 10_000;

/**
 * The environment for Debian's python: this process's, minus what points another Python elsewhere
 * (PYTHONHOME, PYTHONPATH, a venv), plus the fixtures on the path, unbuffered output (so "ready" shows
 * when it is printed) and no bytecode written into the checkout.
 */
function pythonEnv(extraPath: readonly string[], extra: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k !== 'PYTHONHOME' && k !== 'PYTHONPATH' && k !== 'VIRTUAL_ENV') env[k] = v;
  }
  return {
    ...env,
    PYTHONPATH: [...extraPath, FIXTURES_DIR].join(':'),
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    ...extra,
  };
}

/** Options of `startCeleryWorker`. */
export interface CeleryWorkerOptions {
  /** Broker URL (`amqp://…`), given as `--broker`. */
  broker: string;
  /** Result backend URL (`redis://…`), given as `--result-backend`; omitted: the app's own setting. */
  backend?: string;
  /** The app's module for `-A` (e.g. `celery_app.tasks`, the fixture). */
  app: string;
  /** Queues to consume (`-Q`); default: Celery's default queue, `celery`. */
  queues?: readonly string[];
  /** Pool (`-P`); default `solo`: one process, the quickest start. Use `prefork` where a test needs time limits. */
  pool?: 'solo' | 'prefork' | 'threads';
  /** More worker arguments, after the ones above (e.g. `['--concurrency', '2']`). */
  args?: readonly string[];
  /** More directories for PYTHONPATH (before test/fixtures). */
  pythonPath?: readonly string[];
  /** More environment variables (e.g. `CELERY_TASK_SERIALIZER` for the fixture app). */
  env?: Readonly<Record<string, string>>;
}

/** A running Python Celery worker. */
export interface CeleryWorker {
  /** Its unique node name (`-n`), e.g. `w-1234-ab12cd@celeriac-test`. */
  readonly hostname: string;
  readonly pid: number;
  /** Its log (stdout and stderr). */
  output(): string;
  /**
   * Resolves once its log matches `pattern` (rejects after 10 s with the log). Celery logs a task's
   * "succeeded" line after it stored the result, so a test that has the result waits for the line.
   */
  logged(pattern: RegExp, what: string): Promise<void>;
  /** Warm shutdown (SIGTERM), then SIGKILL to its process group after `graceMs`. Idempotent; run by teardown. */
  stop(graceMs?: number): Promise<void>;
}

/** The Celery version Debian's python imports; rejects, with Python's message, when `import celery` fails. */
export async function celeryVersion(t: Test): Promise<string> {
  return (await runPython(t, 'import celery; print(celery.__version__)')).trim();
}

/**
 * Starts `python3 -m celery -A <app> worker` with a unique hostname and waits for its "ready" line
 * (rejects after 40 s, or when it exits first, with its log). Stopped when `t` ends.
 */
export async function startCeleryWorker(t: Test, options: CeleryWorkerOptions): Promise<CeleryWorker> {
  const hostname = `w-${process.pid}-${randomBytes(3).toString('hex')}@celeriac-test`;
  const args = ['-m', 'celery', '-A', options.app, '--broker', options.broker];
  if (options.backend !== undefined) args.push('--result-backend', options.backend);
  args.push(
    'worker',
    '--hostname', hostname,
    '--pool', options.pool ?? 'solo',
    '--loglevel', 'INFO',
    // Mingle waits for other workers' replies at start-up and gossip listens to them: neither is
    // wanted between tests that share a broker, and mingle costs a second per start.
    '--without-mingle', '--without-gossip',
  );
  if (options.queues !== undefined) args.push('--queues', options.queues.join(','));
  args.push(...(options.args ?? []));
  const service: Service = startService(PYTHON, args, { env: pythonEnv(options.pythonPath ?? [], options.env ?? {}) });
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 15_000): Promise<void> => (stopping ??= service.stop(graceMs).then(() => undefined));
  t.teardown(() => stop());
  // Celery logs "celery@host ready." once its consumers are attached (celery/apps/worker.py).
  const escaped = hostname.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await service.waitForOutput(new RegExp(`${escaped} ready\\.`), READY_TIMEOUT_MS, `Celery worker ${hostname} to be ready`);
  const logged = (pattern: RegExp, what: string): Promise<void> => service.waitForOutput(pattern, LOG_TIMEOUT_MS, what);
  return { hostname, pid: service.pid, output: () => service.output(), logged, stop };
}

/** Options of `startCeleryBeat`. */
export interface CeleryBeatOptions {
  /** Broker URL (`amqp://…`), given as `--broker`. */
  broker: string;
  /** The app's module for `-A`, whose configuration holds the schedule (e.g. `celery_app.seed_beat`). */
  app: string;
  /** More environment variables. */
  env?: Readonly<Record<string, string>>;
}

/** A running `celery beat`. */
export interface CeleryBeat {
  readonly pid: number;
  /** Its log (stdout and stderr). */
  output(): string;
}

/**
 * Starts `python3 -m celery -A <app> beat` with its schedule file in a temp dir (removed after) and
 * waits for its "beat: Starting..." line (rejects after 40 s, or when it exits first, with its log).
 * Stopped (SIGTERM, then SIGKILL to its group) when `t` ends.
 */
export async function startCeleryBeat(t: Test, options: CeleryBeatOptions): Promise<CeleryBeat> {
  const dir = await mkdtemp(join(tmpdir(), 'celeriac-beat-'));
  const args = [
    '-m', 'celery', '-A', options.app, '--broker', options.broker, 'beat', '--loglevel', 'INFO',
    // Its shelve file, out of the checkout; a max interval of 1 s, so a short schedule is not held back.
    '--schedule', join(dir, 'celerybeat-schedule'), '--max-interval', '1',
  ];
  const service = startService(PYTHON, args, { env: pythonEnv([], options.env ?? {}) });
  t.teardown(async () => {
    await service.stop(10_000);
    await rm(dir, { recursive: true, force: true });
  });
  // celery/apps/beat.py logs "beat: Starting..." once its scheduler is set up.
  await service.waitForOutput(/beat: Starting\.\.\./, READY_TIMEOUT_MS, 'Celery beat to start');
  return { pid: service.pid, output: () => service.output() };
}

/**
 * Runs a Python snippet with Debian's python (`python3 -c script`), the fixtures on the path and
 * `env` added: a Celery producer, a result reader. Resolves its stdout; rejects with its output
 * when it exits non-zero or runs past `timeoutMs`. Killed if `t` ends first.
 */
export async function runPython(t: Test, script: string, env: Readonly<Record<string, string>> = {}, timeoutMs = SCRIPT_TIMEOUT_MS): Promise<string> {
  const service = startService(PYTHON, ['-c', script], { env: pythonEnv([], env) });
  t.teardown(() => service.stop(2_000).then(() => undefined));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
  const result = await Promise.race([service.exited, timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') {
    await service.stop(1_000);
    throw new Error(`python script timed out after ${timeoutMs} ms; output:\n${service.output().slice(-4000)}`);
  }
  if (result.code !== 0) throw new Error(`python script exited ${result.code ?? result.signal}; output:\n${service.output().slice(-4000)}`);
  return service.stdout();
}
