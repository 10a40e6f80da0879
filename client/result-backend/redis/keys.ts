// The Redis key layout of the result backend: Celery's keys where Celery has one, so Python
// Celery and celeriac read each other's results, and celeriac's own (prefix `celeriac-`) for
// what Celery keeps elsewhere (revocations in worker memory, rate limits per worker) or not at all.
//
// Mirrored from Celery 5.2 (celery/backends/base.py BaseKeyValueStoreBackend, celery/backends/redis.py):
// - `celery-task-meta-<task id>`: the result meta encoded with the result serializer (task_keyprefix),
//   written with SET/SETEX and PUBLISHed on a channel of the same name (RedisBackend._set), which
//   Celery's ResultConsumer subscribes to.
// - `celery-taskset-meta-<group id>`: a saved group, `{"result": GroupResult.as_tuple()}`
//   (group_keyprefix, _save_group), read by Python's GroupResult.restore().
// - `celery-taskset-meta-<group id>.j`: the chord's counted members (on_chord_part_return's jkey, a
//   sorted set by group index since result_chord_ordered); here its members are the task ids, so a
//   member stored twice is one entry.
// - `celery-taskset-meta-<group id>.s`: the chord size (set_chord_size's skey).
// Celery's `.t` (totaldiff: a correction of the size when a header task is replaced) is not used:
// a celeriac group never changes its size.

/** Celery's task key prefix (BaseKeyValueStoreBackend.task_keyprefix). */
export const TASK_PREFIX = 'celery-task-meta-';
/** Celery's group key prefix (BaseKeyValueStoreBackend.group_keyprefix). */
export const GROUP_PREFIX = 'celery-taskset-meta-';
/** Suffix of a group's counted members (Celery's chord jkey). */
export const JOINED_SUFFIX = '.j';
/** Suffix of a group's size (Celery's chord skey). */
export const SIZE_SUFFIX = '.s';
/**
 * Suffix of a group's chord callback (celeriac's): a hash { body, state, token, until } holding the
 * FinishPublish to send once every member is final; also the channel told when it was sent.
 */
export const CALLBACK_SUFFIX = '.callback';
/**
 * Prefix of a task registered PENDING when it was published (celeriac's): Celery never stores
 * PENDING (a task without a key is PENDING to it), and a Python worker reads the key it is about to
 * write with its own serializer, so the registration stays out of Celery's key. It tells a task
 * sent and not started yet from an id nobody sent; the first state stored removes it.
 */
export const PENDING_PREFIX = 'celeriac-pending-';
/** Prefix of a task's groups (celeriac's): a hash group id -> the task's index in that group. */
export const MEMBER_PREFIX = 'celeriac-member-groups-';
/** Revoked task ids (celeriac's): a sorted set scored by the epoch ms the revocation expires (+inf: never). */
export const REVOKED_KEY = 'celeriac-revoked';
/** The recent revocations (celeriac's): a stream, so a listener that was disconnected catches up. */
export const REVOKED_LOG_KEY = 'celeriac-revoked-log';
/** The channel told of each new entry of the revocation log. */
export const REVOKED_CHANNEL = 'celeriac-revoked';
/** Prefix of a rate bucket (celeriac's): the bucket's next free slot (its GCRA theoretical arrival time). */
export const RATE_PREFIX = 'celeriac-rate-';
/** Suffix of a rate bucket's given-back slots: a sorted set by slot. */
export const RATE_RELEASED_SUFFIX = '.released';
/** The override rates set by rateSet (celeriac's): a hash bucket key -> "count intervalMs". */
export const RATE_OVERRIDES_KEY = 'celeriac-rate-overrides';

/** The key (and pub/sub channel) of a task's result. */
export const taskKey = (taskId: string): string => `${TASK_PREFIX}${taskId}`;
/** The key of a task's PENDING registration. */
export const pendingKey = (taskId: string): string => `${PENDING_PREFIX}${taskId}`;
/** The key of a saved group. */
export const groupKey = (groupId: string): string => `${GROUP_PREFIX}${groupId}`;
/** The key of a task's group memberships. */
export const memberKey = (taskId: string): string => `${MEMBER_PREFIX}${taskId}`;
/** The key of a group's chord callback (and the channel told when it was sent). */
export const callbackKey = (groupId: string): string => `${GROUP_PREFIX}${groupId}${CALLBACK_SUFFIX}`;
/** The key of a rate bucket's next free slot. */
export const rateKey = (bucket: string): string => `${RATE_PREFIX}${bucket}`;
/** The key of a rate bucket's given-back slots. */
export const rateReleasedKey = (bucket: string): string => `${RATE_PREFIX}${bucket}${RATE_RELEASED_SUFFIX}`;

// Beat's store (beat-store.ts, lua-beat.ts), celeriac's own: Celery keeps its beat state in a
// local file, RedBeat (the Redis scheduler for Celery) under `redbeat:*`; these are apart from both.
/** The names of the schedule entries: a set. */
export const BEAT_ENTRIES_KEY = 'celeriac-beat-entries';
/** Prefix of one entry: a hash { spec, paused, source, lastRunAt, nextRunAt, runCount, createdAt, updatedAt, revision }. */
export const BEAT_ENTRY_PREFIX = 'celeriac-beat-entry-';
/** Prefix of one entry's fire log: a sorted set of the scheduled times fired (member and score). */
export const BEAT_FIRED_PREFIX = 'celeriac-beat-fired-';
/** The names of the leases ever taken: a set. */
export const BEAT_LEASES_KEY = 'celeriac-beat-leases';
/** Prefix of one lease: a hash { holder, epoch, expiresAt }, kept without a TTL so its epoch outlives its expiry. */
export const BEAT_LEASE_PREFIX = 'celeriac-beat-lease-';
/** The highest revision handed out (removed entries included): a string. */
export const BEAT_REVISION_KEY = 'celeriac-beat-revision';
/** The channel told the name of each entry upserted, removed, paused or resumed. */
export const BEAT_CHANGED_CHANNEL = 'celeriac-beat-changed';

/** The key of a schedule entry. */
export const beatEntryKey = (name: string): string => `${BEAT_ENTRY_PREFIX}${name}`;
/** The key of a schedule entry's fire log. */
export const beatFiredKey = (name: string): string => `${BEAT_FIRED_PREFIX}${name}`;
/** The key of a lease. */
export const beatLeaseKey = (name: string): string => `${BEAT_LEASE_PREFIX}${name}`;
