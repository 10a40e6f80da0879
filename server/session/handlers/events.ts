// Handler for events: a read of the stored event log of the connection's vhost from a cursor.
import type { EventsReadFrame } from '../../../shared/frames.js';
import type { EventsQuery } from '../../engine/events-api.js';
import type { HandlerContext } from '../context.js';

export function eventsRead(ctx: HandlerContext, f: EventsReadFrame): void {
  const query: Omit<EventsQuery, 'vhost'> = {};
  if (f.since !== undefined) query.since = f.since;
  if (f.limit !== undefined) query.limit = f.limit;
  if (f.types !== undefined) query.types = f.types;
  if (f.from !== undefined) query.from = f.from;
  ctx.reply(f.id, ctx.engine.readEvents(ctx.conn, query));
}
