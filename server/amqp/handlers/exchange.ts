// The exchange class [AMQP 0-9-1 §1.6]: declare (passive too), delete, and exchange-to-exchange
// bind / unbind [RabbitMQ extension]. The engine checks names, types and agreement.
import { fail } from '../../../shared/errors.js';
import { EXCHANGE_TYPES, type ExchangeType } from '../../../shared/frames.js';
import type { MethodOf } from '../codec/index.js';
import type { ChannelContext } from '../context.js';
import { plainHeaders } from '../message-properties.js';

export function declare(ctx: ChannelContext, m: MethodOf<'exchange.declare'>): void {
  const { engine } = ctx.host;
  // [AMQP 0-9-1 §1.6.2.1]: a passive declare only asks whether the exchange exists.
  if (m.passive) {
    engine.checkExchange(ctx.session, m.exchange);
    ctx.reply(m.nowait, { name: 'exchange.declare-ok' });
    return;
  }
  // An unknown type is a hard error in RabbitMQ (command-invalid), not a channel's refusal.
  if (!(EXCHANGE_TYPES as readonly string[]).includes(m.type)) {
    throw fail('ERR_AMQP_COMMAND_INVALID', `invalid exchange type '${m.type}' (this broker has ${EXCHANGE_TYPES.join(', ')})`);
  }
  engine.declareExchange(ctx.session, m.exchange, m.type as ExchangeType, {
    durable: m.durable, autoDelete: m.autoDelete, internal: m.internal, arguments: plainHeaders(m.arguments),
  });
  ctx.reply(m.nowait, { name: 'exchange.declare-ok' });
}

export function remove(ctx: ChannelContext, m: MethodOf<'exchange.delete'>): void {
  ctx.host.engine.deleteExchange(ctx.session, m.exchange, { ifUnused: m.ifUnused });
  ctx.reply(m.nowait, { name: 'exchange.delete-ok' });
}

export function bind(ctx: ChannelContext, m: MethodOf<'exchange.bind'>): void {
  ctx.host.engine.bindExchange(ctx.session, m.destination, m.source, m.routingKey, plainHeaders(m.arguments));
  ctx.reply(m.nowait, { name: 'exchange.bind-ok' });
}

export function unbind(ctx: ChannelContext, m: MethodOf<'exchange.unbind'>): void {
  ctx.host.engine.unbindExchange(ctx.session, m.destination, m.source, m.routingKey, plainHeaders(m.arguments));
  ctx.reply(m.nowait, { name: 'exchange.unbind-ok' });
}
