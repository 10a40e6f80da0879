// The publish handler: size check, hand to the engine, and turn its completion into a confirm
// (merged per turn by the outbox) or an error frame echoing the publish id. id 0 = no confirm.
// A track with `wait` also registers the task's result wait once the publish commits, so a
// producer that reads the result sends one frame per task, not a publish and then a resultWait.
import { fail } from '../../../shared/errors.js';
import type { PublishFrame, TrackOptions } from '../../../shared/frames.js';
import { MAX_RESULT_WAIT } from '../../engine/results.js';
import type { HandlerContext } from '../context.js';

export function publish(ctx: HandlerContext, f: PublishFrame): void {
  if (f.body.byteLength > ctx.limits.maxBodySize) {
    throw fail('ERR_MESSAGE_TOO_LARGE', `message body of ${f.body.byteLength} bytes exceeds maxBodySize ${ctx.limits.maxBodySize}`, {
      size: f.body.byteLength, maxBodySize: ctx.limits.maxBodySize,
    });
  }
  ctx.markPublisher();
  const id = f.id;
  const track = f.track as TrackOptions | undefined;
  const wait = track?.wait ?? undefined;
  ctx.engine.publish(ctx.conn, f.exchange, f.routingKey, f.body, f.props, f.mandatory === true, ctx.inProgress((err) => {
    if (err !== null) {
      ctx.requestFailed(id, err);
      return;
    }
    if (id !== 0) ctx.confirm(id);
    // After the commit: the PENDING record is stored, so the wait cannot find the id unknown.
    if (wait !== undefined) waitForResult(ctx, track!, wait);
  }), track);
}

/**
 * Registers the result wait a publish asked for, answered with request id `wait`. At
 * maxResultWaits the wait is refused with ERR_TOO_MANY_REQUESTS on that id (the publish itself
 * stands): the client then asks with a resultWait of its own when it needs the result.
 */
function waitForResult(ctx: HandlerContext, track: TrackOptions, wait: number): void {
  const answer = ctx.resultWaitingIfRoom((rec: unknown) => ctx.reply(wait, rec));
  if (answer === null) {
    const max = ctx.limits.maxResultWaits;
    ctx.requestFailed(wait, fail('ERR_TOO_MANY_REQUESTS', `this connection already has ${max} result waits (maxResultWaits)`, { limit: max }));
    return;
  }
  ctx.engine.waitResult(ctx.conn, track.taskId, track.waitTimeout ?? MAX_RESULT_WAIT, answer);
}
