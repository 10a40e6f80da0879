// The broker-level client: the public Connection (declare, publish, consume, get, close) over
// one socket at a time, with reconnect, re-declaration and re-publish when a socket drops.
import { randomBytes } from 'node:crypto';
import { CeleriacError, errorFromWire, fail } from '../shared/errors.js';
import type {
  ConsumeOptions, DeleteExchangeOptions, DeleteQueueOptions, ExchangeOptions, ExchangeType, Frame, PublishFrame, QueueInfo, QueueOptions,
} from '../shared/frames.js';
import { OP } from '../shared/opcodes.js';
import { backoffDelay } from './backoff.js';
import { Confirms } from './confirms.js';
import { Consumers, type MessageHandler } from './consumer.js';
import { Message } from './message.js';
import type { Settings } from './options.js';
import { monotonicMs } from './clock.js';
import { OfflineExpiry } from './offline-expiry.js';
import { Outbox } from './outbox.js';
import type { Body, GetOptions, PublishOptions } from './api-types.js';
import { asCoded, asGetResult, asMessageCount, asQueueInfo } from './replies.js';
import { replay } from './replay.js';
import { Requests, type RequestFrame } from './requests.js';
import { EventRequests } from './event-requests.js';
import { Topology } from './topology.js';
import type { Transport } from './transport.js';

type State = 'open' | 'reconnecting' | 'closing' | 'closed';

/**
 * A connection to the broker. Build it with `connect()`. The task layer's requests (results,
 * finish, revoke, rate limits, groups) are inherited from TaskRequests (task-support.ts), beat's
 * (schedule entries, the leader lease, fires: a BeatBackend) from BeatRequests (beat-requests.ts),
 * the event log's read from EventRequests (event-requests.ts).
 */
export class Connection extends EventRequests {
  private transport: Transport | undefined;
  private outbox: Outbox;
  /** True when user frames may be written: a socket is up and (after a reconnect) replayed. */
  private ready = false;
  private flowStopped = false;
  private state: State = 'open';
  private nextId = 0;
  private attempt = 0;
  private tagCount = 0;
  private readonly tagPrefix = `ctag-${randomBytes(6).toString('hex')}-`;
  private readonly requests: Requests;
  private readonly confirms = new Confirms();
  private readonly topology = new Topology();
  private readonly consumers = new Consumers();
  private readonly offline: OfflineExpiry;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly expiryTimer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;
  private socketGone: Promise<void> = Promise.resolve();
  private brokerCapabilities: readonly string[] = [];
  private readonly onHandlerError = (err: unknown, msg: Message): void => {
    if (this.listenerCount('handlerError') > 0) this.emit('handlerError', err, msg);
    else process.emitWarning(`consumer ${msg.fields.consumerTag} handler failed on delivery ${msg.fields.deliveryTag}: ${String(err)}`, { code: 'CELERIAC_HANDLER_ERROR' });
  };

  /** @internal Use connect(). */
  constructor(private readonly settings: Settings, private readonly dial: () => Promise<Transport>, transport: Transport) {
    super();
    this.requests = new Requests(settings.requestTimeout);
    this.offline = new OfflineExpiry(this.confirms, settings.offlinePublishTimeout);
    this.outbox = new Outbox(() => {});
    this.adopt(transport);
    this.ready = true;
    const sweep = Math.max(50, Math.min(1_000, Math.floor(settings.requestTimeout / 4)));
    this.expiryTimer = setInterval(() => {
      const now = monotonicMs();
      this.requests.expire(now);
      // A blocked broker is slow on purpose, not broken: publishes are not timed while blocked.
      if (this.ready && !this.flowStopped) this.confirms.expire(now, settings.requestTimeout);
    }, sweep);
    this.expiryTimer.unref();
  }

  /** Heartbeat interval in force on the current socket, ms (0 = none). */
  get heartbeat(): number {
    return this.transport?.heartbeat ?? 0;
  }

  /**
   * True while the broker has stopped taking this connection's publishes (flow control: a memory
   * or store watermark); they are held here until it lets go. The 'blocked' event reports the
   * change, but a connection opened on a broker already blocked is told so in its welcome, before
   * any listener exists: read this then.
   */
  get blocked(): boolean {
    return this.flowStopped;
  }

