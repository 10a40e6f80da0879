// The Lua every result script shares: the key prefixes (from keys.ts, so the layout is written
// once), Redis' clock, reading the state of stored meta, storing and counting a final result, and
// claiming a complete group's chord callback. Scripts run atomically in Redis [EVAL semantics]:
// what one script reads and writes, no other client sees half done.
//
// Scripts name the keys they start from in KEYS and derive a task's group keys from their names,
// as Celery's backend does in Python: fine on one Redis (or a primary with replicas), not on
// Redis Cluster, which Celery's Redis backend does not support either.
import {
  CALLBACK_SUFFIX, GROUP_PREFIX, JOINED_SUFFIX, MEMBER_PREFIX, PENDING_PREFIX, SIZE_SUFFIX, TASK_PREFIX,
} from './keys.js';

/**
 * How long a claim on a chord callback holds (ms): the claimer publishes the callback and marks it
 * sent within this time, or another store of a member may claim it again (the claimer died).
 */
export const CLAIM_LEASE_MS = 30_000;

/** Lua string literal of `s` (the prefixes hold no quote or backslash; checked anyway). */
function lit(s: string): string {
  if (/['\\\n]/.test(s)) throw new Error(`not a plain Lua literal: ${s}`);
  return `'${s}'`;
}

export const LUA_COMMON = String.raw`
local TASK_PREFIX = ${lit(TASK_PREFIX)}
local PENDING_PREFIX = ${lit(PENDING_PREFIX)}
local GROUP_PREFIX = ${lit(GROUP_PREFIX)}
local MEMBER_PREFIX = ${lit(MEMBER_PREFIX)}
local JOINED = ${lit(JOINED_SUFFIX)}
local SIZE = ${lit(SIZE_SUFFIX)}
local CALLBACK = ${lit(CALLBACK_SUFFIX)}
local LEASE = ${CLAIM_LEASE_MS}
-- Final states (celery/states.py READY_STATES): a result in one of these does not change again.
local FINAL = { SUCCESS = true, FAILURE = true, REVOKED = true }

-- Redis' own clock in epoch ms: one clock for every client, whatever theirs say.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A msgpack str at byte i: the string and the index after it, or nil.
local function mp_str(v, i)
  local h = string.byte(v, i)
  if not h then return nil end
  if h >= 0xa0 and h <= 0xbf then return string.sub(v, i + 1, i + h - 0xa0), i + 1 + h - 0xa0 end
  if h == 0xd9 then
    local n = string.byte(v, i + 1)
    if not n then return nil end
    return string.sub(v, i + 2, i + 1 + n), i + 2 + n
  end
  return nil
end

-- The status of stored result meta, or nil when it cannot be read. Celery writes it first and
-- celeriac second (after task_id), so reading the head is enough almost always; anything else is
-- decoded whole (cjson / cmsgpack), and meta neither reads (pickle, a msgpack extension) has none.
local function state_of(v)
  if not v then return nil end
  local s = string.match(v, '^%s*{%s*"status"%s*:%s*"(%u+)"')
    or string.match(v, '^%s*{%s*"task_id"%s*:%s*"[^"\\]*"%s*,%s*"status"%s*:%s*"(%u+)"')
  if s then return s end
  local b = string.byte(v, 1)
  if not b then return nil end
  if (b >= 0x80 and b <= 0x8f) or b == 0xde or b == 0xdf then
    local i = (b == 0xde and 4) or (b == 0xdf and 6) or 2
    for _ = 1, 2 do
      local k, j = mp_str(v, i)
      if not k then break end
      local val, n = mp_str(v, j)
      if k == 'status' then return val end
      if not val then break end
      i = n
    end
    local ok, meta = pcall(cmsgpack.unpack, v)
    if ok and type(meta) == 'table' and type(meta.status) == 'string' then return meta.status end
    return nil
  end
  local ok, meta = pcall(cjson.decode, v)
  if ok and type(meta) == 'table' and type(meta.status) == 'string' then return meta.status end
  return nil
end

local function is_final(v)
  local s = state_of(v)
  return s ~= nil and FINAL[s] == true
end

-- SET with an optional expiry (ms; '' or nil = none).
local function set_px(key, value, px)
  if px and px ~= '' then redis.call('SET', key, value, 'PX', px) else redis.call('SET', key, value) end
end

-- Gives key the time to live ref has (a group's keys expire together).
local function follow_ttl(key, ref)
  local t = redis.call('PTTL', ref)
  if t > 0 and redis.call('EXISTS', key) == 1 then redis.call('PEXPIRE', key, t) end
end

-- A complete group's callback for the caller to publish: {gid, 'claim', body} once claimed (token
-- names the claim), {gid, 'wait', ms} while another caller's claim holds, nil when there is
-- nothing to send (not complete, no callback, or already sent).
local function try_claim(gid, token, now)
  local gk = GROUP_PREFIX .. gid
  local size = tonumber(redis.call('GET', gk .. SIZE))
  if not size or redis.call('ZCARD', gk .. JOINED) < size then return nil end
  local ck = gk .. CALLBACK
  local f = redis.call('HMGET', ck, 'state', 'until', 'body')
  local state, till = f[1], tonumber(f[2])
  if state == 'armed' or (state == 'claimed' and till and till <= now) then
    redis.call('HSET', ck, 'state', 'claimed', 'token', token, 'until', now + LEASE)
    return { gid, 'claim', f[3] }
  end
  if state == 'claimed' then return { gid, 'wait', tostring(till - now) } end
  return nil
end

-- Counts a task that just stored a final state in each group it belongs to (once: the joined set
-- holds task ids) and claims the callbacks of groups that became complete, appended to out.
local function count_final(tid, token, out)
  local groups = redis.call('HGETALL', MEMBER_PREFIX .. tid)
  local now = nil
  for i = 1, #groups, 2 do
    local gid, index = groups[i], groups[i + 1]
    local gk = GROUP_PREFIX .. gid
    if redis.call('EXISTS', gk .. SIZE) == 1 then
      redis.call('ZADD', gk .. JOINED, 'NX', index, tid)
      follow_ttl(gk .. JOINED, gk .. SIZE)
      now = now or now_ms()
      local claim = try_claim(gid, token, now)
      if claim then table.insert(out, claim) end
    end
  end
end
`;
