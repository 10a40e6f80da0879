// Handlers for groups and chords: declare (the callback map checked like a finish publish,
// answered after the commit) and get (the group with its members' results, or nil).
import type { GroupDeclareFrame, GroupDeclareOptions, GroupGetFrame } from '../../../shared/frames.js';
import type { HandlerContext } from '../context.js';
import { checkBodySize } from './body-size.js';
import { readPublish } from './finish.js';

export function groupDeclare(ctx: HandlerContext, f: GroupDeclareFrame): void {
  const options: GroupDeclareOptions = {};
  if (f.callback !== undefined) {
    const cb = readPublish(f.callback as unknown as Record<string, unknown>, 0, 'groupDeclare frame (callback)');
    checkBodySize(ctx, cb.body, 'the group callback body');
    options.callback = cb;
    ctx.markPublisher();
  }
  if (f.expires !== undefined) options.expires = f.expires;
  const id = f.id;
  ctx.engine.declareGroup(ctx.conn, f.groupId, f.members, options, ctx.inProgress((err) => {
    if (err !== null) ctx.requestFailed(id, err);
    else ctx.reply(id);
  }));
}

export function groupGet(ctx: HandlerContext, f: GroupGetFrame): void {
  ctx.replyResults(f.id, ctx.engine.getGroup(ctx.conn, f.groupId));
}