  /** What the broker can do, as its latest welcome said (kept while reconnecting). */
  get capabilities(): readonly string[] {
    return this.brokerCapabilities;
  }

  /** True while a socket is up and usable (false while reconnecting and after close). */
  get connected(): boolean {
    return this.ready;
  }

  /** Declares an exchange (idempotent when the options agree). Re-declared after a reconnect. */
  async assertExchange(name: string, type: ExchangeType, options: ExchangeOptions = {}): Promise<{ exchange: string }> {
    await this.request({ op: OP.declareExchange, id: ++this.nextId, name, type, options }, true);
    this.topology.exchangeDeclared(name, type, options);
    return { exchange: name };
  }

  /** Deletes an exchange and its bindings. */
  async deleteExchange(name: string, options: DeleteExchangeOptions = {}): Promise<void> {
    await this.request({ op: OP.deleteExchange, id: ++this.nextId, name, options }, false);
    this.topology.exchangeDeleted(name);
  }

  /**
   * Declares a queue; name '' asks the broker for a fresh name, given in the result. Re-declared
   * after a reconnect (a server-named queue then gets a new name: see 'queueRenamed').
   */
  async assertQueue(name: string, options: QueueOptions = {}): Promise<QueueInfo> {
    const result = await this.request({ op: OP.declareQueue, id: ++this.nextId, name, options }, true);
    const info = asQueueInfo(result, name);
    if (options.passive !== true) this.topology.queueDeclared(info.queue, options, name === '');
    return info;
  }

  /** Checks that a queue exists (ERR_NOT_FOUND otherwise) without declaring it. */
  async checkQueue(name: string): Promise<QueueInfo> {
    const result = await this.request({ op: OP.declareQueue, id: ++this.nextId, name, options: { passive: true } }, true);
    return asQueueInfo(result, name);
  }

  /** Deletes a queue; its consumers are cancelled. Resolves with the number of messages dropped. */
  async deleteQueue(name: string, options: DeleteQueueOptions = {}): Promise<{ messageCount: number }> {
    const result = asMessageCount(await this.request({ op: OP.deleteQueue, id: ++this.nextId, name, options }, false), 'a queue delete');
    this.topology.queueDeleted(name);
    for (const tag of this.consumers.tagsOf(name)) if (this.consumers.remove(tag)) this.emit('cancel', tag, `queue '${name}' deleted`);
    return result;
  }

  /** Removes every ready message from a queue. Resolves with how many were removed. */
  async purgeQueue(name: string): Promise<{ messageCount: number }> {
    return asMessageCount(await this.request({ op: OP.purgeQueue, id: ++this.nextId, name }, false), 'a queue purge');
  }

  /** Binds a queue to an exchange with a routing pattern. Re-bound after a reconnect. */
  async bindQueue(queue: string, exchange: string, pattern: string, args: Record<string, unknown> = {}): Promise<void> {
    await this.request({ op: OP.bindQueue, id: ++this.nextId, queue, exchange, pattern, args }, true);
    this.topology.bound(queue, exchange, pattern, args);
  }

  /** Removes a binding. */
  async unbindQueue(queue: string, exchange: string, pattern: string, args: Record<string, unknown> = {}): Promise<void> {
    await this.request({ op: OP.unbindQueue, id: ++this.nextId, queue, exchange, pattern, args }, true);
    this.topology.unbound(queue, exchange, pattern, args);
  }

