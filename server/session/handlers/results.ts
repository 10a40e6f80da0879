// Handlers for the result store: store (answered after the commit), get, wait (answered when the
// result is final — pushed, never polled) and forget.
import type { ResultForgetFrame, ResultGetFrame, ResultStoreFrame, ResultWaitFrame } from '../../../shared/frames.js';
import type { HandlerContext } from '../context.js';
import { checkBodySize } from './body-size.js';

export function resultStore(ctx: HandlerContext, f: ResultStoreFrame): void {
  if (f.body !== undefined) checkBodySize(ctx, f.body, 'the result of task', f.taskId);
  const id = f.id;
  ctx.engine.storeResult(ctx.conn, f.taskId, f.state, f.body, f.options ?? {}, ctx.inProgress((err) => {
    if (err !== null) ctx.requestFailed(id, err);
    else ctx.reply(id);
  }));
}

export function resultGet(ctx: HandlerContext, f: ResultGetFrame): void {
  ctx.replyResults(f.id, ctx.engine.getResult(ctx.conn, f.taskId));
}

export function resultWait(ctx: HandlerContext, f: ResultWaitFrame): void {
  const id = f.id;
  ctx.engine.waitResult(ctx.conn, f.taskId, f.timeout, ctx.resultWaiting((rec) => ctx.replyResults(id, rec)));
}

export function resultForget(ctx: HandlerContext, f: ResultForgetFrame): void {
  ctx.engine.forgetResult(ctx.conn, f.taskId);
  ctx.reply(f.id);
}
