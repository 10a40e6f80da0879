// The `async` pool: runs task functions in the worker's own process and event loop, for I/O-bound
// tasks. Each run gets an abort signal that the soft limit, terminate and shutdown abort.
//
// Limitation (as Celery's non-prefork pools: threads, eventlet, gevent): in-process code cannot be
// killed. At the hard time limit, on terminate and on a forced close the run's signal is aborted
// and the run resolves at once (timeout / terminated / lost); the task's own promise is left to
// settle on its own and its result is ignored. A task that ignores its signal keeps running, and a
// task that blocks the event loop blocks the whole worker: use the `threads` or `processes` pool
// for CPU-bound or untrusted tasks.
import { serializeError } from '../../results/remote-error.js';
import type { TaskRegistry } from '../../tasks/definition.js';
import type { Pool, PoolInfo, PoolJob, PoolOptions, PoolOutcome } from '../pool-types.js';
import { LazyAbort } from '../lazy-abort.js';
import { runTask } from '../run-task.js';
import {
  ABORTED, abortReason, softLimitReason, TERMINATED, TIME_LIMIT, terminatedError, timeLimitError,
  unknownTaskError, workerLostError,
} from './pool-errors.js';

/**
 * One run in the pool. Its abort signal is built only if the task reads it or a limit, terminate or
 * shutdown aborts it (lazy-abort.ts); its timers exist only for the limits it has.
 */
class AsyncRun {
  readonly abort = new LazyAbort();
  private done = false;
  private softTimer: NodeJS.Timeout | undefined;
  private hardTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly job: PoolJob,
    private readonly resolve: (outcome: PoolOutcome) => void,
    private readonly ended: (run: AsyncRun) => void,
  ) {}

  /**
   * Arms the soft and hard limits the job has. A soft limit at or past the hard one is not armed:
   * the hard limit comes first and ends the run.
   */
  arm(): void {
    const { job } = this;
    const hard = job.timeLimit;
    if (job.softTimeLimit !== null && (hard === null || job.softTimeLimit < hard)) {
      const limit = job.softTimeLimit;
      this.softTimer = setTimeout(() => {
        // Deferred to the check phase: after a stalled loop Node runs every due timer in one pass,
        // list by list (one list per delay, ordered by its oldest timer), so the soft timer may run
        // before a hard one that is also due, and a task ending on its signal would then settle
        // (in the microtasks between two lists) before the hard limit. A hard limit due in the same
        // pass now settles the run first, and the soft abort is dropped.
        setImmediate(() => {
          if (this.done) return;
          const r = softLimitReason(job, limit);
          this.abort.abort(abortReason(r.name, r.message));
        });
      }, limit);
    }
    if (hard !== null) {
      this.hardTimer = setTimeout(() => {
        const error = timeLimitError(job, hard);
        this.abort.abort(abortReason(TIME_LIMIT, error.message));
        this.settle({ status: 'timeout', error });
      }, hard);
    }
  }

  /** Resolves the run once; later calls are ignored (the stray promise of a timed-out task). */
  settle(outcome: PoolOutcome): void {
    if (this.done) return;
    this.done = true;
    if (this.softTimer !== undefined) clearTimeout(this.softTimer);
    if (this.hardTimer !== undefined) clearTimeout(this.hardTimer);
    this.resolve(outcome);
    this.ended(this);
  }
}

/**
 * Builds the in-process pool over `registry`. `options.concurrency` is reported in info() only:
 * the worker never hands a pool more runs than its concurrency.
 */
export function createAsyncPool(registry: TaskRegistry, options: PoolOptions): Pool {
  const running = new Set<AsyncRun>();
  const idleWaiters: Array<() => void> = [];
  let closed = false;
  const ended = (entry: AsyncRun): void => {
    running.delete(entry);
    if (running.size === 0 && idleWaiters.length > 0) for (const w of idleWaiters.splice(0)) w();
  };

  function run(job: PoolJob): Promise<PoolOutcome> {
    if (closed) return Promise.resolve({ status: 'lost', error: workerLostError(job, 'the pool is closed') });
    const def = registry.getTask(job.taskName);
    if (def === undefined) return Promise.resolve({ status: 'failure', error: unknownTaskError(job) });
    return new Promise<PoolOutcome>((resolve) => {
      const entry = new AsyncRun(job, resolve, ended);
      running.add(entry);
      entry.arm();
      // runTask never rejects; the second handler only guards against a bug turning into a hang.
      runTask(def, job, entry.abort).then(
        (outcome) => entry.settle(outcome),
        (err: unknown) => entry.settle({ status: 'failure', error: serializeError(err) }),
      );
    });
  }

  function terminate(taskId: string, signal = 'SIGTERM'): boolean {
    for (const r of running) {
      if (r.job.request.id !== taskId) continue;
      const error = terminatedError(r.job, signal);
      r.abort.abort(abortReason(TERMINATED, error.message));
      r.settle({ status: 'terminated', error });
      return true;
    }
    return false;
  }

  function abortAll(reason: string): void {
    for (const r of running) r.abort.abort(abortReason(ABORTED, reason));
  }

  async function close(force: boolean): Promise<void> {
    closed = true;
    if (force) {
      for (const r of [...running]) {
        r.abort.abort(abortReason(ABORTED, 'the worker shut down (cold)'));
        r.settle({ status: 'lost', error: workerLostError(r.job, 'the worker shut down (cold) while the task ran') });
      }
      return;
    }
    if (running.size > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
  }

  function info(): PoolInfo {
    return { pool: 'async', concurrency: options.concurrency, runners: [process.pid], replaced: 0 };
  }

  return { name: 'async', start: () => Promise.resolve(), run, terminate, abortAll, close, info };
}
