// Tries an action that needs the broker again while the broker cannot be reached, with a wait
// before each retry and a bound on their number (kombu's retry_over_time): a worker starting
// before its broker, a task sent while the broker is down.
import { setTimeout as sleep } from 'node:timers/promises';
import { CeleriacError } from '../../shared/errors.js';
import { backoffDelay, DEFAULT_BACKOFF } from '../backoff.js';
import { isUnreachable } from '../unreachable.js';

/** How many retries, how far apart, and who hears of them. */
export interface RetryPlan {
  /** Retries after the first try; null = for ever, 0 = none. */
  readonly maxRetries: number | null;
  /** The wait before retry `retry` (0-based), ms. */
  delay(retry: number): number;
  /** Told of each failed try another will follow: the error, the retry coming (1-based), its wait. */
  onRetry?(err: CeleriacError, retry: number, delayMs: number): void;
  /** The error thrown when retries run out, from the last one and how many retries were made. */
  giveUp?(last: CeleriacError, retries: number): Error;
  /** Stops waiting at once: the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs `attempt` until it resolves. An error isUnreachable() accepts is retried as `plan` allows;
 * any other error is thrown at once, as is the last one when retries run out (through giveUp).
 */
export async function retryUnreachable<T>(attempt: () => Promise<T>, plan: RetryPlan): Promise<T> {
  for (let retries = 0; ; retries++) {
    plan.signal?.throwIfAborted();
    try {
      return await attempt();
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      const coded = err as CeleriacError;
      if (plan.maxRetries !== null && retries >= plan.maxRetries) throw plan.giveUp?.(coded, retries) ?? coded;
      const wait = plan.delay(retries);
      plan.onRetry?.(coded, retries + 1, wait);
      if (wait > 0) await sleep(wait, undefined, plan.signal === undefined ? {} : { signal: plan.signal }).catch(() => plan.signal?.throwIfAborted());
    }
  }
}

/** Where a worker's start-up retry lines go: a worker log fits. */
export type RetryLog = (level: 'error', message: string) => void;

/** A worker's first connection: retried with the connection backoff, one log line per failed try. */
export function startupPlan(maxRetries: number | null, log: RetryLog, signal?: AbortSignal): RetryPlan {
  return {
    maxRetries,
    signal,
    delay: (retry) => backoffDelay(retry, DEFAULT_BACKOFF),
    // Celery's line: "consumer: Cannot connect to amqp://...: [Errno 111] Connection refused.
    // Trying again in 2.00 seconds... (1/100)"
    onRetry: (err, retry, wait) => log('error', `consumer: ${err.message}. Trying again in ${(wait / 1000).toFixed(2)} seconds... (${retry}/${maxRetries ?? 'unlimited'})`),
    // With no retries allowed (0), the error is the one of the single try, unchanged.
    giveUp: (last, retries) => (retries === 0 ? last : new CeleriacError(last.code, `${last.message} (gave up after ${retries} ${retries === 1 ? 'retry' : 'retries'}: brokerConnectionMaxRetries)`, {
      cause: last, details: { ...last.details, retries },
    })),
  };
}
