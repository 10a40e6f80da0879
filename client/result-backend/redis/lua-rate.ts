// The rate-bucket scripts: broker-server's GCRA (server/engine/rate-limiter.ts) with its state in
// Redis, so every worker of the cluster shares one bucket per task name. Same rules: a burst of
// one, slots interval/count apart, given-back slots handed out first, an override rate that wins
// over the callers' own. Times are Redis' clock in epoch ms; slots may be fractional, so they
// travel as strings (Redis would truncate a Lua number to an integer).
import { Script } from './script.js';

/** Given-back slots one bucket keeps at most (as broker-server's MAX_RELEASED). */
export const MAX_RELEASED = 10_000;

const PRELUDE = String.raw`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function num(x) return string.format('%.17g', x) end
`;

/**
 * Reserves the next slot of a bucket.
 * KEYS: [1] the bucket's next free slot, [2] its given-back slots, [3] the override rates.
 * ARGV: [1] bucket name, [2] count, [3] interval ms.
 * Returns {delay ms, slot} as strings. Count 0 = no limit: slot now, nothing reserved.
 */
export const RATE_RESERVE = new Script('rate-reserve', PRELUDE + String.raw`
local count, interval = tonumber(ARGV[2]), tonumber(ARGV[3])
local o = redis.call('HGET', KEYS[3], ARGV[1])
if o then
  local c, i = string.match(o, '^(%S+) (%S+)$')
  count, interval = tonumber(c), tonumber(i)
end
if count == 0 then return { '0', num(now) } end
-- Slots given back that are already past are gone: burst 1 never lets past time be used.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. num(now))
local free = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if free[1] then
  redis.call('ZREM', KEYS[2], free[1])
  local slot = tonumber(free[2])
  return { tostring(math.ceil(slot - now)), num(slot) }
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '') or now
local start = math.max(now, tat)
local next_tat = start + interval / count
-- The bucket is forgotten once its slots are all past (it starts full again, as a new one does).
local ttl = math.max(1, math.ceil(next_tat - now))
redis.call('SET', KEYS[1], num(next_tat), 'PX', ttl)
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ttl) end
return { tostring(math.ceil(start - now)), num(start) }
`);

/**
 * Gives a reserved slot back. A slot already past, one never handed out (at or after the next free
 * slot), and one already given back are ignored, so a release is safe to repeat.
 * KEYS: [1] the bucket's next free slot, [2] its given-back slots. ARGV: [1] the slot.
 * Returns 1 when kept, 0 when ignored.
 */
export const RATE_RELEASE = new Script('rate-release', PRELUDE + String.raw`
local tat = tonumber(redis.call('GET', KEYS[1]) or '')
local slot = tonumber(ARGV[1])
if not tat or not slot or slot < now or slot >= tat then return 0 end
if redis.call('ZCARD', KEYS[2]) >= ${MAX_RELEASED} then return 0 end
if redis.call('ZCOUNT', KEYS[2], num(slot), num(slot)) > 0 then return 0 end
redis.call('ZADD', KEYS[2], num(slot), num(slot))
redis.call('PEXPIRE', KEYS[2], math.max(1, redis.call('PTTL', KEYS[1])))
return 1
`);

/**
 * Sets (ARGV[2], ARGV[3] present) or clears the override rate of a bucket; either way the bucket
 * starts full, as Celery's does when a worker's rate limit changes.
 * KEYS: [1] the bucket's next free slot, [2] its given-back slots, [3] the override rates.
 * ARGV: [1] bucket name, [2] count or '', [3] interval ms or ''.
 */
export const RATE_SET = new Script('rate-set', String.raw`
if ARGV[2] == '' then redis.call('HDEL', KEYS[3], ARGV[1])
else redis.call('HSET', KEYS[3], ARGV[1], ARGV[2] .. ' ' .. ARGV[3]) end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`);
