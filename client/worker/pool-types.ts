// The contract between the worker (which owns messages, acks and results) and its pools (which
// only run task functions). Plain data crosses it, so isolated runners can sit behind it.
import type { WorkerPool } from '../app/settings.js';
import type { RequestInfo } from '../tasks/types.js';

/** One task run handed to a pool. Everything here is structured-cloneable. */
export interface PoolJob {
  taskName: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  request: RequestInfo;
  /** Hard limit in ms: the pool stops the run (isolated pools kill the runner); null = none. */
  timeLimit: number | null;
  /** Soft limit in ms: the run's AbortSignal fires; null = none. */
  softTimeLimit: number | null;
}

/** An error as it crosses runners and the result store: Celery's exc_type / exc_message / traceback. */
export interface SerializedError {
  /** The error class name (Celery's exc_type). */
  name: string;
  message: string;
  /** The stack (Celery's traceback). */
  stack: string;
  /** The error's `code` when it has one (a CeleriacError's code). */
  code?: string;
}

/** How one run ended. A pool's run() never rejects: every end is one of these. */
export type PoolOutcome =
  | { status: 'success'; value: unknown }
  | { status: 'failure'; error: SerializedError }
  /** The task asked for a retry (ctx.retry) or threw an autoretryFor error; `countdown` is already computed. */
  | { status: 'retry'; error: SerializedError | null; countdown: number; maxRetries: number | null; autoretry: boolean }
  /** The hard time limit stopped it. */
  | { status: 'timeout'; error: SerializedError }
  /** Its runner died (crashed, killed, out of memory). */
  | { status: 'lost'; error: SerializedError }
  /** Stopped by a revoke with terminate. */
  | { status: 'terminated'; error: SerializedError };

/** What a pool reports for inspect stats. */
export interface PoolInfo {
  pool: WorkerPool;
  concurrency: number;
  /** Pids (processes) or thread ids (threads) of live runners; the worker's own pid for async. */
  runners: number[];
  /** Runners replaced so far (maxTasksPerChild, maxMemoryPerChild, time limit kills, crashes). */
  replaced: number;
}

/** A pool runs task functions, at most `concurrency` at once (the worker never asks for more). */
export interface Pool {
  readonly name: WorkerPool;
  /** Starts the runners (isolated pools load the app module in each). */
  start(): Promise<void>;
  /** Runs one job; resolves with how it ended, never rejects. */
  run(job: PoolJob): Promise<PoolOutcome>;
  /** Stops the run of this task id now (revoke with terminate); false when it is not running here. */
  terminate(taskId: string, signal?: string): boolean;
  /** Aborts the AbortSignal of every running task (cold shutdown), without killing yet. */
  abortAll(reason: string): void;
  /** Stops the runners; `force` kills them even with tasks running. */
  close(force: boolean): Promise<void>;
  info(): PoolInfo;
}

/** What every pool is built from. */
export interface PoolOptions {
  concurrency: number;
  /** Isolated pools: the module (path or file URL) whose default export or `app` export is the Celeriac app. */
  appModule?: string;
  /** Replace an isolated runner after this many tasks. */
  maxTasksPerChild: number | null;
  /** Replace an isolated runner after a task leaves it above this resident memory, in bytes. */
  maxMemoryPerChild: number | null;
}
