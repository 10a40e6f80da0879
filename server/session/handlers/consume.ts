// Handlers for the consuming side: consume, cancel, ack / nack / reject and single-message get
// [AMQP 0-9-1 §1.8.3]. Settlements have no reply; an unknown tag is a connection error from the engine.
import type { AckFrame, CancelFrame, ConsumeFrame, GetFrame, NackFrame, RejectFrame } from '../../../shared/frames.js';
import type { HandlerContext } from '../context.js';

export function consume(ctx: HandlerContext, f: ConsumeFrame): void {
  ctx.reply(f.id, ctx.engine.consume(ctx.conn, f.queue, f.options ?? {}));
}

export function cancel(ctx: HandlerContext, f: CancelFrame): void {
  ctx.engine.cancel(ctx.conn, f.consumerTag);
  ctx.reply(f.id, { consumerTag: f.consumerTag });
}

// A list of tags is settled one by one, in order; `multiple` then applies to each (see frames.ts).
export function ack(ctx: HandlerContext, f: AckFrame): void {
  const multiple = f.multiple === true;
  if (typeof f.tag === 'number') ctx.engine.ack(ctx.conn, f.tag, multiple);
  else for (const tag of f.tag) ctx.engine.ack(ctx.conn, tag, multiple);
}

export function nack(ctx: HandlerContext, f: NackFrame): void {
  const multiple = f.multiple === true;
  const requeue = f.requeue !== false;
  if (typeof f.tag === 'number') ctx.engine.nack(ctx.conn, f.tag, multiple, requeue);
  else for (const tag of f.tag) ctx.engine.nack(ctx.conn, tag, multiple, requeue);
}

export function reject(ctx: HandlerContext, f: RejectFrame): void {
  ctx.engine.reject(ctx.conn, f.tag, f.requeue !== false);
}

export function get(ctx: HandlerContext, f: GetFrame): void {
  ctx.reply(f.id, ctx.engine.get(ctx.conn, f.queue, f.noAck === true));
}
