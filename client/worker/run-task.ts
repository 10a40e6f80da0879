// Runs one task function and classifies how it ended. The same code runs in the worker's own
// process (async pool) and inside isolated runners, so retries behave the same in every pool.
import { serializeError } from '../results/remote-error.js';
import type { TaskDefinition } from '../tasks/definition.js';
import type { RetryOptions, TaskContext } from '../tasks/types.js';
import type { AbortSource } from './lazy-abort.js';
import type { PoolJob, PoolOutcome } from './pool-types.js';
import { autoretryDelay, matchesAny } from './retry-policy.js';

/** Thrown by `ctx.retry()`; the runner turns it into a retry outcome. */
export class RetryRequest extends Error {
  constructor(readonly options: RetryOptions) {
    super(options.exc instanceof Error ? `Retry: ${options.exc.message}` : 'Retry requested');
    this.name = 'Retry';
  }
}

/** `ctx.retry()`: one function shared by every context, not a closure per task. */
function requestRetry(options: RetryOptions = {}): never {
  throw new RetryRequest(options);
}

/**
 * Builds the context a task function sees. `signal` is read from `abort` only when the task reads
 * it, so a run whose task never looks at it never builds an AbortController (see lazy-abort.ts).
 */
export function makeContext(job: PoolJob, abort: AbortSource): TaskContext {
  return {
    id: job.request.id,
    name: job.taskName,
    retries: job.request.retries,
    get signal(): AbortSignal {
      return abort.signal;
    },
    request: job.request,
    retry: requestRetry,
  };
}

/**
 * Positional args, plus the kwargs as one trailing object when a producer sent any (a Celery
 * producer may call a TypeScript task with keyword arguments).
 */
function argsOf(job: PoolJob): unknown[] {
  return Object.keys(job.kwargs).length === 0 ? job.args : [...job.args, job.kwargs];
}

/**
 * Calls the task and says how it ended: success; a retry (ctx.retry(), or an autoretryFor error,
 * with its delay computed here); or a failure. Time limits, termination and lost runners are the
 * pool's to detect; this never rejects.
 */
export async function runTask(def: TaskDefinition, job: PoolJob, abort: AbortSource): Promise<PoolOutcome> {
  const ctx = makeContext(job, abort);
  try {
    const fn = def.fn as (...args: unknown[]) => unknown;
    const value = def.options.bind ? await fn.call(undefined, ctx, ...argsOf(job)) : await fn.apply(ctx, argsOf(job));
    return { status: 'success', value };
  } catch (err) {
    if (err instanceof RetryRequest) {
      const o = err.options;
      const countdown = o.eta !== undefined ? Math.max(0, o.eta.getTime() - Date.now()) : (o.countdown ?? def.options.defaultRetryDelay);
      const maxRetries = o.maxRetries !== undefined ? o.maxRetries : def.options.maxRetries;
      return { status: 'retry', error: o.exc === undefined ? null : serializeError(o.exc), countdown, maxRetries, autoretry: false };
    }
    if (def.options.autoretryFor.length > 0 && matchesAny(err, def.options.autoretryFor)) {
      return {
        status: 'retry', error: serializeError(err), countdown: autoretryDelay(def.options, job.request.retries),
        maxRetries: def.options.maxRetries, autoretry: true,
      };
    }
    return { status: 'failure', error: serializeError(err) };
  }
}
