// The consuming half of the basic class [AMQP 0-9-1 §1.8]: qos, consume, cancel, get, ack, nack,
// reject, recover. Deliveries themselves leave through the channel's sink (channel.ts).
import { randomBytes } from 'node:crypto';
import { fail } from '../../../shared/errors.js';
import type { MethodOf } from '../codec/index.js';
import type { ChannelContext } from '../context.js';

/**
 * basic.qos as RabbitMQ reads it: global false sets the prefetch of consumers started later on
 * this channel; global true limits the unacked deliveries of all the channel's consumers together.
 * As in RabbitMQ (rabbit_channel, basic.qos with global false: "unlimit_prefetch"), a per-consumer
 * qos also lifts the channel's limit, so the last qos of either kind decides how the channel is
 * limited. A prefetch size (bytes) is not implemented, as in RabbitMQ.
 */
export function qos(ctx: ChannelContext, m: MethodOf<'basic.qos'>): void {
  if (m.prefetchSize !== 0) throw fail('ERR_AMQP_NOT_IMPLEMENTED', `prefetch_size!=0 (${m.prefetchSize})`);
  if (m.global) {
    ctx.host.engine.setPrefetch(ctx.session, m.prefetchCount);
  } else {
    ctx.consumerPrefetch = m.prefetchCount;
    ctx.host.engine.setPrefetch(ctx.session, 0);
  }
  ctx.send({ name: 'basic.qos-ok' });
}

export function consume(ctx: ChannelContext, m: MethodOf<'basic.consume'>): void {
  const queue = ctx.queueName(m.queue);
  const tag = m.consumerTag === '' ? `amq.ctag-${randomBytes(16).toString('base64url')}` : m.consumerTag;
  // A tag in use on the channel is a hard error in RabbitMQ (not-allowed), not the engine's 406.
  if (ctx.consumerTags.has(tag)) throw fail('ERR_AMQP_NOT_ALLOWED', `attempt to reuse consumer tag '${tag}'`);
  // no-local is ignored, as RabbitMQ ignores it; consumer arguments (x-priority, ...) likewise.
  ctx.host.engine.consume(ctx.session, queue, { consumerTag: tag, noAck: m.noAck, exclusive: m.exclusive, prefetch: ctx.consumerPrefetch });
  ctx.consumerTags.add(tag);
  // The engine delivers after this turn's replies (a microtask later), so consume-ok comes first.
  ctx.reply(m.nowait, { name: 'basic.consume-ok', consumerTag: tag });
}

export function cancel(ctx: ChannelContext, m: MethodOf<'basic.cancel'>): void {
  // A tag the channel does not have (already cancelled by the broker, say) is answered all the same.
  if (ctx.consumerTags.delete(m.consumerTag)) ctx.host.engine.cancel(ctx.session, m.consumerTag);
  ctx.reply(m.nowait, { name: 'basic.cancel-ok', consumerTag: m.consumerTag });
}

export function get(ctx: ChannelContext, m: MethodOf<'basic.get'>): void {
  const got = ctx.host.engine.get(ctx.session, ctx.queueName(m.queue), m.noAck);
  if (got === null) {
    ctx.send({ name: 'basic.get-empty' });
    return;
  }
  ctx.host.out.content(ctx.number, {
    name: 'basic.get-ok', deliveryTag: got.deliveryTag, redelivered: got.redelivered, exchange: got.exchange, routingKey: got.routingKey, messageCount: got.messageCount,
  }, ctx.host.properties.toAmqp(got.props), got.body);
}

// An unknown tag is RabbitMQ's "PRECONDITION_FAILED - unknown delivery tag N": a channel error (406).
export function ack(ctx: ChannelContext, m: MethodOf<'basic.ack'>): void {
  ctx.host.engine.ack(ctx.session, m.deliveryTag, m.multiple);
}

export function nack(ctx: ChannelContext, m: MethodOf<'basic.nack'>): void {
  ctx.host.engine.nack(ctx.session, m.deliveryTag, m.multiple, m.requeue);
}

export function reject(ctx: ChannelContext, m: MethodOf<'basic.reject'>): void {
  ctx.host.engine.reject(ctx.session, m.deliveryTag, m.requeue);
}

/** basic.recover with requeue: every unacked delivery of the channel goes back, redelivered. */
export function recover(ctx: ChannelContext, m: MethodOf<'basic.recover'>): void {
  requeueAll(ctx, m.requeue);
  ctx.send({ name: 'basic.recover-ok' });
}

export function recoverAsync(ctx: ChannelContext, m: MethodOf<'basic.recover-async'>): void {
  requeueAll(ctx, m.requeue);
}

function requeueAll(ctx: ChannelContext, requeue: boolean): void {
  // Redelivering to the same consumer without a requeue is not implemented, as in RabbitMQ.
  if (!requeue) throw fail('ERR_AMQP_NOT_IMPLEMENTED', 'requeue=false');
  ctx.host.engine.recover(ctx.session);
}
