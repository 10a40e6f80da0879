// Handlers for connection-level frames after the handshake: heartbeat, close, and error frames
// a peer sends us (logged; a client has nothing to ask of the server with them).
import type { CloseFrame, ErrorFrame } from '../../../shared/frames.js';
import type { HandlerContext } from '../context.js';

/** Any message already counts as a sign of life (the session notes it); nothing else to do. */
export function heartbeat(): void {}

export function close(ctx: HandlerContext, f: CloseFrame): void {
  ctx.closeByPeer(f.id);
}

export function peerError(ctx: HandlerContext, f: ErrorFrame): void {
  ctx.log('warn', `peer ${ctx.conn.info.id} reported ${f.code}: ${f.message}`);
}
