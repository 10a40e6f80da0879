// The scripts of beat's store on Redis (beat-store.ts): entries with revisions, the leader lease,
// and the record of a fire, each one atomic step on Redis' clock, with broker-server's rules
// (server/engine/beat-state.ts): a fire or advance from a lease not held at that epoch is stale,
// one planned from another revision (or of a paused or gone entry) is changed, and a scheduled
// time fired before (or not after the last run) is a duplicate. Replies carry bulk strings
// (Buffers); an entry travels as {name, spec, paused, source, lastRunAt, nextRunAt, runCount,
// createdAt, updatedAt, revision}, '' standing for null. Keys: keys.ts (celeriac-beat-*).
import { BEAT_ENTRY_PREFIX, BEAT_LEASE_PREFIX } from './keys.js';
import { Script } from './script.js';

/** Lua string literal of a key prefix (they hold no quote or backslash; checked anyway). */
function lit(s: string): string {
  if (/['\\\n]/.test(s)) throw new Error(`not a plain Lua literal: ${s}`);
  return `'${s}'`;
}

const PRELUDE = String.raw`
local ENTRY_PREFIX = ${lit(BEAT_ENTRY_PREFIX)}
local LEASE_PREFIX = ${lit(BEAT_LEASE_PREFIX)}
local FIELDS = { 'spec', 'paused', 'source', 'lastRunAt', 'nextRunAt', 'runCount', 'createdAt', 'updatedAt', 'revision' }

-- Redis' own clock in epoch ms: one clock for every beat, whatever their hosts say.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- An integer as text (Lua's tostring would write large ones with an exponent).
local function num(x) return string.format('%.17g', x) end

-- The entry at key as a reply row, or false when there is none.
local function entry_row(key, name)
  local v = redis.call('HMGET', key, unpack(FIELDS))
  if not v[9] then return false end
  table.insert(v, 1, name)
  return v
end

-- Notes a revision as handed out: the counter only grows, so no revision is ever handed out twice.
local function note_revision(rkey, rev)
  local top = tonumber(redis.call('GET', rkey) or '0') or 0
  if rev > top then redis.call('SET', rkey, num(rev)) end
end

-- nil when holder holds the lease at key at epoch, unexpired; else the stale reply
-- {'stale', current holder ('' = none), current epoch, its expiry, '1' when the lease was ever taken}.
local function stale(key, holder, epoch, now)
  local l = redis.call('HMGET', key, 'holder', 'epoch', 'expiresAt')
  if l[2] and l[1] == holder and tonumber(l[2]) == tonumber(epoch) and tonumber(l[3]) > now then return nil end
  return { 'stale', l[1] or '', l[2] or '0', l[3] or '0', l[2] and '1' or '0' }
end
`;

/**
 * Creates or replaces an entry; a new one gets a revision above every one handed out (max of the
 * clock and the counter + 1), a replaced one its revision + 1. Paused and the run state stay
 * unless reset; the fire log stays even then (a time fired once never fires again).
 * KEYS: [1] the entry, [2] the entry names, [3] the revision counter.
 * ARGV: [1] name, [2] spec, [3] source, [4] nextRunAt: 'keep', 'none' or the time, [5] '1' to
 * reset the run state, [6] the change channel.
 * Returns {created 1/0, revision}.
 */
export const BEAT_UPSERT = new Script('beat-upsert', PRELUDE + String.raw`
local now = now_ms()
local created, rev
local next = ARGV[4]
local cur = redis.call('HGET', KEYS[1], 'revision')
if not cur then
  created = 1
  local top = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
  rev = math.max(now, top + 1)
  if next == 'keep' or next == 'none' then next = '' end
  redis.call('HSET', KEYS[1], 'spec', ARGV[2], 'paused', '0', 'source', ARGV[3], 'lastRunAt', '', 'nextRunAt', next,
    'runCount', '0', 'createdAt', num(now), 'updatedAt', num(now), 'revision', num(rev))
  redis.call('SADD', KEYS[2], ARGV[1])
else
  created = 0
  rev = tonumber(cur) + 1
  redis.call('HSET', KEYS[1], 'spec', ARGV[2], 'source', ARGV[3], 'updatedAt', num(now), 'revision', num(rev))
  if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'lastRunAt', '', 'runCount', '0') end
  if next == 'none' then redis.call('HSET', KEYS[1], 'nextRunAt', '')
  elseif next ~= 'keep' then redis.call('HSET', KEYS[1], 'nextRunAt', next) end
end
note_revision(KEYS[3], rev)
redis.call('PUBLISH', ARGV[6], ARGV[1])
return { created, num(rev) }
`);

/**
 * Removes an entry and its fire log.
 * KEYS: [1] the entry, [2] its fire log, [3] the entry names. ARGV: [1] name, [2] the change channel.
 * Returns 1, or 0 when there was none.
 */
export const BEAT_REMOVE = new Script('beat-remove', String.raw`
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 1
`);

/**
 * Pauses or resumes an entry (revision + 1).
 * KEYS: [1] the entry, [2] the revision counter. ARGV: [1] name, [2] '1' paused / '0', [3] the change channel.
 * Returns the entry's row, or nil when there is none.
 */
export const BEAT_PAUSE = new Script('beat-pause', PRELUDE + String.raw`
local cur = redis.call('HGET', KEYS[1], 'revision')
if not cur then return false end
local rev = tonumber(cur) + 1
redis.call('HSET', KEYS[1], 'paused', ARGV[2], 'updatedAt', num(now_ms()), 'revision', num(rev))
note_revision(KEYS[2], rev)
redis.call('PUBLISH', ARGV[3], ARGV[1])
return entry_row(KEYS[1], ARGV[1])
`);

/**
 * The entries (all, or the named ones that exist) and every lease, read in one step.
 * KEYS: [1] the entry names, [2] the lease names. ARGV: [1] '1' when names follow, [2...] names.
 * Returns {entry rows, lease rows {name, holder ('' = none), epoch, expiresAt}}, unsorted.
 */
export const BEAT_LIST = new Script('beat-list', PRELUDE + String.raw`
local names = {}
if ARGV[1] == '1' then
  for i = 2, #ARGV do names[#names + 1] = ARGV[i] end
else
  names = redis.call('SMEMBERS', KEYS[1])
end
local entries = {}
for _, n in ipairs(names) do
  local row = entry_row(ENTRY_PREFIX .. n, n)
  if row then entries[#entries + 1] = row end
end
local leases = {}
for _, n in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local l = redis.call('HMGET', LEASE_PREFIX .. n, 'holder', 'epoch', 'expiresAt')
  if l[2] then leases[#leases + 1] = { n, l[1] or '', l[2], l[3] or '0' } end
end
return { entries, leases }
`);

/**
 * Takes or renews a lease: granted when free (never taken, released), expired, or the caller's
 * already; the epoch grows by one whenever the holder changes and stays on a renewal. The hash has
 * no TTL: its epoch must outlive its expiry, so a later holder never gets an epoch used before.
 * KEYS: [1] the lease, [2] the lease names. ARGV: [1] name, [2] holder, [3] ttl ms.
 * Returns {1 granted / 0 not, holder, epoch, expiresAt}: the lease in force either way.
 */
export const BEAT_ACQUIRE = new Script('beat-acquire', PRELUDE + String.raw`
local now = now_ms()
local l = redis.call('HMGET', KEYS[1], 'holder', 'epoch', 'expiresAt')
local holder, epoch, till = l[1] or '', tonumber(l[2] or '0'), tonumber(l[3] or '0')
if holder ~= '' and holder ~= ARGV[2] and till > now then return { 0, holder, num(epoch), num(till) } end
if holder ~= ARGV[2] then epoch = epoch + 1 end
till = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'holder', ARGV[2], 'epoch', num(epoch), 'expiresAt', num(till))
redis.call('SADD', KEYS[2], ARGV[1])
return { 1, ARGV[2], num(epoch), num(till) }
`);

/**
 * Frees a lease held by holder at epoch (lapsed or not: nobody took it), keeping its epoch.
 * KEYS: [1] the lease. ARGV: [1] holder, [2] epoch. Returns 1, or 0 when it was not so held.
 */
export const BEAT_RELEASE = new Script('beat-release', PRELUDE + String.raw`
local l = redis.call('HMGET', KEYS[1], 'holder', 'epoch')
if l[1] ~= ARGV[1] or not l[2] or tonumber(l[2]) ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'holder', '', 'expiresAt', num(now_ms()))
return 1
`);

/**
 * Records the fire of an entry for one scheduled time, before its message is published (the
 * caller publishes after this, and gives the fire back with BEAT_UNFIRE if it cannot). Checks in
 * order: the lease (stale), the entry (changed: gone, paused, another revision), the time
 * (duplicate: in the fire log, or not after the last run). The fire log keeps the newest `keep`
 * times, none older than `maxAge` ms before now.
 * KEYS: [1] the lease, [2] the entry, [3] its fire log.
 * ARGV: [1] holder, [2] epoch, [3] revision, [4] scheduledAt, [5] nextRunAt ('' = none), [6] keep,
 * [7] maxAge ms, [8] the entry's name.
 * Returns the stale reply, {'changed'}, {'duplicate'}, or {'fired', the entry's row, the previous
 * lastRunAt, nextRunAt and runCount}.
 */
export const BEAT_FIRE = new Script('beat-fire', PRELUDE + String.raw`
local now = now_ms()
local s = stale(KEYS[1], ARGV[1], ARGV[2], now)
if s then return s end
local e = redis.call('HMGET', KEYS[2], 'revision', 'paused', 'lastRunAt', 'nextRunAt', 'runCount')
if not e[1] or tonumber(e[1]) ~= tonumber(ARGV[3]) or e[2] == '1' then return { 'changed' } end
local at = tonumber(ARGV[4])
if (e[3] ~= '' and at <= tonumber(e[3])) or redis.call('ZSCORE', KEYS[3], ARGV[4]) then return { 'duplicate' } end
redis.call('HSET', KEYS[2], 'lastRunAt', ARGV[4], 'nextRunAt', ARGV[5], 'runCount', num(tonumber(e[5]) + 1))
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. num(now - tonumber(ARGV[7])))
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[6]) + 1))
return { 'fired', entry_row(KEYS[2], ARGV[8]), e[3], e[4], e[5] }
`);

/**
 * Gives back a fire whose message could not be published: the entry's run state as it was before,
 * and the time out of the fire log, only if the entry is still as that fire left it (nothing
 * fired, advanced or reset it since).
 * KEYS: [1] the entry, [2] its fire log.
 * ARGV: [1] scheduledAt, [2] nextRunAt and [3] runCount the fire set, [4] lastRunAt, [5] nextRunAt
 * and [6] runCount before it. Returns 1, or 0 when the entry moved on (the fire stays: one run lost).
 */
export const BEAT_UNFIRE = new Script('beat-unfire', String.raw`
local e = redis.call('HMGET', KEYS[1], 'lastRunAt', 'nextRunAt', 'runCount')
if e[1] ~= ARGV[1] or e[2] ~= ARGV[2] or e[3] ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'lastRunAt', ARGV[4], 'nextRunAt', ARGV[5], 'runCount', ARGV[6])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`);

/**
 * Moves an entry's nextRunAt without a fire, under the lease and revision checks of a fire.
 * KEYS: [1] the lease, [2] the entry. ARGV: [1] holder, [2] epoch, [3] revision, [4] nextRunAt ('' = none), [5] name.
 * Returns the stale reply, {'kept'} (no entry), {'kept', row} (another revision, or paused), or {'advanced', row}.
 */
export const BEAT_ADVANCE = new Script('beat-advance', PRELUDE + String.raw`
local s = stale(KEYS[1], ARGV[1], ARGV[2], now_ms())
if s then return s end
local e = redis.call('HMGET', KEYS[2], 'revision', 'paused')
if not e[1] then return { 'kept' } end
if tonumber(e[1]) ~= tonumber(ARGV[3]) or e[2] == '1' then return { 'kept', entry_row(KEYS[2], ARGV[5]) } end
redis.call('HSET', KEYS[2], 'nextRunAt', ARGV[4])
return { 'advanced', entry_row(KEYS[2], ARGV[5]) }
`);
