// Handlers for the result store: store (answered after the commit), get, wait (answered when the
// result is final — pushed, never polled) and forget.
import { fail, type CeleriacError } from '../../../shared/errors.js';
import type { ResultForgetFrame, ResultGetFrame, ResultRecord, ResultStoreFrame, ResultWaitFrame } from '../../../shared/frames.js';
import type { HandlerContext } from '../context.js';

/**
 * A result body over maxBodySize is refused (ERR_MESSAGE_TOO_LARGE, nothing stored), as a message
 * body over it is: a result is read back in one frame, as a delivery is.
 */
export function checkResultBody(ctx: Pick<HandlerContext, 'limits'>, body: Uint8Array | undefined, taskId: string): void {
  if (body !== undefined && body.byteLength > ctx.limits.maxBodySize) {
    throw fail('ERR_MESSAGE_TOO_LARGE', `the result of task ${taskId} is ${body.byteLength} bytes, more than maxBodySize ${ctx.limits.maxBodySize}`, {
      size: body.byteLength, maxBodySize: ctx.limits.maxBodySize,
    });
  }
}

/**
 * ERR_MESSAGE_TOO_LARGE for a stored result whose body no client of this broker could decode:
 * larger than both maxBodySize and maxMessageSize (stored before the limits were lowered). Sent,
 * it would make the client drop its connection, and ask again after every reconnect. Null for
 * one that can be sent.
 */
export function unreadable(ctx: Pick<HandlerContext, 'limits'>, rec: ResultRecord | null): CeleriacError | null {
  const size = rec?.body?.byteLength ?? 0;
  const limit = Math.max(ctx.limits.maxBodySize, ctx.limits.maxMessageSize);
  if (size <= limit) return null;
  return fail('ERR_MESSAGE_TOO_LARGE', `the stored result of task ${rec!.taskId} is ${size} bytes, more than this broker's limits let a client read (${limit}); a broker with larger limits can send it`, {
    size, maxMessageSize: limit,
  });
}

/** Answers request `id` with a result record, or with why it cannot be sent (unreadable). */
export function replyResult(ctx: Pick<HandlerContext, 'limits' | 'reply' | 'requestFailed'>, id: number, rec: ResultRecord | null): void {
  const refusal = unreadable(ctx, rec);
  if (refusal === null) ctx.reply(id, rec);
  else ctx.requestFailed(id, refusal);
}

export function resultStore(ctx: HandlerContext, f: ResultStoreFrame): void {
  checkResultBody(ctx, f.body, f.taskId);
  const id = f.id;
  ctx.engine.storeResult(ctx.conn, f.taskId, f.state, f.body, f.options ?? {}, ctx.inProgress((err) => {
    if (err !== null) ctx.requestFailed(id, err);
    else ctx.reply(id);
  }));
}

export function resultGet(ctx: HandlerContext, f: ResultGetFrame): void {
  replyResult(ctx, f.id, ctx.engine.getResult(ctx.conn, f.taskId));
}

export function resultWait(ctx: HandlerContext, f: ResultWaitFrame): void {
  const id = f.id;
  ctx.engine.waitResult(ctx.conn, f.taskId, f.timeout, ctx.resultWaiting((rec) => replyResult(ctx, id, rec)));
}

export function resultForget(ctx: HandlerContext, f: ResultForgetFrame): void {
  ctx.engine.forgetResult(ctx.conn, f.taskId);
  ctx.reply(f.id);
}
