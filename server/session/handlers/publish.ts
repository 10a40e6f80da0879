// The publish handler: size check, hand to the engine, and turn its completion into a confirm
// (merged per turn by the outbox) or an error frame echoing the publish id. id 0 = no confirm.
// A track with `wait` also registers the task's result wait with the publish, so a producer that
// reads the result sends one frame per task, not a publish and then a resultWait, and a quick
// task's result is pushed the moment it is stored, while the publish's fsync may still run.
import { fail } from '../../../shared/errors.js';
import type { PublishFrame, TrackOptions } from '../../../shared/frames.js';
import { MAX_RESULT_WAIT } from '../../engine/results.js';
import type { HandlerContext } from '../context.js';
import { checkBodySize } from './body-size.js';

export function publish(ctx: HandlerContext, f: PublishFrame): void {
  checkBodySize(ctx, f.body, 'the message body');
  ctx.markPublisher();
  const id = f.id;
  const track = f.track as TrackOptions | undefined;
  const wait = track?.wait ?? undefined;
  let failed = false;
  let cancelWait: (() => void) | undefined;
  ctx.engine.publish(ctx.conn, f.exchange, f.routingKey, f.body, f.props, f.mandatory === true, ctx.inProgress((err) => {
    if (err !== null) {
      // The client forgets the wait of a publish that failed; so does the broker.
      failed = true;
      cancelWait?.();
      ctx.requestFailed(id, err);
      return;
    }
    if (id !== 0) ctx.confirm(id);
  }), track);
  // engine.publish tracked the id (a PENDING that reads see before its commit): the wait finds it.
  if (wait !== undefined && !failed) cancelWait = waitForResult(ctx, track!, wait);
}

/**
 * Registers the result wait a publish asked for, answered with request id `wait`. At
 * maxResultWaits the wait is refused with ERR_TOO_MANY_REQUESTS on that id (the publish itself
 * stands): the client then asks with a resultWait of its own when it needs the result. Returns
 * a cancel that drops the wait unanswered.
 */
function waitForResult(ctx: HandlerContext, track: TrackOptions, wait: number): (() => void) | undefined {
  let cancelled = false;
  const answer = ctx.resultWaitingIfRoom((rec: unknown) => {
    if (!cancelled) ctx.replyResults(wait, rec);
  });
  if (answer === null) {
    const max = ctx.limits.maxResultWaits;
    ctx.requestFailed(wait, fail('ERR_TOO_MANY_REQUESTS', `this connection already has ${max} result waits (maxResultWaits)`, { limit: max }));
    return undefined;
  }
  const cancel = ctx.engine.waitResult(ctx.conn, track.taskId, track.waitTimeout ?? MAX_RESULT_WAIT, answer);
  return () => {
    cancelled = true;
    cancel();
    answer(null); // releases the wait's count; the reply is not sent
  };
}
