// The messages between an isolated pool and its runners (worker threads or child processes).
// Plain structured-cloneable objects only; every job message carries the pool's job id so a late
// message from a runner that was already given up on is recognised and dropped.
import type { PoolJob, PoolOutcome, SerializedError } from '../pool-types.js';

/** Parent → runner. */
export type ToRunner =
  /** First message: load this app module (an absolute file URL). */
  | { type: 'init'; appModule: string }
  /** Run one job; the runner runs one at a time. */
  | { type: 'run'; jobId: number; job: PoolJob }
  /** Abort the run's AbortSignal with an Error of this name and message (soft limit, abortAll). */
  | { type: 'abort'; jobId: number; name: string; message: string }
  /** Exit once idle (maxTasksPerChild, maxMemoryPerChild, close). */
  | { type: 'stop' };

/** Runner → parent. */
export type FromRunner =
  /** The app module loaded; these are its task names. */
  | { type: 'ready'; taskNames: string[] }
  /** The app module could not be loaded; the runner exits after sending this. */
  | { type: 'load-error'; error: SerializedError }
  /** A job ended; `memory` is the runner's memory after it, in bytes (RSS, or heap for threads). */
  | { type: 'done'; jobId: number; outcome: PoolOutcome; memory: number };

/** How a runner entry talks to its parent: the port of a thread or the IPC channel of a process. */
export interface RunnerPort {
  /** Sends a message; throws when the message is not cloneable. */
  send(msg: FromRunner): void;
  onMessage(handler: (msg: ToRunner) => void): void;
  /** Memory figure compared with maxMemoryPerChild, in bytes. */
  memory(): number;
  /** Ends this runner (after a stop or a load error). */
  exit(code: number): void;
}
