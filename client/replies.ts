// Checks the shape of ok results before they reach typed user code, and turns anything thrown into
// a coded error: a reply from a broker of another version fails with a code, not as the wrong type.
import { CeleriacError, fail } from '../shared/errors.js';
import type { GetResult, GroupRecord, QueueInfo, ResultRecord } from '../shared/frames.js';

/** A plain object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Fails a reply that does not have the shape `what` answers with (ERR_INTERNAL). */
export function unexpected(what: string): never {
  throw fail('ERR_INTERNAL', `the broker answered ${what} with an unexpected result`);
}

export function asQueueInfo(v: unknown, asked: string): QueueInfo {
  if (!isRecord(v)) {
    // A broker may answer a declare of a named queue without details.
    if (v === undefined || v === null) return { queue: asked, messageCount: 0, consumerCount: 0 };
    return unexpected('a queue declare');
  }
  const queue = typeof v.queue === 'string' ? v.queue : asked;
  if (queue === '') return unexpected('a queue declare');
  return {
    queue,
    messageCount: typeof v.messageCount === 'number' ? v.messageCount : 0,
    consumerCount: typeof v.consumerCount === 'number' ? v.consumerCount : 0,
  };
}

export function asMessageCount(v: unknown, what: string): { messageCount: number } {
  if (v === undefined || v === null) return { messageCount: 0 };
  if (!isRecord(v) || typeof v.messageCount !== 'number') return unexpected(what);
  return { messageCount: v.messageCount };
}

export function asGetResult(v: unknown): GetResult | null {
  if (v === undefined || v === null) return null;
  if (!isRecord(v) || typeof v.deliveryTag !== 'number' || !(v.body instanceof Uint8Array)) return unexpected('a get');
  const props = isRecord(v.props) ? v.props : undefined;
  return {
    deliveryTag: v.deliveryTag,
    redelivered: v.redelivered === true,
    deliveryCount: typeof v.deliveryCount === 'number' ? v.deliveryCount : 1,
    exchange: typeof v.exchange === 'string' ? v.exchange : '',
    routingKey: typeof v.routingKey === 'string' ? v.routingKey : '',
    ...(props === undefined ? {} : { props }),
    body: v.body,
    messageCount: typeof v.messageCount === 'number' ? v.messageCount : 0,
  };
}

/** Any thrown value as a coded error (a non-CeleriacError becomes ERR_INTERNAL, kept as cause). */
export function asCoded(err: unknown): CeleriacError {
  if (err instanceof CeleriacError) return err;
  return new CeleriacError('ERR_INTERNAL', err instanceof Error ? err.message : String(err), { cause: err });
}

export function asResultRecord(v: unknown): ResultRecord | null {
  if (v === undefined || v === null) return null;
  if (!isRecord(v) || typeof v.taskId !== 'string' || typeof v.state !== 'string') return unexpected('a result request');
  const rec: ResultRecord = { taskId: v.taskId, state: v.state };
  if (v.body instanceof Uint8Array) rec.body = v.body;
  if (typeof v.contentType === 'string') rec.contentType = v.contentType;
  if (typeof v.dateDone === 'number') rec.dateDone = v.dateDone;
  if (typeof v.expiresAt === 'number') rec.expiresAt = v.expiresAt;
  return rec;
}

export function asGroupRecord(v: unknown): GroupRecord | null {
  if (v === undefined || v === null) return null;
  if (!isRecord(v) || typeof v.groupId !== 'string' || !Array.isArray(v.members) || typeof v.done !== 'number' || !Array.isArray(v.results)) {
    return unexpected('a groupGet');
  }
  return {
    groupId: v.groupId,
    members: v.members.filter((m): m is string => typeof m === 'string'),
    done: v.done,
    results: v.results.map((r) => asResultRecord(r)),
  };
}