  /**
   * Publishes a message. Resolves when the broker confirms it (for a persistent message to a
   * durable queue: once committed to disk); rejects with the broker's coded error (ERR_NO_ROUTE
   * when `mandatory` and unroutable, ERR_QUEUE_FULL, ERR_NOT_FOUND, ...). A publish not yet
   * confirmed when the socket drops is published again on the next socket, so the promise stays
   * pending across a reconnect — for at most `offlinePublishTimeout` when set (then
   * ERR_PUBLISH_FAILED). While the broker says flow(false), publishes queue locally.
   */
  publish(exchange: string, routingKey: string, body: Body, options?: PublishOptions): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(this.closedError('publish'));
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    if (!(bytes instanceof Uint8Array) || typeof exchange !== 'string' || typeof routingKey !== 'string') {
      return Promise.reject(fail('ERR_INVALID_ARGUMENT', 'publish(exchange, routingKey, body): exchange and routingKey must be strings, body a Uint8Array, Buffer or string'));
    }
    // Every publish frame gets the same shape (all keys present) so the hot path stays monomorphic.
    const frame: PublishFrame = { op: OP.publish, id: ++this.nextId, exchange, routingKey, body: bytes, props: undefined, mandatory: undefined, track: undefined };
    if (options !== undefined) {
      if (options.mandatory === undefined && options.track === undefined) frame.props = options;
      else {
        const { mandatory, track, ...props } = options;
        frame.mandatory = mandatory;
        frame.track = track;
        frame.props = props;
      }
    }
    return this.publishFrame(frame);
  }

  /** @internal Sends a checked publish frame now, or holds it while offline or blocked. */
  protected publishFrame(frame: PublishFrame): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(this.closedError('publish'));
    if (this.ready && !this.flowStopped) {
      const p = this.confirms.add(frame, monotonicMs());
      this.outbox.push(frame, frame.body.byteLength);
      return p;
    }
    return this.confirms.add(frame, 0, monotonicMs());
  }

  /** Publishes straight to a queue through the default exchange. */
  sendToQueue(queue: string, body: Body, options?: PublishOptions): Promise<void> {
    return this.publish('', queue, body, options);
  }

  /**
   * Subscribes `handler` to a queue; the broker keeps at most `prefetch` deliveries unacked.
   * The handler settles each message (ack, nack, reject) unless `noAck`. If it throws or rejects
   * without settling, the message is left unsettled — amqplib does the same — and keeps its
   * prefetch slot until settled or the connection drops (then the broker requeues it); the error
   * is emitted as 'handlerError'. Catch and nack yourself to requeue at once. The consumer tag is
   * chosen by the client when not given, and kept across reconnects.
   */
  async consume(queue: string, handler: MessageHandler, options: ConsumeOptions = {}): Promise<{ consumerTag: string }> {
    if (typeof handler !== 'function') throw fail('ERR_INVALID_ARGUMENT', 'consume(queue, handler): handler must be a function');
    const consumerTag = options.consumerTag ?? `${this.tagPrefix}${++this.tagCount}`;
    if (this.consumers.has(consumerTag)) throw fail('ERR_PRECONDITION_FAILED', `consumer tag '${consumerTag}' is already in use on this connection`);
    const opts: ConsumeOptions = { ...options, consumerTag };
    // Registered before the request: the broker may deliver before its ok reaches us.
    this.consumers.add(consumerTag, queue, handler, opts);
    try {
      await this.request({ op: OP.consume, id: ++this.nextId, queue, options: opts }, true);
    } catch (err) {
      this.consumers.remove(consumerTag);
      throw err;
    }
    this.consumers.markSubscribed(consumerTag);
    return { consumerTag };
  }

  /** Stops a consumer. Deliveries already on their way still reach its handler. */
  async cancel(consumerTag: string): Promise<void> {
    if (!this.consumers.has(consumerTag)) throw fail('ERR_NOT_FOUND', `no consumer '${consumerTag}' on this connection`);
    this.consumers.markCancelling(consumerTag);
    try {
      await this.request({ op: OP.cancel, id: ++this.nextId, consumerTag }, false);
    } catch (err) {
      // Gone with its socket (never re-subscribed), or already cancelled by the broker: done.
      const code = err instanceof CeleriacError ? err.code : undefined;
      if (code !== 'ERR_NOT_FOUND' && !(code === 'ERR_CONNECTION_CLOSED' && this.state !== 'closed')) throw err;
    } finally {
      this.consumers.remove(consumerTag);
    }
  }

  /** Fetches one message, or null when the queue has none ready. */
  async get(queue: string, options: GetOptions = {}): Promise<Message | null> {
    const noAck = options.noAck === true;
    const result = asGetResult(await this.request({ op: OP.get, id: ++this.nextId, queue, noAck }, false));
    if (result === null) return null;
    return new Message(result, '', this.outbox, noAck, result.messageCount);
  }

  /**
   * Closes gracefully: waits (up to requestTimeout) for pending publishes to be confirmed, sends
   * a close, then closes the socket. Whatever is still pending fails with ERR_CONNECTION_CLOSED.
   * Idempotent.
   */
  close(): Promise<void> {
    if (this.closing === undefined) this.closing = this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    if (this.state === 'closed') return;
    const wasReady = this.ready;
    this.state = 'closing';
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    const t = this.transport;
    if (t !== undefined && wasReady) {
      const timeout = this.settings.requestTimeout;
      this.outbox.flush();
      await within(this.confirms.whenIdle(), timeout);
      if (this.transport === t) {
        const frame: RequestFrame = { op: OP.close, id: ++this.nextId, reason: 'client close' };
        const answered = this.requests.add(frame, false).catch(() => undefined);
        this.write(frame);
        await within(answered, timeout);
        t.close();
        if (!(await within(this.socketGone, 1_000))) t.terminate(fail('ERR_CONNECTION_CLOSED', 'closed by the client'));
      }
    } else if (t !== undefined) {
      t.terminate(fail('ERR_CONNECTION_CLOSED', 'closed by the client'));
    }
    this.markClosed(undefined);
  }

  // ---- sockets ----------------------------------------------------------------------------

  private adopt(t: Transport): void {
    this.transport = t;
    this.brokerCapabilities = Object.freeze([...t.welcome.capabilities]);
    this.pushed.configure(t.welcome.capabilities, t.welcome.limits);
    const outbox = new Outbox((frames) => t.send(frames));
    this.outbox = outbox;
    this.flowStopped = false;
    let gone!: () => void;
    this.socketGone = new Promise<void>((resolve) => { gone = resolve; });
    t.attach({
      frames: (frames) => this.onFrames(frames, outbox),
      closed: (err) => {
        gone();
        this.onSocketClosed(t, outbox, err);
      },
    });
  }

  private onFrames(frames: Frame[], outbox: Outbox): void {
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      switch (f.op) {
        case OP.deliver:
          this.consumers.dispatch(f, outbox, this.onHandlerError);
          break;
        case OP.confirm:
          this.confirms.confirm(f.ids);
          break;
        case OP.ok:
          if (!this.requests.resolve(f.id, f.result)) this.pushed.answered(f.id, f.result);
          break;
        case OP.error: {
          const err = errorFromWire(f.code, f.message, f.details);
          if (f.id !== 0 && (this.confirms.reject(f.id, err) || this.requests.reject(f.id, err) || this.pushed.refused(f.id))) break;
          // A shutdown is routine: it is reported as the cause in 'reconnecting' or 'close'.
          if (err.code !== 'ERR_SERVER_SHUTDOWN') this.emitError(err);
          break;
        }
        case OP.flow:
          this.onFlow(f.active, f.reason ?? '');
          break;
        case OP.cancelNotify:
          if (this.consumers.remove(f.consumerTag)) this.emit('cancel', f.consumerTag, f.reason);
          break;
        case OP.revoked:
          this.emit('revoked', f.signal === undefined ? { taskIds: f.taskIds, terminate: f.terminate } : { taskIds: f.taskIds, terminate: f.terminate, signal: f.signal });
          break;
        case OP.scheduleChanged:
          this.schedulesChanged(f.names);
          break;
        default:
          // heartbeat (the transport noted it), close (the socket close follows), or a frame a
          // broker never sends to a client: nothing to do.
          break;
      }
    }
  }

  private onFlow(active: boolean, reason: string): void {
    if (!active) {
      if (this.flowStopped) return;
      this.flowStopped = true;
      this.emit('blocked', reason);
      return;
    }
    if (!this.flowStopped) return;
    this.flowStopped = false;
    this.confirms.restamp(monotonicMs());
    if (this.ready) this.writeUnsentPublishes();
    this.emit('unblocked');
  }

  private onSocketClosed(t: Transport, outbox: Outbox, err: CeleriacError): void {
    outbox.close();
    if (this.transport !== t) return;
    this.transport = undefined;
    this.ready = false;
    this.flowStopped = false;
    const lost = err.code === 'ERR_CONNECTION_CLOSED' ? err : new CeleriacError('ERR_CONNECTION_CLOSED', `connection lost: ${err.message}`, { cause: err });
    this.requests.dropped(lost);
    this.confirms.dropped(monotonicMs());
    this.pushed.dropped((publishId) => this.confirms.has(publishId));
    if (this.state === 'closing') {
      // close() was waiting on this socket: what is still pending fails now, not after a timeout.
      this.markClosed(undefined);
      return;
    }
    if (this.state === 'closed') return;
    if (!this.settings.reconnect) {
      this.markClosed(err);
      return;
    }
    this.state = 'reconnecting';
    this.scheduleReconnect(err);
  }

  private scheduleReconnect(err: CeleriacError): void {
    this.offline.down(err);
    const delay = backoffDelay(this.attempt, this.settings.backoff);
    this.attempt++;
    this.emit('reconnecting', { attempt: this.attempt, delay, error: err });
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
  }

  private async reconnect(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.state !== 'reconnecting') return;
    let t: Transport;
    try {
      t = await this.dial();
    } catch (err) {
      if (this.state === 'reconnecting') this.scheduleReconnect(asCoded(err));
      return;
    }
    if (this.state !== 'reconnecting') {
      t.close();
      return;
    }
    this.adopt(t);
    const replayed = await replay({
      topology: this.topology,
      consumers: this.consumers,
      nextId: () => ++this.nextId,
      send: (frame) => this.replayRequest(frame),
      alive: () => this.transport === t,
      failed: (err) => this.emitError(err),
      renamed: (from, to) => this.emit('queueRenamed', from, to),
      cancelled: (tag, reason) => this.emit('cancel', tag, reason),
    });
    if (!replayed || !(await this.rewatchSchedules((frame) => this.replayRequest(frame), () => this.transport === t))) return;
    this.attempt = 0;
    this.state = 'open';
    this.ready = true;
    this.offline.up();
    for (const frame of this.requests.unsent()) this.write(frame);
    this.writeUnsentPublishes();
    this.emit('reconnected');
    this.schedulesMayHaveChanged();
  }

  /** Sends a request on the current socket now, even before the connection is ready. */
  private replayRequest(frame: RequestFrame): Promise<unknown> {
    const p = this.requests.add(frame, false);
    this.write(frame);
    return p;
  }

  // ---- writing ----------------------------------------------------------------------------

  /** @internal */
  protected newId(): number {
    return ++this.nextId;
  }

  /** @internal */
  protected request(frame: RequestFrame, retry: boolean, extraTimeoutMs = 0): Promise<unknown> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(this.closedError('request'));
    const p = this.requests.add(frame, retry, extraTimeoutMs);
    if (this.ready) this.write(frame);
    return p;
  }

  private write(frame: RequestFrame): void {
    this.requests.markSent(frame.id);
    this.outbox.push(frame);
  }

  private writeUnsentPublishes(): void {
    const now = monotonicMs();
    for (const frame of this.confirms.unsent()) {
      if (this.flowStopped) return;
      this.confirms.markSent(frame.id, now);
      this.outbox.push(frame, frame.body.byteLength);
    }
  }

  private markClosed(err: CeleriacError | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.ready = false;
    clearInterval(this.expiryTimer);
    this.offline.up();
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    const closed = err === undefined
      ? fail('ERR_CONNECTION_CLOSED', 'the connection was closed')
      : new CeleriacError('ERR_CONNECTION_CLOSED', `the connection was lost: ${err.message}`, { cause: err });
    this.pushed.clear();
    this.requests.rejectAll(closed);
    this.confirms.rejectAll(closed);
    this.emit('close', err);
  }

  private emitError(err: CeleriacError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private closedError(what: string): CeleriacError {
    return fail('ERR_CONNECTION_CLOSED', `cannot ${what}: the connection is ${this.state}`);
  }
}

/** Waits for `p` at most `ms`; true when it settled in time. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    p.then(() => { clearTimeout(timer); resolve(true); }, () => { clearTimeout(timer); resolve(true); });
  });
}
