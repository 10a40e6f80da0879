// The cluster-wide rate buckets of the contract (rateReserve, rateRelease, rateSet, rateOverrides)
// kept in Redis by the scripts of lua-rate.ts: every worker of every host shares one bucket per task
// name, and the override rates set through remote control outlive worker and Redis-client restarts.
import type { RateLimitSpec, RateOverride, RateSlot } from '../../../shared/frames.js';
import { checkRate, checkRateKey } from './checks.js';
import type { Calls } from './calls.js';
import { RATE_OVERRIDES_KEY, rateKey, rateReleasedKey } from './keys.js';
import { RATE_RELEASE, RATE_RESERVE, RATE_SET } from './lua-rate.js';
import { fail } from '../../../shared/errors.js';

const bucketKeys = (key: string): string[] => [rateKey(key), rateReleasedKey(key), RATE_OVERRIDES_KEY];

/** Reserves the next slot of bucket `key` (see ResultBackend.rateReserve). */
export async function rateReserve(calls: Calls, key: string, rate: RateLimitSpec): Promise<RateSlot> {
  checkRateKey(key);
  const { count, intervalMs } = checkRate(rate, 'rateAcquire');
  const reply = await calls.run(`reserve a rate slot of '${key}'`, (c) => RATE_RESERVE.run(c, bucketKeys(key), [key, String(count), String(intervalMs)]));
  const [delay, slot] = (reply as Buffer[]).map((b) => Number(b.toString()));
  return { delay: delay!, slot: slot! };
}

/** Gives back slot `slot` of bucket `key`; repeating it is harmless. */
export async function rateRelease(calls: Calls, key: string, slot: number): Promise<void> {
  checkRateKey(key);
  if (typeof slot !== 'number' || !Number.isFinite(slot)) throw fail('ERR_INVALID_ARGUMENT', "rateRelease: 'slot' must be a finite number (the slot rateAcquire answered)", { slot });
  await calls.run(`give back a rate slot of '${key}'`, (c) => RATE_RELEASE.run(c, bucketKeys(key).slice(0, 2), [String(slot)]));
}

/** Sets bucket `key`'s override rate, or clears it (null). */
export async function rateSet(calls: Calls, key: string, rate: RateLimitSpec | null): Promise<void> {
  checkRateKey(key);
  const checked = rate === null ? null : checkRate(rate, 'rateSet');
  const args = checked === null ? [key, '', ''] : [key, String(checked.count), String(checked.intervalMs)];
  await calls.run(`set the rate of '${key}'`, (c) => RATE_SET.run(c, bucketKeys(key), args));
}

/** Every override rate set by rateSet. */
export async function rateOverrides(calls: Calls): Promise<RateOverride[]> {
  const all = await calls.run('read the override rates', (c) => c.hgetall(RATE_OVERRIDES_KEY));
  const out: RateOverride[] = [];
  for (const [key, value] of Object.entries(all)) {
    const [count, intervalMs] = value.split(' ').map(Number);
    if (Number.isFinite(count) && Number.isFinite(intervalMs)) out.push({ key, count: count!, intervalMs: intervalMs! });
  }
  return out;
}
