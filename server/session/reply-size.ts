// What a reply carries in result bodies (a result record, or a group's records): counted for the
// outbox's early flush, and checked against what a client can decode.
import { fail, type CeleriacError } from '../../shared/errors.js';
import { CLIENT_MAX_RECEIVE, type Limits } from '../../shared/limits.js';

interface Carried { taskId?: unknown; body?: unknown; results?: unknown }

/** The result records a reply carries: itself, or a group's members. */
function recordsOf(result: unknown): Carried[] {
  if (result === null || typeof result !== 'object') return [];
  const { results } = result as Carried;
  return Array.isArray(results) ? (results.filter((r) => r !== null && typeof r === 'object') as Carried[]) : [result as Carried];
}

const sizeOf = (r: Carried): number => (r.body instanceof Uint8Array ? r.body.byteLength : 0);

/** The result bodies a reply carries, in bytes. */
export function bodyBytesOf(result: unknown): number {
  let total = 0;
  for (const r of recordsOf(result)) total += sizeOf(r);
  return total;
}

/** What a record's fields besides its body may take in a reply, counted generously (a task id, state, dates). */
const RECORD_OVERHEAD = 1024;

/**
 * ERR_MESSAGE_TOO_LARGE when a read of stored results carries what no client of this broker could
 * take: a body larger than both maxBodySize and maxMessageSize, which the client's decoder refuses
 * (stored before the limits were lowered), or a group whose members together pass the SDK's
 * CLIENT_MAX_RECEIVE, in one frame. Sent, it would make the client drop its connection, and ask
 * again after every reconnect. Null for a reply that can be sent.
 */
export function undecodableResult(limits: Pick<Limits, 'maxBodySize' | 'maxMessageSize'>, result: unknown): CeleriacError | null {
  const limit = Math.max(limits.maxBodySize, limits.maxMessageSize);
  const records = recordsOf(result);
  let total = 0;
  for (const r of records) {
    const size = sizeOf(r);
    if (size > limit) {
      return fail('ERR_MESSAGE_TOO_LARGE', `the stored result of task ${String(r.taskId)} is ${size} bytes, more than this broker's limits let a client read (${limit}); a broker with larger limits can send it`, {
        size, maxMessageSize: limit,
      });
    }
    total += size + RECORD_OVERHEAD;
  }
  if (total <= CLIENT_MAX_RECEIVE) return null;
  const what = Array.isArray((result as Carried).results) ? `the group's ${records.length} results come` : 'the stored result comes';
  return fail('ERR_MESSAGE_TOO_LARGE', `${what} to about ${total} bytes, more than one reply to a client may carry (${CLIENT_MAX_RECEIVE}); read a group's members one by one`, {
    size: total, maxMessageSize: CLIENT_MAX_RECEIVE,
  });
}
