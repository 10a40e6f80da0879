// Handlers for task control: revoke (answered after the commit), revokedCheck, and the
// cluster-wide rate limit buckets (rateAcquire reserves a slot, rateRelease gives one back,
// rateSet overrides a rate).
import type { RateAcquireFrame, RateOverridesFrame, RateReleaseFrame, RateSetFrame, RevokedCheckFrame, RevokeFrame, RevokeOptions } from '../../../shared/frames.js';
import type { HandlerContext } from '../context.js';

export function revoke(ctx: HandlerContext, f: RevokeFrame): void {
  const id = f.id;
  const options: RevokeOptions = {};
  if (f.terminate !== undefined) options.terminate = f.terminate;
  if (f.signal !== undefined) options.signal = f.signal;
  if (f.expires !== undefined) options.expires = f.expires;
  ctx.engine.revoke(ctx.conn, f.taskIds, options, ctx.inProgress((err, revoked) => {
    if (err !== null) ctx.requestFailed(id, err);
    else ctx.reply(id, { revoked });
  }));
}

export function revokedCheck(ctx: HandlerContext, f: RevokedCheckFrame): void {
  ctx.reply(f.id, ctx.engine.revokedCheck(ctx.conn, f.taskIds));
}

export function rateAcquire(ctx: HandlerContext, f: RateAcquireFrame): void {
  ctx.reply(f.id, ctx.engine.rateAcquire(ctx.conn, f.key, f.count, f.intervalMs));
}

export function rateRelease(ctx: HandlerContext, f: RateReleaseFrame): void {
  ctx.engine.rateRelease(ctx.conn, f.key, f.slot);
  ctx.reply(f.id);
}

export function rateOverrides(ctx: HandlerContext, f: RateOverridesFrame): void {
  ctx.reply(f.id, ctx.engine.rateOverrides(ctx.conn));
}

export function rateSet(ctx: HandlerContext, f: RateSetFrame): void {
  ctx.engine.rateSet(ctx.conn, f.key, f.count ?? null, f.intervalMs);
  ctx.reply(f.id);
}
