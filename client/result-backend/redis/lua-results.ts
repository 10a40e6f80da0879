// The result and group scripts. Each is one atomic step in Redis: a store and the counting of the
// member it makes final; a group's declaration with the members already final; a claim on a
// complete group's callback and its settling. Inputs and outputs are documented per script.
import { LUA_COMMON } from './lua-common.js';
import { Script } from './script.js';

/**
 * Stores a result and counts it in its groups.
 * KEYS: [1] the task key, [2] its PENDING registration. ARGV: [1] task id, [2] meta bytes, [3]
 * expiry ms or '', [4] state, [5] claim token.
 * Returns {stored (1, or 0: a final result is kept over a non-final state), claims...}, each claim
 * as try_claim returns it. The value is PUBLISHed on the task key's channel, as Celery does.
 * PENDING is a registration beside Celery's key (keys.ts PENDING_PREFIX), made only while the task
 * has no state stored; every other state goes into Celery's key and ends the registration.
 */
export const STORE = new Script('store', LUA_COMMON + String.raw`
local cur = redis.call('GET', KEYS[1])
if ARGV[4] == 'PENDING' then
  if not cur then set_px(KEYS[2], '1', ARGV[3]) end
  return { 1 }
end
local final = FINAL[ARGV[4]] == true
-- A final result is never replaced by a non-final state: a STARTED or RETRY that arrives late
-- (re-sent after a reconnect, or from a worker that lost the race with a revoke) is dropped.
if not final and cur and is_final(cur) then return { 0 } end
set_px(KEYS[1], ARGV[2], ARGV[3])
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', KEYS[1], ARGV[2])
local out = { 1 }
if final then count_final(ARGV[1], ARGV[5], out) end
return out
`);

/**
 * Declares a group, or adds the next chunk of its members (a group of 100,000 is declared 1,000
 * members per call; a member stored between two calls is counted by its own store or by its chunk).
 * KEYS: [1] the group key. ARGV: [1] group id, [2] '1' for the first chunk, [3] Celery's group
 * document, [4] size, [5] expiry ms or '', [6] callback (msgpack FinishPublish) or '', [7] task id
 * the callback registers PENDING or '', [8] that registration's expiry ms or '', [9] claim token,
 * [10] index of this chunk's first member, [11...] member ids.
 * Returns {0} when the group exists (first chunk), {-1} when it expired between chunks, else
 * {1, claim?}.
 */
export const DECLARE = new Script('declare', LUA_COMMON + String.raw`
local gid, gk = ARGV[1], KEYS[1]
local px = ARGV[5]
if ARGV[2] == '1' then
  if redis.call('EXISTS', gk, gk .. SIZE) > 0 then return { 0 } end
  redis.call('DEL', gk .. JOINED, gk .. CALLBACK)
  set_px(gk, ARGV[3], px)
  set_px(gk .. SIZE, ARGV[4], px)
  if ARGV[6] ~= '' then
    redis.call('HSET', gk .. CALLBACK, 'body', ARGV[6], 'state', 'armed')
    if px ~= '' then redis.call('PEXPIRE', gk .. CALLBACK, px) end
  end
  -- The callback's task is PENDING from now on, unless something is stored for it already.
  if ARGV[7] ~= '' and redis.call('EXISTS', TASK_PREFIX .. ARGV[7]) == 0 then
    set_px(PENDING_PREFIX .. ARGV[7], '1', ARGV[8])
  end
elseif redis.call('EXISTS', gk .. SIZE) == 0 then
  return { -1 }
end
local offset = tonumber(ARGV[10])
for i = 11, #ARGV do
  local tid = ARGV[i]
  local index = offset + i - 11
  local mk = MEMBER_PREFIX .. tid
  local existed = redis.call('EXISTS', mk) == 1
  redis.call('HSET', mk, gid, index)
  -- A task's memberships live as long as its longest-lived group.
  if px ~= '' then
    local t = redis.call('PTTL', mk)
    if not existed or (t >= 0 and t < tonumber(px)) then redis.call('PEXPIRE', mk, px) end
  else
    redis.call('PERSIST', mk)
  end
  -- Members may finish before their group is declared: those count at once.
  if is_final(redis.call('GET', TASK_PREFIX .. tid)) then redis.call('ZADD', gk .. JOINED, 'NX', index, tid) end
end
follow_ttl(gk .. JOINED, gk .. SIZE)
local out = { 1 }
local claim = try_claim(gid, ARGV[9], now_ms())
if claim then table.insert(out, claim) end
return out
`);

/**
 * Claims a complete group's callback again (its previous claim was released or ran out).
 * KEYS: [1] the group key. ARGV: [1] group id, [2] claim token. Returns a claim or nil.
 */
export const CLAIM = new Script('claim', LUA_COMMON + String.raw`
return try_claim(ARGV[1], ARGV[2], now_ms())
`);

/**
 * Settles a claim: 'sent' (the callback was published: never again) or 'released' (the publish
 * failed: the next claim takes it). Only the claim's own token settles it. The outcome is PUBLISHed
 * on the callback key's channel, where callers waiting for the claim listen.
 * KEYS: [1] the callback key. ARGV: [1] token, [2] 'sent' or 'released'. Returns 1, or 0 when the
 * claim was no longer this token's (it ran out and another caller took it).
 */
export const SETTLE = new Script('settle', String.raw`
local f = redis.call('HMGET', KEYS[1], 'state', 'token')
if f[1] ~= 'claimed' or f[2] ~= ARGV[1] then return 0 end
if ARGV[2] == 'sent' then
  redis.call('HSET', KEYS[1], 'state', 'sent')
  redis.call('HDEL', KEYS[1], 'body', 'token', 'until')
else
  redis.call('HSET', KEYS[1], 'state', 'armed')
  redis.call('HDEL', KEYS[1], 'token', 'until')
end
redis.call('PUBLISH', KEYS[1], ARGV[2])
return 1
`);
