// Cluster-wide task rate limits: one GCRA bucket per (vhost, key) in memory, shared by every
// worker that asks, the slots given back to it, and override rates set by the rate_limit control
// command (in memory too).
import { fail } from '../../shared/errors.js';
import type { RateLimitSpec, RateOverride, RateSlot } from '../../shared/frames.js';

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

/** Released slots one bucket keeps at most (a bound on what a misbehaving client can make it hold). */
const MAX_RELEASED = 10_000;

/**
 * GCRA with a burst of one (Celery's per-worker token bucket starts full with capacity 1; here the
 * whole cluster shares it). Each bucket keeps the theoretical arrival time `tat` of the next free
 * slot; a caller's slot starts at max(now, tat), and tat moves one emission interval on — so the
 * broker hands out slots interval/count apart and N workers together never exceed the rate.
 */
export class RateLimiter {
  private readonly tat = new Map<string, number>();
  /**
   * Future slots handed out and then given back (rateRelease), ascending, per bucket. The next
   * callers take them before any slot past `tat`: a slot booked for a task that went back to
   * its queue is not lost, and the bucket never hands out more slots than its rate allows.
   */
  private readonly released = new Map<string, number[]>();
  private readonly overrides = new Map<string, RateLimitSpec>();

  constructor(private readonly now: () => number) {}

  /**
   * Reserves the next slot of bucket `key`: the earliest given-back slot still ahead, else the
   * one at max(now, tat). Returns the ms to wait before starting (0 = now) and the slot itself
   * (the caller names it to give it back). Count 0 = no limit: slot `now`, nothing reserved.
   */
  acquire(vhost: string, key: unknown, count: unknown, intervalMs: unknown): RateSlot {
    checkKey(key);
    const k = keyOf(vhost, key);
    const asked = checkRate(count, intervalMs, 'rateAcquire');
    const rate = this.overrides.get(k) ?? asked;
    const now = this.now();
    if (rate.count === 0) return { delay: 0, slot: now };
    const free = this.released.get(k);
    if (free !== undefined) {
      // Slots given back that are already past are gone: burst 1 never lets past time be used.
      while (free.length > 0 && free[0]! < now) free.shift();
      const slot = free.shift();
      if (free.length === 0) this.released.delete(k);
      if (slot !== undefined) return { delay: Math.ceil(slot - now), slot };
    }
    const start = Math.max(now, this.tat.get(k) ?? now);
    this.tat.set(k, start + rate.intervalMs / rate.count);
    return { delay: Math.ceil(start - now), slot: start };
  }

  /**
   * Gives back slot `slot` of bucket `key`, reserved by acquire and not used (its task went back
   * to the queue): the next caller gets it. A slot already past, one the bucket never handed out
   * (at or after `tat`), and one already given back are ignored, so a release is safe to repeat.
   */
  release(vhost: string, key: unknown, slot: unknown): void {
    checkKey(key);
    if (typeof slot !== 'number' || !Number.isFinite(slot)) throw fail('ERR_INVALID_ARGUMENT', "rateRelease: 'slot' must be a finite number (the slot rateAcquire answered)", { slot });
    const k = keyOf(vhost, key);
    const tat = this.tat.get(k);
    if (tat === undefined || slot < this.now() || slot >= tat) return;
    let free = this.released.get(k);
    if (free === undefined) this.released.set(k, (free = []));
    if (free.length >= MAX_RELEASED) return;
    let i = free.length;
    while (i > 0 && free[i - 1]! > slot) i--;
    if (free[i - 1] === slot) return;
    free.splice(i, 0, slot);
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
    this.released.delete(k);
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
    for (const [k, tat] of this.tat) {
      if (tat > now) continue;
      this.tat.delete(k);
      this.released.delete(k);
    }
  }
}
