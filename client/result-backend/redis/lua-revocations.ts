// The revocation scripts: a revoke remembers its ids, stores REVOKED for the ones not final (and
// counts them in their groups), and appends to the revocation log, in one atomic step; a check
// reads which ids are revoked now, in one round trip.
import { REVOKED_CHANNEL } from './keys.js';
import { LUA_COMMON } from './lua-common.js';
import { Script } from './script.js';

/** Entries the revocation log keeps (about: trimmed with MAXLEN ~), for listeners catching up after a drop. */
export const REVOKED_LOG_LENGTH = 10_000;
/** Ids one ZMSCORE asks for: Lua's unpack() has a stack limit. */
const CHUNK = 1_000;

/**
 * Revokes task ids.
 * KEYS: [1] the revoked set, [2] the revocation log. ARGV: [1] ms to remember them (0 = for ever),
 * [2] terminate '1' / '0', [3] signal or '', [4] claim token, [5] the ids as a JSON list (for the
 * log), [6...] pairs of task id and its REVOKED meta.
 * Returns {distinct ids revoked, claims...}. REVOKED keeps the expiry of the task's record or
 * PENDING registration when it has one, else the revocation's.
 */
export const REVOKE = new Script('revoke', LUA_COMMON + String.raw`
local now = now_ms()
local keep = tonumber(ARGV[1])
local score = keep == 0 and '+inf' or tostring(now + keep)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
local out = { 0 }
local n = 0
for i = 6, #ARGV, 2 do
  local tid, value = ARGV[i], ARGV[i + 1]
  -- GT: revoking again never shortens how long an id is remembered.
  redis.call('ZADD', KEYS[1], 'GT', score, tid)
  n = n + 1
  local tk, pk = TASK_PREFIX .. tid, PENDING_PREFIX .. tid
  local cur = redis.call('GET', tk)
  if not (cur and is_final(cur)) then
    local pending = redis.call('PTTL', pk)
    if cur then redis.call('SET', tk, value, 'KEEPTTL')
    elseif pending > 0 then redis.call('SET', tk, value, 'PX', pending)
    elseif pending == -1 then redis.call('SET', tk, value)
    elseif keep > 0 then redis.call('SET', tk, value, 'PX', keep)
    else redis.call('SET', tk, value) end
    redis.call('DEL', pk)
    redis.call('PUBLISH', tk, value)
    count_final(tid, ARGV[4], out)
  end
end
out[1] = n
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ${REVOKED_LOG_LENGTH}, '*', 'ids', ARGV[5], 'terminate', ARGV[2], 'signal', ARGV[3])
redis.call('PUBLISH', '${REVOKED_CHANNEL}', 'revoked')
return out
`);

/**
 * The revoked ones among task ids, now.
 * KEYS: [1] the revoked set. ARGV: the ids. Returns the revoked ids, in the order given.
 */
export const REVOKED_AMONG = new Script('revoked-among', String.raw`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for first = 1, #ARGV, ${CHUNK} do
  local last = math.min(first + ${CHUNK} - 1, #ARGV)
  local scores = redis.call('ZMSCORE', KEYS[1], unpack(ARGV, first, last))
  for i = 1, last - first + 1 do
    local s = scores[i]
    if s and tonumber(s) > now then table.insert(out, ARGV[first + i - 1]) end
  end
end
return out
`);
