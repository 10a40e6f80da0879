// The arguments the Redis backend refuses before anything is sent, with the same limits and
// messages as broker-server's checks (server/engine/results.ts, groups.ts, revocations.ts,
// rate-limiter.ts), so the two backends refuse the same calls with ERR_INVALID_ARGUMENT.
import { fail } from '../../../shared/errors.js';
import type { RateLimitSpec, ResultStoreOptions } from '../../../shared/frames.js';
import { MAX_REVOKE_IDS } from '../../../shared/revoke-checks.js';
import { isTaskState } from '../../../shared/task-states.js';

/** Members one group may have (broker-server's MAX_GROUP_MEMBERS). */
export const MAX_GROUP_MEMBERS = 100_000;
const MAX_KEY_BYTES = 255;

/** Throws ERR_INVALID_ARGUMENT unless `id` is a string of 1 to 255 bytes. */
export function checkId(id: unknown, what = 'a task id'): asserts id is string {
  if (typeof id !== 'string' || id === '' || Buffer.byteLength(id) > MAX_KEY_BYTES) {
    throw fail('ERR_INVALID_ARGUMENT', `${what} must be a string of 1 to ${MAX_KEY_BYTES} bytes`);
  }
}

/** A store's state and options. */
export function checkStore(taskId: unknown, state: unknown, options: ResultStoreOptions): void {
  checkId(taskId);
  if (!isTaskState(state)) throw fail('ERR_INVALID_ARGUMENT', `unknown task state '${String(state)}'`, { state });
  if (options === null || typeof options !== 'object') throw fail('ERR_INVALID_ARGUMENT', 'result options must be a map');
  checkExpires(options.expires, "result option 'expires'");
  if (options.contentType !== undefined && typeof options.contentType !== 'string') throw fail('ERR_INVALID_ARGUMENT', "result option 'contentType' must be a string");
}

/** An optional expiry in ms: a non-negative integer. */
export function checkExpires(expires: unknown, what: string): void {
  if (expires !== undefined && (typeof expires !== 'number' || !Number.isSafeInteger(expires) || expires < 0)) {
    throw fail('ERR_INVALID_ARGUMENT', `${what} must be a non-negative integer (ms)`);
  }
}

/** A group's members: 1 to MAX_GROUP_MEMBERS distinct task ids. */
export function checkMembers(members: unknown): asserts members is string[] {
  if (!Array.isArray(members) || members.length === 0 || members.length > MAX_GROUP_MEMBERS) {
    throw fail('ERR_INVALID_ARGUMENT', `groupDeclare: members must list 1 to ${MAX_GROUP_MEMBERS} task ids`);
  }
  for (const id of members) checkId(id);
  if (new Set(members).size !== members.length) throw fail('ERR_INVALID_ARGUMENT', 'groupDeclare: a task id appears twice among the members');
}

/** 1 to MAX_REVOKE_IDS task ids, without duplicates. */
export function checkTaskIds(taskIds: string | string[], what: string): string[] {
  const list = typeof taskIds === 'string' ? [taskIds] : taskIds;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_REVOKE_IDS) {
    throw fail('ERR_INVALID_ARGUMENT', `${what}: taskIds must list 1 to ${MAX_REVOKE_IDS} task ids`, { count: Array.isArray(list) ? list.length : null });
  }
  for (const id of list) checkId(id);
  return [...new Set(list)];
}

/** A rate bucket's name. */
export function checkRateKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key === '' || Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw fail('ERR_INVALID_ARGUMENT', `a rate limit key must be a string of 1 to ${MAX_KEY_BYTES} bytes`);
  }
}

/** A rate: count >= 0 (0 = no limit), and a positive integer interval when limited. */
export function checkRate(rate: RateLimitSpec, what: string): RateLimitSpec {
  const { count, intervalMs } = rate ?? ({} as RateLimitSpec);
  if (typeof count !== 'number' || !Number.isFinite(count) || count < 0) {
    throw fail('ERR_INVALID_ARGUMENT', `${what}: 'count' must be a finite number >= 0 (0 = no limit)`, { count });
  }
  if (count === 0) return { count: 0, intervalMs: typeof intervalMs === 'number' && Number.isFinite(intervalMs) ? intervalMs : 0 };
  if (typeof intervalMs !== 'number' || !Number.isSafeInteger(intervalMs) || intervalMs <= 0) {
    throw fail('ERR_INVALID_ARGUMENT', `${what}: 'intervalMs' must be a positive integer (ms)`, { intervalMs });
  }
  return { count, intervalMs };
}
