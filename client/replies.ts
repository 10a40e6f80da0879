// Checks the shape of ok results before they reach typed user code, and turns anything thrown into
// a coded error: a reply from a broker of another version fails with a code, not as the wrong type.
import { CeleriacError, fail } from '../shared/errors.js';
import type { GetResult, QueueInfo, ResultRecord } from '../shared/frames.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function bad(what: string): never {
  throw fail('ERR_INTERNAL', `the broker answered ${what} with an unexpected result`);
}

export function asQueueInfo(v: unknown, asked: string): QueueInfo {
  if (!isRecord(v)) {
    // A broker may answer a declare of a named queue without details.
    if (v === undefined || v === null) return { queue: asked, messageCount: 0, consumerCount: 0 };
    return bad('a queue declare');
  }
  const queue = typeof v.queue === 'string' ? v.queue : asked;
  if (queue === '') return bad('a queue declare');
  return {
    queue,
    messageCount: typeof v.messageCount === 'number' ? v.messageCount : 0,
    consumerCount: typeof v.consumerCount === 'number' ? v.consumerCount : 0,
  };
}

export function asMessageCount(v: unknown, what: string): { messageCount: number } {
  if (v === undefined || v === null) return { messageCount: 0 };
  if (!isRecord(v) || typeof v.messageCount !== 'number') return bad(what);
  return { messageCount: v.messageCount };
}

export function asGetResult(v: unknown): GetResult | null {
  if (v === undefined || v === null) return null;
  if (!isRecord(v) || typeof v.deliveryTag !== 'number' || !(v.body instanceof Uint8Array)) return bad('a get');
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
  if (!isRecord(v) || typeof v.taskId !== 'string' || typeof v.state !== 'string') return bad('a result request');
  const rec: ResultRecord = { taskId: v.taskId, state: v.state };
  if (v.body instanceof Uint8Array) rec.body = v.body;
  if (typeof v.contentType === 'string') rec.contentType = v.contentType;
  if (typeof v.dateDone === 'number') rec.dateDone = v.dateDone;
  if (typeof v.expiresAt === 'number') rec.expiresAt = v.expiresAt;
  return rec;
}
