// Handlers for exchange and queue declarations, deletions, purges and bindings [AMQP 0-9-1 §1.7, §1.8].
// Each answers an ok frame with the engine's result; the engine throws coded errors on bad input.
import type {
  BindQueueFrame, DeclareExchangeFrame, DeclareQueueFrame, DeleteExchangeFrame, DeleteQueueFrame, PurgeQueueFrame, UnbindQueueFrame,
} from '../../../shared/frames.js';
import { EXCHANGE_TYPES } from '../../../shared/frames.js';
import { fail } from '../../../shared/errors.js';
import type { HandlerContext } from '../context.js';

export function declareExchange(ctx: HandlerContext, f: DeclareExchangeFrame): void {
  if (!(EXCHANGE_TYPES as readonly string[]).includes(f.type)) {
    throw fail('ERR_INVALID_ARGUMENT', `unknown exchange type '${f.type}' (expected ${EXCHANGE_TYPES.join(', ')})`, { type: f.type });
  }
  ctx.engine.declareExchange(ctx.conn, f.name, f.type, f.options ?? {});
  ctx.reply(f.id);
}

export function deleteExchange(ctx: HandlerContext, f: DeleteExchangeFrame): void {
  ctx.engine.deleteExchange(ctx.conn, f.name, f.options ?? {});
  ctx.reply(f.id);
}

export function declareQueue(ctx: HandlerContext, f: DeclareQueueFrame): void {
  ctx.reply(f.id, ctx.engine.declareQueue(ctx.conn, f.name, f.options ?? {}));
}

export function deleteQueue(ctx: HandlerContext, f: DeleteQueueFrame): void {
  ctx.reply(f.id, ctx.engine.deleteQueue(ctx.conn, f.name, f.options ?? {}));
}

export function purgeQueue(ctx: HandlerContext, f: PurgeQueueFrame): void {
  ctx.reply(f.id, ctx.engine.purgeQueue(ctx.conn, f.name));
}

export function bindQueue(ctx: HandlerContext, f: BindQueueFrame): void {
  ctx.engine.bindQueue(ctx.conn, f.queue, f.exchange, f.pattern, f.args ?? {});
  ctx.reply(f.id);
}

export function unbindQueue(ctx: HandlerContext, f: UnbindQueueFrame): void {
  ctx.engine.unbindQueue(ctx.conn, f.queue, f.exchange, f.pattern, f.args ?? {});
  ctx.reply(f.id);
}
