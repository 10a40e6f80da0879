// Handlers for the result store: store (answered after the commit), get, wait (answered when the
// result is final — pushed, never polled) and forget.
import { fail } from '../../../shared/errors.js';
import type { ResultForgetFrame, ResultGetFrame, ResultStoreFrame, ResultWaitFrame } from '../../../shared/frames.js';
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

export function resultStore(ctx: HandlerContext, f: ResultStoreFrame): void {
  checkResultBody(ctx, f.body, f.taskId);
  const id = f.id;
  ctx.engine.storeResult(ctx.conn, f.taskId, f.state, f.body, f.options ?? {}, ctx.inProgress((err) => {
    if (err !== null) ctx.requestFailed(id, err);
    else ctx.reply(id);
  }));
}

export function resultGet(ctx: HandlerContext, f: ResultGetFrame): void {
  ctx.reply(f.id, ctx.engine.getResult(ctx.conn, f.taskId));
}

export function resultWait(ctx: HandlerContext, f: ResultWaitFrame): void {
  const id = f.id;
  ctx.engine.waitResult(ctx.conn, f.taskId, f.timeout, ctx.resultWaiting((rec) => ctx.reply(id, rec)));
}

export function resultForget(ctx: HandlerContext, f: ResultForgetFrame): void {
  ctx.engine.forgetResult(ctx.conn, f.taskId);
  ctx.reply(f.id);
}
