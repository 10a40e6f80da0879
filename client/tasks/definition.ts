// A registered task as the worker and its runners see it: the function and its options resolved
// against the app's settings. The registry maps names to these; isolated runners rebuild it by
// loading the same app module.
import type { RateLimit } from '../app/rate-limit.js';
import type { ErrorMatcher, TaskOptions } from './types.js';

/** Task options with every setting-backed default filled in. Durations in ms. */
export interface ResolvedTaskOptions extends Readonly<TaskOptions> {
  readonly bind: boolean;
  readonly autoretryFor: readonly ErrorMatcher[];
  readonly maxRetries: number | null;
  /** Base of the exponential backoff in ms; 0 = no backoff (retries wait defaultRetryDelay). */
  readonly retryBackoff: number;
  readonly retryBackoffMax: number;
  readonly retryJitter: boolean;
  readonly defaultRetryDelay: number;
  readonly rateLimit: RateLimit | null;
  readonly timeLimit: number | null;
  readonly softTimeLimit: number | null;
  readonly acksLate: boolean;
  readonly rejectOnWorkerLost: boolean;
  readonly trackStarted: boolean;
  readonly ignoreResult: boolean;
}

/** One registered task. `fn` is called with the context as `this` (or first argument when bound). */
export interface TaskDefinition {
  readonly name: string;
  readonly fn: (...args: never[]) => unknown;
  readonly options: ResolvedTaskOptions;
}

/** Where the worker and the runners look tasks up. */
export interface TaskRegistry {
  getTask(name: string): TaskDefinition | undefined;
  taskNames(): string[];
}
