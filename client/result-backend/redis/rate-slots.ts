// The cluster-wide rate buckets of the contract (rateReserve, rateRelease, rateSet, rateOverrides)
// kept in Redis by the scripts of lua-rate.ts: every worker of every host shares one bucket per task
// name, and the override rates set through remote control outlive worker and Redis-client restarts.
import type { Redis } from 'ioredis';
import type { RateLimitSpec, RateOverride, RateSlot } from '../../../shared/frames.js';
import { checkRate, checkRateKey } from './checks.js';
import { redisError } from './errors.js';
import { RATE_OVERRIDES_KEY, rateKey, rateReleasedKey } from './keys.js';
import { RATE_RELEASE, RATE_RESERVE, RATE_SET } from './lua-rate.js';
import { fail } from '../../../shared/errors.js';

const bucketKeys = (key: string): string[] => [rateKey(key), rateReleasedKey(key), RATE_OVERRIDES_KEY];

/** Reserves the next slot of bucket `key` (see ResultBackend.rateReserve). */
export async function rateReserve(client: Redis, key: string, rate: RateLimitSpec): Promise<RateSlot> {
  checkRateKey(key);
  const { count, intervalMs } = checkRate(rate, 'rateAcquire');
  let reply: unknown;
  try {
    reply = await RATE_RESERVE.run(client, bucketKeys(key), [key, String(count), String(intervalMs)]);
  } catch (err) {
    throw redisError(err, `reserve a rate slot of '${key}'`);
  }
  const [delay, slot] = (reply as Buffer[]).map((b) => Number(b.toString()));
  return { delay: delay!, slot: slot! };
}

/** Gives back slot `slot` of bucket `key`; repeating it is harmless. */
export async function rateRelease(client: Redis, key: string, slot: number): Promise<void> {
  checkRateKey(key);
  if (typeof slot !== 'number' || !Number.isFinite(slot)) throw fail('ERR_INVALID_ARGUMENT', "rateRelease: 'slot' must be a finite number (the slot rateAcquire answered)", { slot });
  try {
    await RATE_RELEASE.run(client, bucketKeys(key).slice(0, 2), [String(slot)]);
  } catch (err) {
    throw redisError(err, `give back a rate slot of '${key}'`);
  }
}

/** Sets bucket `key`'s override rate, or clears it (null). */
export async function rateSet(client: Redis, key: string, rate: RateLimitSpec | null): Promise<void> {
  checkRateKey(key);
  const checked = rate === null ? null : checkRate(rate, 'rateSet');
  try {
    await RATE_SET.run(client, bucketKeys(key), [key, checked === null ? '' : String(checked.count), checked === null ? '' : String(checked.intervalMs)]);
  } catch (err) {
    throw redisError(err, `set the rate of '${key}'`);
  }
}

/** Every override rate set by rateSet. */
export async function rateOverrides(client: Redis): Promise<RateOverride[]> {
  let all: Record<string, string>;
  try {
    all = await client.hgetall(RATE_OVERRIDES_KEY);
  } catch (err) {
    throw redisError(err, 'read the override rates');
  }
  const out: RateOverride[] = [];
  for (const [key, value] of Object.entries(all)) {
    const [count, intervalMs] = value.split(' ').map(Number);
    if (Number.isFinite(count) && Number.isFinite(intervalMs)) out.push({ key, count: count!, intervalMs: intervalMs! });
  }
  return out;
}
