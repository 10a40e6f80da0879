// The publish handler: size check, hand to the engine, and turn its completion into a confirm
// (merged per turn by the outbox) or an error frame echoing the publish id. id 0 = no confirm.
import { fail } from '../../../shared/errors.js';
import type { PublishFrame, TrackOptions } from '../../../shared/frames.js';
import type { HandlerContext } from '../context.js';

export function publish(ctx: HandlerContext, f: PublishFrame): void {
  if (f.body.byteLength > ctx.limits.maxBodySize) {
    throw fail('ERR_MESSAGE_TOO_LARGE', `message body of ${f.body.byteLength} bytes exceeds maxBodySize ${ctx.limits.maxBodySize}`, {
      size: f.body.byteLength, maxBodySize: ctx.limits.maxBodySize,
    });
  }
  ctx.markPublisher();
  const id = f.id;
  ctx.engine.publish(ctx.conn, f.exchange, f.routingKey, f.body, f.props, f.mandatory === true, ctx.inProgress((err) => {
    if (err !== null) ctx.requestFailed(id, err);
    else if (id !== 0) ctx.confirm(id);
  }), f.track as TrackOptions | undefined);
}
