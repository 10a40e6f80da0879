// Cluster-wide task rate limits: one GCRA bucket per (vhost, key) in memory, shared by every
// worker that asks, plus override rates set by the rate_limit control command (in memory too).
import { fail } from '../../shared/errors.js';
import type { RateLimitSpec, RateOverride } from '../../shared/frames.js';

/** Longest bucket key, in bytes (keys are task names). */
const MAX_KEY_BYTES = 255;

const keyOf = (vhost: string, key: string): string => `${vhost}\u0000${key}`;

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '' || Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw fail('ERR_INVALID_ARGUMENT', `a rate limit key must be a string of 1 to ${MAX_KEY_BYTES} bytes`);
  }
}

function checkRate(count: unknown, intervalMs: unknown, what: string): RateLimitSpec {
  if (typeof count !== 'number' || !Number.isFinite(count) || count < 0) {
    throw fail('ERR_INVALID_ARGUMENT', `${what}: 'count' must be a finite number >= 0 (0 = no limit)`, { count });
  }
  if (count === 0) return { count: 0, intervalMs: typeof intervalMs === 'number' ? intervalMs : 0 };
  if (typeof intervalMs !== 'number' || !Number.isSafeInteger(intervalMs) || intervalMs <= 0) {
    throw fail('ERR_INVALID_ARGUMENT', `${what}: 'intervalMs' must be a positive integer (ms)`, { intervalMs });
  }
  return { count, intervalMs };
}

/**
 * GCRA with a burst of one (Celery's per-worker token bucket starts full with capacity 1; here the
 * whole cluster shares it). Each bucket keeps the theoretical arrival time `tat` of the next free
 * slot; a caller's slot starts at max(now, tat), and tat moves one emission interval on — so the
 * broker hands out slots interval/count apart and N workers together never exceed the rate.
 */
export class RateLimiter {
  private readonly tat = new Map<string, number>();
  private readonly overrides = new Map<string, RateLimitSpec>();

  constructor(private readonly now: () => number) {}

  /** Reserves the next slot of bucket `key`; returns the ms to wait before starting (0 = now). */
  acquire(vhost: string, key: unknown, count: unknown, intervalMs: unknown): number {
    checkKey(key);
    const k = keyOf(vhost, key);
    const asked = checkRate(count, intervalMs, 'rateAcquire');
    const rate = this.overrides.get(k) ?? asked;
    if (rate.count === 0) return 0;
    const now = this.now();
    const start = Math.max(now, this.tat.get(k) ?? now);
    this.tat.set(k, start + rate.intervalMs / rate.count);
    return Math.ceil(start - now);
  }

  /**
   * Sets bucket `key`'s override rate, or clears it (null): callers' own rates apply again. Either
   * way the bucket starts full, as Celery's does when a worker's rate limit changes.
   */
  set(vhost: string, key: unknown, count: unknown, intervalMs: unknown): void {
    checkKey(key);
    const k = keyOf(vhost, key);
    if (count === undefined || count === null) this.overrides.delete(k);
    else this.overrides.set(k, checkRate(count, intervalMs, 'rateSet'));
    this.tat.delete(k);
  }

  /** The override rates of `vhost`, by key. */
  list(vhost: string): RateOverride[] {
    const prefix = keyOf(vhost, '');
    const out: RateOverride[] = [];
    for (const [k, r] of this.overrides) if (k.startsWith(prefix)) out.push({ key: k.slice(prefix.length), count: r.count, intervalMs: r.intervalMs });
    return out;
  }

  /** Forgets buckets whose slots are all in the past (they start full again, as new ones do). */
  sweep(now: number): void {
    for (const [k, tat] of this.tat) if (tat <= now) this.tat.delete(k);
  }
}
