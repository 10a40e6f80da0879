// What a reply carries in result bodies (a result record, or a group's records): counted for the
// outbox's early flush, and checked against what a client can decode.
import { fail, type CeleriacError } from '../../shared/errors.js';
import type { Limits } from '../../shared/limits.js';

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

/**
 * ERR_MESSAGE_TOO_LARGE when a read of stored results carries what no client of this broker could
 * decode: a body larger than both maxBodySize and maxMessageSize (stored before the limits were
 * lowered), or a group whose members' bodies together pass that, in one frame. Sent, it would make
 * the client drop its connection, and ask again after every reconnect. Null for a reply that can
 * be sent.
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
    total += size;
  }
  if (total <= limit) return null;
  return fail('ERR_MESSAGE_TOO_LARGE', `the group's ${records.length} results are ${total} bytes together, more than one reply may carry (${limit}); read them one by one`, {
    size: total, maxMessageSize: limit,
  });
}
