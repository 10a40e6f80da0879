// basic.publish and confirm.select: a publish goes to the engine, and its outcome comes back as a
// publisher confirm (ack once taken, after its commit when it is durable; nack when refused) and,
// for an unroutable mandatory message, a basic.return sent before that ack.
import { CeleriacError, fail } from '../../../shared/errors.js';
import { REPLY, type MethodOf } from '../codec/index.js';
import { ConfirmTracker } from '../confirms.js';
import type { ChannelContext, PublishHandler } from '../context.js';

export const publish: PublishHandler = (ctx, command) => {
  const m = command.method;
  // RabbitMQ 3 refuses immediate (a connection error): it was dropped from the protocol it implements.
  if (m.immediate) throw fail('ERR_AMQP_NOT_IMPLEMENTED', 'immediate=true');
  const { host } = ctx;
  if (command.body.length > host.limits.maxBodySize) {
    throw fail('ERR_MESSAGE_TOO_LARGE', `message size ${command.body.length} is larger than configured max size ${host.limits.maxBodySize}`);
  }
  const props = host.properties.fromAmqp(command.properties, command.propertiesRaw, host.user);
  // The body is a view of the socket's input: the engine keeps its own copy.
  const body = Buffer.from(command.body);
  host.markPublisher();
  const confirms = ctx.confirms;
  const seq = confirms?.publish() ?? 0;
  const release = host.publishing();
  const done = (err: CeleriacError | null): void => {
    release();
    if (ctx.closed) return;
    if (err !== null && err.code === 'ERR_NO_ROUTE') {
      // [AMQP 0-9-1 §1.8.3.9]: an unroutable mandatory message comes back; in confirm mode it is then acked.
      host.out.content(ctx.number, { name: 'basic.return', replyCode: REPLY.NO_ROUTE, replyText: 'NO_ROUTE', exchange: m.exchange, routingKey: m.routingKey }, host.properties.toAmqp(props), body);
    } else if (err !== null && confirms === null) {
      // Without confirms a refused message is dropped, as RabbitMQ drops it; a store failure is worth a line.
      if (err.code !== 'ERR_QUEUE_FULL') host.log('warn', `channel ${ctx.number}: a publish to '${m.exchange}' was lost: ${err.message}`);
    }
    if (confirms !== null) {
      confirms.settle(seq, err === null || err.code === 'ERR_NO_ROUTE');
      host.confirmsReady(ctx.number);
    }
  };
  try {
    host.engine.publish(ctx.session, m.exchange, m.routingKey, body, props, m.mandatory, done);
  } catch (err) {
    release();
    throw err;
  }
};

/** confirm.select: from now on every publish on the channel is confirmed [RabbitMQ confirms]. */
export function select(ctx: ChannelContext, m: MethodOf<'confirm.select'>): void {
  ctx.confirms ??= new ConfirmTracker();
  ctx.reply(m.nowait, { name: 'confirm.select-ok' });
}
