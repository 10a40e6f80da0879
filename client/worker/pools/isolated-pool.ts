// The isolated pools (`threads`, `processes`): `concurrency` runners, each loading the app module
// and running one job at a time. Isolation is what lets the pool enforce what in-process code
// cannot: the hard time limit kills the runner, a crash costs one runner, and runners are recycled
// after maxTasksPerChild tasks or when a task leaves them above maxMemoryPerChild.
import { constants as osConstants } from 'node:os';
import { CeleriacError } from '../../../shared/errors.js';
import { serializeError } from '../../results/remote-error.js';
import type { Pool, PoolInfo, PoolJob, PoolOptions, PoolOutcome, SerializedError } from '../pool-types.js';
import { resolveAppModule } from './load-app.js';
import { ABORTED, softLimitReason, terminatedError, timeLimitError, workerLostError } from './pool-errors.js';
import type { FromRunner } from './runner-protocol.js';
import { assertRunnerEntry, spawnRunner, type RunnerHandle, type RunnerKind } from './runner-handle.js';

/** How long a runner asked to stop may take before it is killed. */
const STOP_GRACE_MS = 5_000;
/** Replacements in a row that may end before loading the app before the pool stops replacing. */
const MAX_START_FAILURES = 3;

interface Waiting {
  readonly job: PoolJob;
  resolve(outcome: PoolOutcome): void;
}

interface Active extends Waiting {
  readonly jobId: number;
  readonly timers: NodeJS.Timeout[];
}

/**
 * starting → idle ⇄ busy; then `retiring` (asked to stop once idle) or `gone` (killed, or ended on
 * its own). Only starting, idle and busy runners count as the pool's runners.
 */
type RunnerState = 'starting' | 'idle' | 'busy' | 'retiring' | 'gone';

interface Runner {
  readonly handle: RunnerHandle;
  state: RunnerState;
  tasks: number;
  active: Active | null;
  loadError: SerializedError | null;
  /** Settles when the app module loaded (or failed to); has a no-op catch so a failure is never unhandled. */
  readonly ready: Promise<void>;
  settleReady(err?: Error): void;
}

/**
 * Builds an isolated pool. `options.appModule` (a path or file URL) is required: each runner loads
 * it. Runner entries are the compiled files beside this module in dist/ (see runnerEntry).
 */
