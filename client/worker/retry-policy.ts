// When a retry runs: Celery's exponential backoff (base × 2^retries, capped, full jitter) for
// automatic retries, the task's default delay otherwise. Pure functions.
import type { ErrorMatcher } from '../tasks/types.js';
import type { ResolvedTaskOptions } from '../tasks/definition.js';

/**
 * Delay in ms before retry number `retries + 1` of an automatic retry: with backoff, Celery's
 * get_exponential_backoff_interval (min(cap, base·2^retries), then full jitter in [0, delay] when
 * retryJitter is on); without, the default retry delay.
 */
export function autoretryDelay(o: Pick<ResolvedTaskOptions, 'retryBackoff' | 'retryBackoffMax' | 'retryJitter' | 'defaultRetryDelay'>, retries: number, random: () => number = Math.random): number {
  if (o.retryBackoff <= 0) return o.defaultRetryDelay;
  const exp = Math.min(o.retryBackoffMax, o.retryBackoff * 2 ** Math.min(retries, 52));
  return o.retryJitter ? Math.floor(random() * (exp + 1)) : Math.floor(exp);
}

/** True when `err` is one of the matchers: instanceof a class, or an error whose name equals a string. */
export function matchesAny(err: unknown, matchers: readonly ErrorMatcher[]): boolean {
  for (const m of matchers) {
    if (typeof m === 'string') {
      if (err instanceof Error && (err.name === m || err.constructor.name === m)) return true;
    } else if (err instanceof m) {
      return true;
    }
  }
  return false;
}
