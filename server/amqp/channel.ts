// One AMQP channel: its frames assembled into commands, each command to its handler, its own engine
// handle (consumers, delivery tags, unacked deliveries, prefetch), its deliveries out, and its close
// in both directions. A soft error closes the channel only [AMQP 0-9-1 §1.5.2.5]; a hard one is
// handed to the connection.
import { CeleriacError, fail } from '../../shared/errors.js';
import type { Delivery, DeliverySink, EngineConnection } from '../engine/types.js';
import { CLASS, ContentAssembler, METHOD_BY_NAME, type ChannelFrame, type Command, type MethodInput, type MethodOf } from './codec/index.js';
import type { ConfirmTracker } from './confirms.js';
import type { ChannelContext, ChannelHost, MethodHandler } from './context.js';
import { HANDLERS } from './handlers/index.js';
import { publish } from './handlers/publish.js';
import { replyFor } from './reply-codes.js';

type State = 'open' | 'closing' | 'closed';

export class AmqpChannel implements ChannelContext, DeliverySink {
  /** open; closing: the server sent channel.close and waits for close-ok; closed. */
  private state: State = 'open';
  readonly session: EngineConnection;
  lastQueue: string | undefined;
  consumerPrefetch = 0;
  readonly consumerTags = new Set<string>();
  confirms: ConfirmTracker | null = null;
  private readonly assembler = new ContentAssembler(Number.MAX_SAFE_INTEGER);

  constructor(readonly host: ChannelHost, readonly number: number) {
    this.session = host.engine.openChannel(host.connection, this);
  }

  get closed(): boolean {
    return this.state !== 'open';
  }

  /** Takes the channel's next frame. */
  frame(f: ChannelFrame): void {
    if (this.state === 'closing') return this.whileClosing(f);
    if (this.state === 'closed') return;
    // The body size is known from the header: a body over the limit is refused before it is read
    // (RabbitMQ's max_message_size answer, a channel error), not buffered and then refused.
    if (f.type === 'header' && this.assembler.busy && f.bodySize > this.host.limits.maxBodySize) {
      return this.failed(fail('ERR_MESSAGE_TOO_LARGE', `message size ${f.bodySize} is larger than configured max size ${this.host.limits.maxBodySize}`), CLASS.basic, 40);
    }
    let command: Command | undefined;
    try {
      command = this.assembler.push(f);
    } catch (err) {
      // Frames out of order are a connection error [AMQP 0-9-1 §4.2.6]; the assembler names the method.
      const d = err instanceof CeleriacError ? err.details : undefined;
      return this.host.connectionError(err, Number(d?.classId ?? 0), Number(d?.methodId ?? 0));
    }
    if (command !== undefined) this.command(command);
  }

  /** After our channel.close only close-ok (or the peer's own close) counts [AMQP 0-9-1 §1.5.2.5]. */
  private whileClosing(f: ChannelFrame): void {
    if (f.type !== 'method') return;
    if (f.method.name === 'channel.close') this.send({ name: 'channel.close-ok' });
    else if (f.method.name !== 'channel.close-ok') return;
    this.state = 'closed';
    this.host.channelGone(this.number);
  }

  private command(cmd: Command): void {
    const m = cmd.method;
    const spec = METHOD_BY_NAME[m.name];
    try {
      if (cmd.type === 'content') {
        // The assembler only makes commands of content methods; a client may send only basic.publish.
        if (m.name !== 'basic.publish') throw notImplemented(m.name);
        publish(this, { ...cmd, method: m });
        return;
      }
      switch (m.name) {
        case 'channel.close':
          this.closedByPeer();
          return;
        case 'channel.open':
          throw fail('ERR_AMQP_CHANNEL', `second 'channel.open' seen on channel ${this.number}`);
        case 'channel.flow':
          this.flowRequest(m);
          return;
        default:
          break;
      }
      const handler = HANDLERS[m.name] as MethodHandler<typeof m> | undefined;
      if (handler === undefined) throw notImplemented(m.name);
      handler(this, m);
    } catch (err) {
      this.failed(err, spec.classId, spec.methodId);
    }
  }

  /** channel.flow from the client: pausing deliveries this way is not implemented, as in RabbitMQ 3. */
  private flowRequest(m: MethodOf<'channel.flow'>): void {
    if (!m.active) throw fail('ERR_AMQP_NOT_IMPLEMENTED', 'active=false');
    this.send({ name: 'channel.flow-ok', active: true });
  }

  /** An error of a command: a soft one closes this channel, a hard one the connection. */
  private failed(err: unknown, classId: number, methodId: number): void {
    if (!(err instanceof CeleriacError)) this.host.log('error', `channel ${this.number}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    const reply = replyFor(err);
    if (reply.hard) return this.host.connectionError(err, classId, methodId);
    this.release();
    this.state = 'closing';
    this.send({ name: 'channel.close', replyCode: reply.code, replyText: reply.text, classId, methodId });
  }

  private closedByPeer(): void {
    this.release();
    this.send({ name: 'channel.close-ok' });
    this.state = 'closed';
    this.host.channelGone(this.number);
  }

  /** Gives the channel's deliveries back (requeued) and cancels its consumers, once. */
  release(): void {
    if (this.state === 'closed') return;
    this.host.engine.closeConnection(this.session);
    this.consumerTags.clear();
    this.confirms = null;
  }

  /** The connection is gone: nothing more is sent or handled on this channel. */
  connectionClosed(): void {
    this.release();
    this.state = 'closed';
  }

  // ---- ChannelContext ----

  send(method: MethodInput): void {
    this.host.out.method(this.number, method);
  }

  reply(nowait: boolean, method: MethodInput): void {
    if (!nowait) this.send(method);
  }

  queueName(name: string): string {
    if (name !== '') return name;
    if (this.lastQueue === undefined) throw fail('ERR_NOT_FOUND', 'no previously declared queue');
    return this.lastQueue;
  }

  /** Appends what confirm mode settled since the last flush (the connection calls it before sending). */
  sendConfirms(): void {
    if (this.confirms === null || this.state !== 'open') return;
    for (const c of this.confirms.take()) {
      this.send(c.ack ? { name: 'basic.ack', deliveryTag: c.deliveryTag, multiple: c.multiple } : { name: 'basic.nack', deliveryTag: c.deliveryTag, multiple: c.multiple, requeue: false });
    }
  }

  // ---- DeliverySink ----

  writable(): boolean {
    return this.host.writable();
  }

  deliver(d: Delivery): void {
    this.host.out.deliver(this.number, d.consumerTag, d.deliveryTag, d.redelivered, d.exchange, d.routingKey, this.host.properties.toAmqp(d.props), d.body);
  }

  /** The broker ended a consumer (its queue went, an ack timeout): basic.cancel when the client takes it. */
  consumerCancelled(consumerTag: string, reason: string): void {
    this.consumerTags.delete(consumerTag);
    if (this.state !== 'open') return;
    if (this.host.capabilities.consumerCancelNotify) this.send({ name: 'basic.cancel', consumerTag, nowait: true });
    else this.host.log('info', `channel ${this.number}: consumer '${consumerTag}' ended (${reason}); the client takes no basic.cancel`);
  }
}

function notImplemented(name: string): CeleriacError {
  return fail('ERR_AMQP_NOT_IMPLEMENTED', `${name} is not implemented by this broker`);
}