export function createIsolatedPool(kind: RunnerKind, options: PoolOptions): Pool {
  const live: Runner[] = [];
  /** Every runner not yet ended, live or on its way out, so close() can wait for them all. */
  const all = new Set<Runner>();
  const queue: Waiting[] = [];
  const idleWaiters: Array<() => void> = [];
  let entry: URL | null = null;
  let moduleUrl = '';
  let started = false;
  let closing = false;
  /** A replacement runner could not load the app: no more replacements, why kept for the runs left. */
  let broken: SerializedError | null = null;
  let replaced = 0;
  let startFailures = 0;
  let nextJobId = 0;

  function spawn(): Runner {
    const handle = spawnRunner(kind, entry!);
    let settle!: (err?: Error) => void;
    const ready = new Promise<void>((resolve, reject) => { settle = (err) => (err === undefined ? resolve() : reject(err)); });
    ready.catch(() => undefined);
    const r: Runner = { handle, state: 'starting', tasks: 0, active: null, loadError: null, ready, settleReady: settle };
    live.push(r);
    all.add(r);
    handle.onMessage((msg) => onMessage(r, msg));
    handle.onExit((why) => onExit(r, why));
    handle.send({ type: 'init', appModule: moduleUrl });
    return r;
  }

  function onMessage(r: Runner, msg: FromRunner): void {
    switch (msg.type) {
      case 'ready':
        if (r.state !== 'starting') return;
        r.state = 'idle';
        startFailures = 0;
        r.settleReady();
        dispatch();
        return;
      case 'load-error':
        r.loadError = msg.error;
        return;
      case 'done': {
        if (r.active === null || r.active.jobId !== msg.jobId) return; // already ended by the pool
        finish(r, msg.outcome);
        r.tasks += 1;
        const tooMany = options.maxTasksPerChild !== null && r.tasks >= options.maxTasksPerChild;
        const tooBig = options.maxMemoryPerChild !== null && msg.memory > options.maxMemoryPerChild;
        if (r.state === 'busy' && (tooMany || tooBig)) retire(r);
        else if (r.state === 'busy') r.state = 'idle';
        dispatch();
        return;
      }
    }
  }

  function onExit(r: Runner, why: string): void {
    all.delete(r);
    const was = r.state;
    r.state = 'gone';
    drop(r);
    if (r.active !== null) finish(r, { status: 'lost', error: workerLostError(r.active.job, `its ${runnerWord()} ${why}`) });
    if (was === 'starting') {
      const error = r.loadError ?? serializeError(new CeleriacError('ERR_WORKER_LOST', `a ${runnerWord()} ended while loading ${moduleUrl}: ${why}`));
      r.settleReady(rebuild(error));
      // An app that cannot load would fail again: stop replacing instead of looping. A runner
      // that merely died while loading (killed from outside) is replaced, a few times in a row.
      startFailures += 1;
      if (started && (r.loadError !== null || startFailures >= MAX_START_FAILURES)) broken = error;
      else if (started && wantReplacement()) spawn();
    } else if (was === 'idle' || was === 'busy') {
      replaced += 1;
      if (wantReplacement()) spawn();
    }
    dispatch();
  }

  /** Resolves the runner's active run once and clears its timers. */
  function finish(r: Runner, outcome: PoolOutcome): void {
    const a = r.active;
    if (a === null) return;
    r.active = null;
    for (const t of a.timers) clearTimeout(t);
    a.resolve(outcome);
    notifyIdle();
  }

  function drop(r: Runner): void {
    const i = live.indexOf(r);
    if (i >= 0) live.splice(i, 1);
  }

  /** Asks an idle runner to exit; it is killed if it has not within STOP_GRACE_MS. */
  function stopGently(r: Runner): void {
    r.state = 'retiring';
    r.handle.send({ type: 'stop' });
    const timer = setTimeout(() => r.handle.kill(), STOP_GRACE_MS);
    void r.handle.exited.then(() => clearTimeout(timer));
  }

  /** Recycles an idle runner: asks it to exit, starts its replacement at once. */
  function retire(r: Runner): void {
    drop(r);
    replaced += 1;
    stopGently(r);
    if (wantReplacement()) spawn();
  }

  /** Ends the runner's run with `outcome`, kills the runner and starts its replacement. */
  function killWith(r: Runner, outcome: PoolOutcome, signal?: NodeJS.Signals): void {
    finish(r, outcome);
    r.state = 'gone';
    drop(r);
    replaced += 1;
    r.handle.kill(signal);
    if (wantReplacement()) spawn();
    dispatch();
  }

  /**
   * Whether a runner that went away gets a successor: always while open; while closing gently only
   * if runs are still queued (the worker counts them as running, so close(false) must see them end).
   */
  function wantReplacement(): boolean {
    return broken === null && (!closing || queue.length > 0);
  }

  function dispatch(): void {
    while (queue.length > 0) {
      const r = live.find((x) => x.state === 'idle');
      if (r === undefined) break;
      startOn(r, queue.shift()!);
    }
    // Nothing left that could ever run the queue: fail it rather than hang the worker.
    if (broken !== null && live.length === 0) {
      for (const w of queue.splice(0)) w.resolve({ status: 'lost', error: unusable(w.job) });
      notifyIdle();
    }
  }

  function startOn(r: Runner, w: Waiting): void {
    const jobId = ++nextJobId;
    const a: Active = { ...w, jobId, timers: [] };
    r.state = 'busy';
    r.active = a;
    try {
      r.handle.send({ type: 'run', jobId, job: w.job });
    } catch (err) {
      const error = serializeError(err);
      error.message = `the task's arguments cannot be sent to a ${runnerWord()}: ${error.message}`;
      r.state = 'idle';
      finish(r, { status: 'failure', error });
      return;
    }
    const { softTimeLimit, timeLimit } = w.job;
    if (softTimeLimit !== null) {
      a.timers.push(setTimeout(() => {
        if (r.active === a) r.handle.send({ type: 'abort', jobId, ...softLimitReason(w.job, softTimeLimit) });
      }, softTimeLimit));
    }
    if (timeLimit !== null) {
      a.timers.push(setTimeout(() => {
        if (r.active === a) killWith(r, { status: 'timeout', error: timeLimitError(w.job, timeLimit) });
      }, timeLimit));
    }
  }

  function notifyIdle(): void {
    if (queue.length === 0 && live.every((r) => r.active === null)) for (const w of idleWaiters.splice(0)) w();
  }

  function unusable(job: PoolJob): SerializedError {
    return workerLostError(job, broken !== null ? `no ${runnerWord()} can load the app: ${broken.message}` : 'the pool is closed');
  }

  function runnerWord(): string {
    return kind === 'threads' ? 'thread' : 'process';
  }

  let starting: Promise<void> | null = null;
  function start(): Promise<void> {
    starting ??= startRunners();
    return starting;
  }

  async function startRunners(): Promise<void> {
    entry = assertRunnerEntry(kind);
    if (options.appModule === undefined) throw new CeleriacError('ERR_INVALID_ARGUMENT', `the ${kind} pool needs appModule: the module that exports the Celeriac app`);
    moduleUrl = resolveAppModule(options.appModule);
    const first = Array.from({ length: Math.max(1, options.concurrency) }, () => spawn());
    try {
      await Promise.all(first.map((r) => r.ready));
    } catch (err) {
      closing = true;
      for (const r of [...all]) r.handle.kill();
      await Promise.all([...all].map((r) => r.handle.exited));
      throw err;
    }
    started = true;
  }

  function run(job: PoolJob): Promise<PoolOutcome> {
    if (closing || (broken !== null && live.length === 0)) return Promise.resolve({ status: 'lost', error: unusable(job) });
    return new Promise((resolve) => {
      queue.push({ job, resolve });
      dispatch();
    });
  }

  function terminate(taskId: string, signal?: string): boolean {
    const sig = signal !== undefined && signal in osConstants.signals ? (signal as NodeJS.Signals) : 'SIGTERM';
    const r = live.find((x) => x.active?.job.request.id === taskId);
    if (r !== undefined) {
      killWith(r, { status: 'terminated', error: terminatedError(r.active!.job, sig) }, sig);
      return true;
    }
    const i = queue.findIndex((w) => w.job.request.id === taskId);
    if (i < 0) return false;
    const [w] = queue.splice(i, 1);
    w!.resolve({ status: 'terminated', error: terminatedError(w!.job, sig) });
    notifyIdle();
    return true;
  }

  function abortAll(reason: string): void {
    for (const r of live) {
      if (r.active !== null) r.handle.send({ type: 'abort', jobId: r.active.jobId, name: ABORTED, message: reason });
    }
  }

  async function close(force: boolean): Promise<void> {
    closing = true;
    if (force) {
      for (const w of queue.splice(0)) w.resolve({ status: 'lost', error: workerLostError(w.job, 'the worker shut down (cold) before it ran') });
      for (const r of [...all]) {
        if (r.active !== null) finish(r, { status: 'lost', error: workerLostError(r.active.job, 'the worker shut down (cold) while the task ran') });
        r.state = 'gone';
        r.handle.kill();
      }
      live.length = 0;
    } else {
      if (queue.length > 0 || live.some((r) => r.active !== null)) await new Promise<void>((resolve) => idleWaiters.push(resolve));
      for (const r of live) stopGently(r);
      live.length = 0;
    }
    notifyIdle();
    await Promise.all([...all].map((r) => r.handle.exited));
  }

  function info(): PoolInfo {
    return { pool: kind, concurrency: options.concurrency, runners: live.map((r) => r.handle.id), replaced };
  }

  return { name: kind, start, run, terminate, abortAll, close, info };
}

/** A load error from a runner, as an Error of this side (message names the module). */
function rebuild(e: SerializedError): Error {
  const err = e.code === 'ERR_INVALID_ARGUMENT' || e.code === 'ERR_WORKER_LOST'
    ? new CeleriacError(e.code, e.message, { details: { remoteStack: e.stack } })
    : Object.assign(new Error(e.message), { name: e.name });
  return err;
}
