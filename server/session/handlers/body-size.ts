// The one check every frame carrying a message or result body passes before anything is done:
// a body is read back whole in one frame (a delivery, a result), so one over maxBodySize could
// never be read by a client, and is refused rather than stored.
import { fail } from '../../../shared/errors.js';
import type { HandlerContext } from '../context.js';

/** Throws ERR_MESSAGE_TOO_LARGE (request scope: nothing done) when `body` is over maxBodySize; `what` names it. */
export function checkBodySize(ctx: Pick<HandlerContext, 'limits'>, body: Uint8Array, what: string): void {
  const max = ctx.limits.maxBodySize;
  if (body.byteLength > max) {
    throw fail('ERR_MESSAGE_TOO_LARGE', `${what} is ${body.byteLength} bytes, more than maxBodySize ${max}`, { size: body.byteLength, maxBodySize: max });
  }
}
