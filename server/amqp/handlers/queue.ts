// The queue class [AMQP 0-9-1 §1.7]: declare (server-named, exclusive, auto-delete, passive,
// x-arguments as the engine's named options), bind, unbind, purge, delete.
import type { MethodOf } from '../codec/index.js';
import type { ChannelContext } from '../context.js';
import { plainHeaders } from '../message-properties.js';

export function declare(ctx: ChannelContext, m: MethodOf<'queue.declare'>): void {
  // An empty name asks the server for one (amq.gen-...), except on a passive declare, which names
  // the channel's last queue [AMQP 0-9-1 §1.7.2.1].
  const name = m.passive ? ctx.queueName(m.queue) : m.queue;
  const args = plainHeaders(m.arguments);
  // Every queue here is what RabbitMQ calls classic: asking for that type asks for nothing more
  // (celeriac's own amqp:// transport names it on its delay queues). Other types are refused (406).
  if (args['x-queue-type'] === 'classic') delete args['x-queue-type'];
  const info = ctx.host.engine.declareQueue(ctx.session, name, {
    passive: m.passive, durable: m.durable, exclusive: m.exclusive, autoDelete: m.autoDelete, arguments: args,
  });
  ctx.lastQueue = info.queue;
  ctx.reply(m.nowait, { name: 'queue.declare-ok', queue: info.queue, messageCount: info.messageCount, consumerCount: info.consumerCount });
}

export function bind(ctx: ChannelContext, m: MethodOf<'queue.bind'>): void {
  const queue = ctx.queueName(m.queue);
  // An empty routing key with an empty queue name binds with the queue's name [AMQP 0-9-1 §1.7.2.3].
  const key = m.routingKey === '' && m.queue === '' ? queue : m.routingKey;
  ctx.host.engine.bindQueue(ctx.session, queue, m.exchange, key, plainHeaders(m.arguments));
  ctx.reply(m.nowait, { name: 'queue.bind-ok' });
}

export function unbind(ctx: ChannelContext, m: MethodOf<'queue.unbind'>): void {
  const queue = ctx.queueName(m.queue);
  const key = m.routingKey === '' && m.queue === '' ? queue : m.routingKey;
  ctx.host.engine.unbindQueue(ctx.session, queue, m.exchange, key, plainHeaders(m.arguments));
  ctx.send({ name: 'queue.unbind-ok' });
}

export function purge(ctx: ChannelContext, m: MethodOf<'queue.purge'>): void {
  const { messageCount } = ctx.host.engine.purgeQueue(ctx.session, ctx.queueName(m.queue));
  ctx.reply(m.nowait, { name: 'queue.purge-ok', messageCount });
}

export function remove(ctx: ChannelContext, m: MethodOf<'queue.delete'>): void {
  const { messageCount } = ctx.host.engine.deleteQueue(ctx.session, ctx.queueName(m.queue), { ifUnused: m.ifUnused, ifEmpty: m.ifEmpty });
  ctx.reply(m.nowait, { name: 'queue.delete-ok', messageCount });
}
