// What conformance scenarios share: apps and in-process workers on a home's URLs, closed by the
// scenario's teardown; unique names; worker child processes for the kill tests. Public API only.
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Celeriac, CeleriacError, type SettingsInput, type Worker, type WorkerOptions } from '../../client/index.js';
import { plainChildEnv } from '../helpers/plain-children.js';
import { until } from '../helpers/wait.js';
import type { HomeUrls } from './homes.js';

/** Result waits: long enough that a result left PENDING shows as ERR_RESULT_TIMEOUT on a busy machine, not as a slow success. */
export const GET = { timeout: 15_000 } as const;

let counter = 0;
/** A queue name (and task-name prefix) no other scenario, file or home uses. */
export const unique = (prefix: string): string => `conf-${prefix}-${process.pid}-${++counter}`;

/** Apps and workers of one scenario in one home. */
export interface ScenarioEnv {
  /** A new app on the home's broker and result backend (concurrency 2 unless `settings` says), closed at teardown. */
  app(settings?: SettingsInput): Celeriac;
  /**
   * Starts a worker of `app` (its log kept quiet unless `options.log` is given), closed at teardown;
   * `listen` attaches event listeners before it starts (it may take a message as it starts).
   */
  worker(app: Celeriac, options: WorkerOptions, listen?: (w: Worker) => void): Promise<Worker>;
}

/** Apps and workers for a scenario; teardown closes the workers first (forced), then the apps. */
export function scenarioEnv(t: Test, home: HomeUrls): ScenarioEnv {
  const apps: Celeriac[] = [];
  const workers: Worker[] = [];
  t.teardown(async () => {
    await Promise.all(workers.map((w) => w.close({ force: true }).catch(() => undefined)));
    await Promise.all(apps.map((a) => a.close()));
  });
  return {
    app(settings = {}) {
      const app = new Celeriac({ broker: home.broker, resultBackend: home.resultBackend, workerConcurrency: 2, ...settings });
      apps.push(app);
      return app;
    },
    async worker(app, options, listen) {
      const w = app.worker({ log: () => undefined, ...options });
      workers.push(w);
      listen?.(w);
      await w.start();
      return w;
    },
  };
}

/** Collects a worker's log lines (`level: message`) for assertions. */
export function captureLog(): { lines: string[]; log: NonNullable<WorkerOptions['log']> } {
  const lines: string[] = [];
  return { lines, log: (level, message) => lines.push(`${level}: ${message}`) };
}

/** The coded error `p` rejects with; fails when it resolves or rejects with something uncoded. */
export async function rejection(p: Promise<unknown>): Promise<CeleriacError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CeleriacError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

const WORKER_SCRIPT = fileURLToPath(new URL('./fixtures/conformance-worker.mjs', import.meta.url));

/** A worker child process (fixtures/conformance-worker.mjs) and the lines it reported. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly lines: string[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** For a held process: lets its worker start consuming; resolves once it reports ready. */
  start(): Promise<void>;
}

/**
 * Spawns a worker process of fixtures/conformance-worker.mjs on the home (its two URLs passed in
 * its environment), consuming `queue` (late acks, concurrency 1, prefetch 1), without tap's hooks;
 * resolves once it reports ready. With `held`, it resolves once the process has loaded and built
 * its app, and the worker starts consuming at `start()`: the seconds a process takes to load can
 * pass while another worker runs. Teardown kills it (by its pid) if the scenario left it running.
 */
export async function spawnWorkerProcess(t: Test, home: HomeUrls, queue: string, options: { held?: boolean } = {}): Promise<WorkerProcess> {
  const held = options.held === true;
  const env = plainChildEnv({
    CONFORMANCE_BROKER: home.broker,
    CONFORMANCE_RESULT_BACKEND: home.resultBackend,
    CONFORMANCE_QUEUE: queue,
    ...(held ? { CONFORMANCE_HOLD: '1' } : {}),
  });
  const child = spawn(process.execPath, [WORKER_SCRIPT], { env, stdio: [held ? 'pipe' : 'ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const lines: string[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  const reported = async (line: string, what: string): Promise<void> => {
    await until(() => lines.includes(line) || child.exitCode !== null, 30_000, what);
    if (!lines.includes(line)) throw new Error(`the worker process exited (${child.exitCode}) before it was ${line}`);
  };
  const start = async (): Promise<void> => {
    if (held) child.stdin!.end('start\n');
    await reported('ready', 'the worker process to be ready');
  };
  if (held) await reported('loaded', 'the worker process to load');
  else await start();
  return { child, pid: child.pid!, lines, exited, start };
}
