// The one check every frame carrying a message or result body passes before anything is done:
// a body is read back whole in one frame (a delivery, a result), so one over maxBodySize could
// never be read by a client, and is refused rather than stored.
import { fail } from '../../../shared/errors.js';
import type { HandlerContext } from '../context.js';

/**
 * Throws ERR_MESSAGE_TOO_LARGE (request scope: nothing done) when `body` is over maxBodySize.
 * `what` names the body, followed by `key` when given (a task id, a publish's index): the name is
 * built only for a refusal, since this runs for every task's message and result.
 */
export function checkBodySize(ctx: Pick<HandlerContext, 'limits'>, body: Uint8Array, what: string, key?: string | number): void {
  const max = ctx.limits.maxBodySize;
  if (body.byteLength <= max) return;
  const name = key === undefined ? what : `${what} ${key}`;
  throw fail('ERR_MESSAGE_TOO_LARGE', `${name} is ${body.byteLength} bytes, more than maxBodySize ${max}`, { size: body.byteLength, maxBodySize: max });
}
