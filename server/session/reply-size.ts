// What a reply carries in result bodies (a result record, or a group's records): counted for the
// outbox's early flush, and checked against what a client can decode. Walked without building
// arrays: a publish's result wait is answered through here once per task.
import { fail, type CeleriacError } from '../../shared/errors.js';
import { CLIENT_MAX_RECEIVE, type Limits } from '../../shared/limits.js';

interface Carried { taskId?: unknown; body?: unknown; results?: unknown }

/** A group's member records, or null when the reply is one record (or none). */
function membersOf(result: unknown): unknown[] | null {
  if (result === null || typeof result !== 'object') return null;
  const { results } = result as Carried;
  return Array.isArray(results) ? results : null;
}

const isRecord = (r: unknown): r is Carried => r !== null && typeof r === 'object';
const sizeOf = (r: Carried): number => (r.body instanceof Uint8Array ? r.body.byteLength : 0);

/** The result bodies a reply carries, in bytes. */
export function bodyBytesOf(result: unknown): number {
  const members = membersOf(result);
  const count = members === null ? 1 : members.length;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const r = members === null ? result : members[i];
    if (isRecord(r)) total += sizeOf(r);
  }
  return total;
}

/** What a record's fields besides its body may take in a reply, counted generously (a task id, state, dates). */
const RECORD_OVERHEAD = 1024;

/**
 * The result bodies a read of stored results carries, in bytes (as bodyBytesOf), or
 * ERR_MESSAGE_TOO_LARGE when no client of this broker could take it: a body larger than both
 * maxBodySize and maxMessageSize, which the client's decoder refuses (stored before the limits
 * were lowered), or a group whose members together pass the SDK's CLIENT_MAX_RECEIVE, in one
 * frame. Sent, it would make the client drop its connection, and ask again after every reconnect.
 */
export function resultReplyBytes(limits: Pick<Limits, 'maxBodySize' | 'maxMessageSize'>, result: unknown): number | CeleriacError {
  const limit = Math.max(limits.maxBodySize, limits.maxMessageSize);
  const members = membersOf(result);
  const count = members === null ? 1 : members.length;
  let bodies = 0;
  let records = 0;
  for (let i = 0; i < count; i++) {
    const r = members === null ? result : members[i];
    if (!isRecord(r)) continue;
    const size = sizeOf(r);
    if (size > limit) {
      return fail('ERR_MESSAGE_TOO_LARGE', `the stored result of task ${String(r.taskId)} is ${size} bytes, more than this broker's limits let a client read (${limit}); a broker with larger limits can send it`, {
        size, maxMessageSize: limit,
      });
    }
    bodies += size;
    records++;
  }
  const total = bodies + records * RECORD_OVERHEAD;
  if (total <= CLIENT_MAX_RECEIVE) return bodies;
  const what = members !== null ? `the group's ${records} results come` : 'the stored result comes';
  return fail('ERR_MESSAGE_TOO_LARGE', `${what} to about ${total} bytes, more than one reply to a client may carry (${CLIENT_MAX_RECEIVE}); read a group's members one by one`, {
    size: total, maxMessageSize: CLIENT_MAX_RECEIVE,
  });
}
