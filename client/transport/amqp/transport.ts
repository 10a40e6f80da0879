// The transport contract over AMQP 0-9-1 (RabbitMQ) with amqplib: one connection, a channel for
// declarations, a confirm channel for publishes, and a channel per consumer (its prefetch is that
// channel's basic.qos, its delivery tags are that channel's). After a drop it reconnects with
// backoff, declares again what was declared, re-subscribes consumers and re-sends publishes not
// confirmed yet; given several node URLs (a cluster), each attempt tries them in turn, from the
// one last connected (kombu's failover). Delayed delivery is held by RabbitMQ (delay.ts).
import { EventEmitter } from 'node:events';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib';
import { CeleriacError, fail } from '../../../shared/errors.js';
import type { ConsumeOptions, DeleteQueueOptions, ExchangeOptions, ExchangeType, QueueInfo, QueueOptions } from '../../../shared/frames.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from '../../backoff.js';
import type { Delivery, EventLog, Transport, TransportEvents, TransportPublishOptions } from '../transport.js';
import { publishProperties, queueArguments } from './arguments.js';
import { delayHeaders, delayLevel, delayQueueName, delayQueueOptions, delayRouteArgs, DELAY_ROUTE_EXCHANGE } from './delay.js';
import { AmqpDelivery, ConsumerChannel } from './delivery.js';
import { isUnreachable } from '../../unreachable.js';
import { amqpError, publishError } from './errors.js';
import { maskUrlPassword } from '../../../shared/mask-url.js';
import { Outbox, type OutgoingPublish } from './outbox.js';
import { Topology } from './topology.js';

/** Options of openAmqpTransport. Durations in ms. */
export interface AmqpTransportOptions {
  /** Heartbeat to propose (RabbitMQ takes the smaller of its own and this one). Default 60,000; 0 = none. */
  heartbeat?: number;
  /** Reconnect by itself after a drop. Default true; false makes a drop final ('close' with the error). */
  reconnect?: boolean;
  /** Reconnect delays: exponential from `initial` up to `max`, with jitter. Default 100 / 10,000. */
  reconnectBackoff?: Partial<BackoffOptions>;
  /** Name shown in RabbitMQ's connection list. Default `celeriac-client`. */
  clientName?: string;
  /**
   * How long opening a connection (TCP, TLS and AMQP handshake) may take before the attempt fails
   * with ERR_TIMEOUT, and how long close() waits for publishes not confirmed yet. Default 30,000.
   */
  requestTimeout?: number;
}

interface ConsumerRecord {
  queue: string;
  handler: (msg: Delivery) => unknown;
  options: ConsumeOptions;
  tag: string;
  on: ConsumerChannel | undefined;
}

/** The events emitter, typed by the contract's event table. */
type Emitter = EventEmitter<{ [K in keyof TransportEvents]: TransportEvents[K] }>;

/**
 * Opens an AMQP transport to `url` (`amqp://` or `amqps://`), or to the first of `url`'s nodes that
 * answers when given several (the nodes of one cluster: each connect and reconnect tries them in
 * turn, starting from the one last connected). Rejects with ERR_ACCESS_REFUSED for a refused login,
 * ERR_CONNECTION_CLOSED (isUnreachable() true) when RabbitMQ cannot be reached: the first connection
 * is tried once (once per URL), the caller decides about retrying it.
 */
export async function openAmqpTransport(url: string | readonly string[], options: AmqpTransportOptions = {}): Promise<AmqpTransport> {
  const transport = new AmqpTransport(url, options);
  await transport.start();
  return transport;
}

/** An AMQP 0-9-1 link implementing the Transport contract; see openAmqpTransport. */
export class AmqpTransport implements Transport {
  /** The nodes to connect to, in order of preference. */
  readonly #urls: readonly string[];
  /** Index in #urls of the node connected last: the next attempt starts there. */
  #at = 0;
  readonly #options: Required<Omit<AmqpTransportOptions, 'reconnectBackoff'>> & { reconnectBackoff: BackoffOptions };
  readonly #events: Emitter = new EventEmitter() as Emitter;
  readonly #topology = new Topology();
  readonly #consumers = new Map<string, ConsumerRecord>();
  /** Consumer channels open now, including those of cancelled consumers still settling their deliveries. */
  readonly #consumerChannels = new Set<ConsumerChannel>();
  readonly #outbox = new Outbox();
  #model: ChannelModel | undefined;
  #ctl: Channel | undefined;
  #pub: ConfirmChannel | undefined;
  #connected = false;
  #blocked = false;
  #closing = false;
  #closed = false;
  #heartbeat = 0;
  /** Declarations run one at a time: a refused one closes the channel, which must not take others down. */
  #ctlQueue: Promise<unknown> = Promise.resolve();
  /** Waiters for the link being up (declares and consumes made while reconnecting). */
  #upWaiters: Array<{ resolve: () => void; reject: (err: CeleriacError) => void }> = [];
  #tagSeq = 0;
  /** Targets whose way back from the delay queues is bound (`e:<exchange>`, `q:<queue>` for the default exchange). */
  readonly #delayRoutes = new Set<string>();
  /** Why the broker closed a confirm channel, for the publishes it fails. */
  readonly #channelErrors = new WeakMap<ConfirmChannel, unknown>();
  /** The wait before the next reconnect attempt, cleared by close() so it does not hold the process. */
  #retryTimer: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  constructor(url: string | readonly string[], options: AmqpTransportOptions) {
    const urls = typeof url === 'string' ? [url] : [...url];
    if (urls.length === 0) throw fail('ERR_INVALID_ARGUMENT', 'no AMQP URL to connect to');
    for (const u of urls) if (!/^amqps?:\/\//i.test(u)) throw fail('ERR_INVALID_ARGUMENT', `not an amqp:// or amqps:// URL: '${maskUrlPassword(u)}'`);
    this.#urls = urls;
    this.#options = {
      heartbeat: options.heartbeat ?? 60_000,
      reconnect: options.reconnect ?? true,
      clientName: options.clientName ?? 'celeriac-client',
      requestTimeout: options.requestTimeout ?? 30_000,
      reconnectBackoff: { ...DEFAULT_BACKOFF, ...options.reconnectBackoff },
    };
  }

  get connected(): boolean {
    return this.#connected;
  }

  get blocked(): boolean {
    return this.#blocked;
  }

  get heartbeat(): number {
    return this.#heartbeat;
  }

  /** Connects the first time; see openAmqpTransport. */
  async start(): Promise<void> {
    await this.#establish();
  }

  // ---- connection life ----

  /** The node connected last (or to be tried first), its password masked. */
  get url(): string {
    return maskUrlPassword(this.#urls[this.#at]!);
  }

  /** amqplib's URL with our heartbeat (seconds, AMQP's unit) unless the URL names one. */
  #connectUrl(url: string): string {
    if (/[?&]heartbeat=/.test(url)) return url;
    const seconds = Math.ceil(this.#options.heartbeat / 1000);
    return `${url}${url.includes('?') ? '&' : '?'}heartbeat=${seconds}`;
  }

  /** Opens a connection to `url`; rejects with a coded error. */
  async #connectTo(url: string): Promise<ChannelModel> {
    const timeout = this.#options.requestTimeout;
    try {
      // amqplib's `timeout` bounds the TCP connect and the AMQP handshake: a peer that accepts and
      // never answers (a stuck proxy, a node still booting) would otherwise hold this attempt forever.
      return await amqp.connect(this.#connectUrl(url), { clientProperties: { connection_name: this.#options.clientName }, timeout });
    } catch (err) {
      if (err instanceof Error && err.message === 'connect ETIMEDOUT') {
        throw fail('ERR_TIMEOUT', `connecting to ${maskUrlPassword(url)}: no AMQP handshake within ${timeout} ms`);
      }
      throw amqpError(err, `connecting to ${maskUrlPassword(url)}`);
    }
  }

  /**
   * Connects to the first node that answers, trying each once from the one connected last (a node
   * that went down is passed over at once: its port refuses). When none does: a refusal that no
   * retry fixes (a wrong password) if any node gave one, else the first node's error.
   */
  async #connectAny(): Promise<ChannelModel> {
    const errors: CeleriacError[] = [];
    for (let i = 0; i < this.#urls.length; i++) {
      const at = (this.#at + i) % this.#urls.length;
      try {
        const model = await this.#connectTo(this.#urls[at]!);
        this.#at = at;
        return model;
      } catch (err) {
        errors.push(amqpError(err, `connecting to ${maskUrlPassword(this.#urls[at]!)}`));
      }
      if (this.#closing) break;
    }
    throw errors.find((e) => !isUnreachable(e)) ?? errors[0]!;
  }

  /** One connection: channels, topology declared again, consumers re-subscribed, outbox flushed. */
  async #establish(): Promise<void> {
    const model = await this.#connectAny();
    try {
      // close() may have run while this attempt was under way: it found no connection to close.
      if (this.#closing) throw fail('ERR_CONNECTION_CLOSED', 'the AMQP transport was closed while connecting');
      model.on('error', () => {}); // 'close' follows with the same error; handled there
      model.on('blocked', (reason: string) => {
        this.#blocked = true;
        this.#events.emit('blocked', String(reason));
      });
      model.on('unblocked', () => {
        this.#blocked = false;
        this.#events.emit('unblocked');
        this.#pump();
      });
      const ctl = await model.createChannel();
      this.#watchCtl(ctl);
      const pub = await model.createConfirmChannel();
      this.#watchPub(pub, model);
      await this.#topology.replay(ctl);
      this.#model = model;
      this.#ctl = ctl;
      this.#pub = pub;
      const tune = (model.connection as unknown as { heartbeat?: number }).heartbeat;
      this.#heartbeat = typeof tune === 'number' ? tune * 1000 : 0;
      for (const c of [...this.#consumers.values()]) {
        try {
          await this.#subscribe(c, model);
        } catch (err) {
          // Its queue is gone (a broker restarted without it) or locked: that consumer ends, the
          // link goes on. Anything else (the link dropped again) fails this attempt.
          const code = amqpError(err, 'consume').code;
          if (code !== 'ERR_NOT_FOUND' && code !== 'ERR_RESOURCE_LOCKED' && code !== 'ERR_ACCESS_DENIED') throw err;
          this.#consumers.delete(c.tag);
          this.#events.emit('cancel', c.tag, `re-subscribing to '${c.queue}' failed: ${amqpError(err, 'consume').message}`);
        }
      }
      if (this.#closing) throw fail('ERR_CONNECTION_CLOSED', 'the AMQP transport was closed while connecting');
    } catch (err) {
      await model.close().catch(() => {});
      throw amqpError(err, `setting up the link to ${this.url}`);
    }
    model.once('close', (err?: unknown) => this.#onDrop(model, err));
    this.#connected = true;
    for (const w of this.#upWaiters.splice(0)) w.resolve();
    this.#pump();
  }

  #watchCtl(ctl: Channel): void {
    ctl.on('error', () => {}); // the failed call rejects with it
    ctl.on('close', () => {
      if (this.#ctl === ctl) this.#ctl = undefined;
    });
  }

  #watchPub(pub: ConfirmChannel, model: ChannelModel): void {
    // The broker's reason for closing the channel (404 for a missing exchange, ...): the confirms
    // pending on it fail with a bare "channel closed", this says why.
    pub.on('error', (err: unknown) => this.#channelErrors.set(pub, err));
    pub.on('return', (msg: ConsumeMessage) => this.#outbox.returned(msg.fields.exchange, msg.fields.routingKey, msg.content));
    pub.on('close', () => {
      if (this.#pub === pub) this.#pub = undefined;
      // A channel closed by the broker while the connection stays: publishes in flight on it failed
      // (their callbacks rejected them); a new channel takes the next ones.
      if (this.#model === model && this.#connected) {
        model.createConfirmChannel().then((next) => {
          if (this.#model !== model || !this.#connected) return next.close().catch(() => {});
          this.#watchPub(next, model);
          this.#pub = next;
          this.#pump();
        }, () => {});
      }
    });
  }

  #onDrop(model: ChannelModel, err: unknown): void {
    if (this.#model !== model) return;
    this.#model = undefined;
    this.#ctl = undefined;
    this.#pub = undefined;
    this.#connected = false;
    this.#blocked = false;
    for (const c of this.#consumers.values()) if (c.on) c.on.open = false;
    // Written and not confirmed: RabbitMQ may or may not have them; sent again after the reconnect.
    this.#outbox.unsendAll();
    if (this.#closing) return;
    const error = amqpError(err ?? new Error('connection closed'), `link to ${this.url}`);
    if (!this.#options.reconnect) {
      this.#finish(error);
      return;
    }
    void this.#reconnect(error);
  }

  async #reconnect(first: CeleriacError): Promise<void> {
    let error = first;
    for (let attempt = 1; !this.#closing; attempt++) {
      const delay = backoffDelay(attempt - 1, this.#options.reconnectBackoff);
      this.#events.emit('reconnecting', { attempt, delay, error });
      await new Promise<void>((wake) => {
        this.#retryTimer = { timer: setTimeout(wake, delay), wake };
      });
      this.#retryTimer = undefined;
      if (this.#closing) return;
      try {
        await this.#establish();
        this.#events.emit('reconnected');
        return;
      } catch (err) {
        error = amqpError(err, `reconnecting to ${this.#urls.length === 1 ? this.url : `any of ${this.#urls.length} nodes`}`);
      }
    }
  }

  /** Resolves when the link is up; rejects once it is closed for good. */
  #up(): Promise<void> {
    if (this.#closed || this.#closing) return Promise.reject(fail('ERR_CONNECTION_CLOSED', 'the AMQP transport is closed'));
    if (this.#connected) return Promise.resolve();
    return new Promise((resolve, reject) => this.#upWaiters.push({ resolve, reject }));
  }

  /** Runs `body` on the declaration channel when the link is up, one at a time, opening a new channel after a refusal closed the last. */
  #declare<T>(what: string, body: (ch: Channel) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      await this.#up();
      const model = this.#model;
      if (model === undefined) throw fail('ERR_CONNECTION_CLOSED', `${what}: the link dropped`);
      let ch = this.#ctl;
      if (ch === undefined) {
        ch = await model.createChannel();
        this.#watchCtl(ch);
        this.#ctl = ch;
      }
      try {
        return await body(ch);
      } catch (err) {
        throw amqpError(err, what);
      }
    };
    const result = this.#ctlQueue.then(run, run);
    this.#ctlQueue = result.catch(() => {});
    return result;
  }

  // ---- declarations ----

  async assertExchange(name: string, type: ExchangeType, options: ExchangeOptions = {}): Promise<{ exchange: string }> {
    const opts = { durable: options.durable ?? true, autoDelete: options.autoDelete ?? false, internal: options.internal ?? false, arguments: options.arguments ?? {} };
    await this.#declare(`declaring exchange '${name}'`, (ch) => ch.assertExchange(name, type, opts));
    this.#topology.exchange(name, type, opts);
    return { exchange: name };
  }

  async assertQueue(name: string, options: QueueOptions = {}): Promise<QueueInfo> {
    const reply = await this.#declare(`declaring queue '${name}'`, (ch) => (options.passive === true ? ch.checkQueue(name) : ch.assertQueue(name, queueArguments(options))));
    // A server-named queue lives and dies with its connection: nothing to declare again by name.
    if (name !== '' && options.passive !== true) this.#topology.queue(name, options);
    return { queue: reply.queue, messageCount: reply.messageCount, consumerCount: reply.consumerCount };
  }

  async bindQueue(queue: string, exchange: string, pattern: string, args?: Record<string, unknown>): Promise<void> {
    await this.#declare(`binding queue '${queue}' to '${exchange}'`, (ch) => ch.bindQueue(queue, exchange, pattern, args));
    if (!queue.startsWith('amq.gen-')) this.#topology.bindQueue(queue, exchange, pattern, args);
  }

  async deleteQueue(name: string, options: DeleteQueueOptions = {}): Promise<{ messageCount: number }> {
    const reply = await this.#declare(`deleting queue '${name}'`, (ch) => ch.deleteQueue(name, options));
    this.#topology.dropQueue(name);
    // Its binding to the delay route went with it: a queue of that name declared again needs a new one.
    this.#delayRoutes.delete(`q:${name}`);
    return { messageCount: reply.messageCount };
  }

  // ---- publishing ----

  async publish(exchange: string, routingKey: string, body: Uint8Array | string, options: TransportPublishOptions = {}): Promise<void> {
    const content = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    if (this.#closing || this.#closed) throw fail('ERR_CONNECTION_CLOSED', 'the AMQP transport is closed');
    const { delay, mandatory: m, ...props } = options;
    const mandatory = m === true;
    if (delay !== undefined && delay > 0) {
      // RabbitMQ drops a dead-lettered message's expiration: it cannot both wait and then expire.
      if (props.expiration !== undefined) throw fail('ERR_INVALID_ARGUMENT', 'an AMQP message cannot have both a delay and an expiration (RabbitMQ holds delayed messages by expiring them)');
      const level = delayLevel(delay);
      await this.#ensureDelayRoute(level, exchange, routingKey);
      const delayed = publishProperties({ ...props, expiration: Math.ceil(delay), headers: { ...props.headers, ...delayHeaders(exchange, routingKey) } }, false);
      return this.#send({ exchange: delayQueueName(level), routingKey, content, options: delayed, mandatory: false });
    }
    return this.#send({ exchange, routingKey, content, options: publishProperties(props, mandatory), mandatory });
  }

  /** Declares (once) the level's exchange and queue, the route exchange, and the way back to the target. */
  async #ensureDelayRoute(level: number, exchange: string, routingKey: string): Promise<void> {
    const name = delayQueueName(level);
    if (!this.#topology.has('e', DELAY_ROUTE_EXCHANGE)) await this.assertExchange(DELAY_ROUTE_EXCHANGE, 'headers', { durable: true });
    if (!this.#topology.has('q', name)) {
      await this.assertExchange(name, 'fanout', { durable: true });
      await this.assertQueue(name, delayQueueOptions());
      await this.bindQueue(name, name, '');
    }
    const args = delayRouteArgs(exchange, routingKey);
    const route = exchange === '' ? `q:${routingKey}` : `e:${exchange}`;
    if (this.#delayRoutes.has(route)) return;
    if (exchange === '') {
      await this.bindQueue(routingKey, DELAY_ROUTE_EXCHANGE, '', args);
    } else {
      await this.#declare(`binding exchange '${exchange}' to '${DELAY_ROUTE_EXCHANGE}'`, (ch) => ch.bindExchange(exchange, DELAY_ROUTE_EXCHANGE, '', args));
      this.#topology.bindExchange(exchange, DELAY_ROUTE_EXCHANGE, '', args);
    }
    this.#delayRoutes.add(route);
  }

  #send(p: Omit<OutgoingPublish, 'resolve' | 'reject' | 'sent' | 'returned'>): Promise<void> {
    const done = this.#outbox.add(p);
    this.#pump();
    return done;
  }

  /** Writes what waits in the outbox while the link is up and not blocked. */
  #pump(): void {
    const pub = this.#pub;
    if (pub === undefined || !this.#connected || this.#blocked) return;
    for (const entry of this.#outbox.unsent()) {
      entry.sent = true;
      const model = this.#model;
      pub.publish(entry.exchange, entry.routingKey, entry.content, entry.options, (err: unknown) => {
        if (!err) {
          if (entry.sent) this.#outbox.settle(entry, undefined);
          return;
        }
        // amqplib fails the pending confirms of a connection that dropped before it reports the
        // drop: decide a tick later, when #onDrop has put the entry back for the next connection.
        setImmediate(() => {
          if (!entry.sent || this.#model !== model || model === undefined) return;
          this.#outbox.settle(entry, publishError(this.#channelErrors.get(pub) ?? err, entry.exchange, entry.routingKey));
        });
      });
    }
  }

  // ---- consuming ----

  async consume(queue: string, handler: (msg: Delivery) => unknown, options: ConsumeOptions = {}): Promise<{ consumerTag: string }> {
    const tag = options.consumerTag ?? `celeriac.${process.pid}.${++this.#tagSeq}`;
    if (this.#consumers.has(tag)) throw fail('ERR_PRECONDITION_FAILED', `consumer tag '${tag}' is in use`);
    const record: ConsumerRecord = { queue, handler, options, tag, on: undefined };
    await this.#up();
    const model = this.#model;
    if (model === undefined) throw fail('ERR_CONNECTION_CLOSED', `consuming '${queue}': the link dropped`);
    this.#consumers.set(tag, record);
    try {
      await this.#subscribe(record, model);
    } catch (err) {
      this.#consumers.delete(tag);
      throw amqpError(err, `consuming '${queue}'`);
    }
    return { consumerTag: tag };
  }

  /** Opens the consumer's channel, sets its prefetch (basic.qos, per consumer) and subscribes. */
  async #subscribe(c: ConsumerRecord, model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    const on = new ConsumerChannel(channel);
    this.#consumerChannels.add(on);
    // amqplib emits 'error' before 'close' only when the channel itself was closed with an error
    // (by RabbitMQ, e.g. a delivery unacked past its consumer_timeout); a connection that drops
    // closes its channels without one, and #onDrop handles that.
    let closedBy: unknown;
    channel.on('error', (err: unknown) => {
      closedBy = err;
    });
    channel.on('close', () => {
      on.open = false;
      this.#consumerChannels.delete(on);
      if (closedBy !== undefined) this.#lost(c, on, `RabbitMQ closed the channel of the consumer of '${c.queue}': ${amqpError(closedBy, 'consuming').message}`);
    });
    try {
      if (c.options.prefetch !== undefined && c.options.prefetch > 0) await channel.prefetch(c.options.prefetch, false);
      const noAck = c.options.noAck === true;
      const opts: Options.Consume = { consumerTag: c.tag, noAck, exclusive: c.options.exclusive ?? false };
      await channel.consume(c.queue, (raw) => {
        if (raw === null) {
          // basic.cancel from RabbitMQ (its queue was deleted, ...). The channel was this consumer's
          // alone: close it, or it stays open, holding its unacked deliveries, for the connection's life.
          on.open = false;
          channel.close().catch(() => {});
          // A deleted queue took its binding to the delay route along: declared again (by the
          // worker, by anyone), it needs that binding again before a countdown can reach it.
          this.#delayRoutes.delete(`q:${c.queue}`);
          this.#lost(c, on, `RabbitMQ cancelled the consumer of '${c.queue}' (the queue was deleted, or can no longer be served)`);
          return;
        }
        this.#deliver(c, new AmqpDelivery(raw, on, noAck));
      }, opts);
    } catch (err) {
      await channel.close().catch(() => {});
      throw err;
    }
    c.on = on;
  }

  /** The consumer on `on` ended without cancel(): forgotten, and the task layer told ('cancel'), once. */
  #lost(c: ConsumerRecord, on: ConsumerChannel, reason: string): void {
    if (c.on !== on || this.#consumers.get(c.tag) !== c) return;
    this.#consumers.delete(c.tag);
    this.#events.emit('cancel', c.tag, reason);
  }

  #deliver(c: ConsumerRecord, msg: AmqpDelivery): void {
    const report = (err: unknown): void => {
      if (this.#events.listenerCount('handlerError') > 0) this.#events.emit('handlerError', err, msg);
    };
    try {
      const r = c.handler(msg);
      if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then(undefined, report);
    } catch (err) {
      report(err);
    }
  }

  async cancel(consumerTag: string): Promise<void> {
    const c = this.#consumers.get(consumerTag);
    if (c === undefined) throw fail('ERR_NOT_FOUND', `no consumer '${consumerTag}'`);
    this.#consumers.delete(consumerTag);
    const on = c.on;
    if (on === undefined || !on.open) return;
    try {
      await on.channel.cancel(consumerTag);
    } catch (err) {
      throw amqpError(err, `cancelling consumer '${consumerTag}'`);
    }
    // Deliveries already handed out stay settleable on this channel; it closes once they are settled.
    const closeChannel = (): void => {
      on.channel.close().catch(() => {});
    };
    if (on.unsettled === 0) closeChannel();
    else on.onDrained = closeChannel;
  }

  eventLog(): EventLog | undefined {
    return undefined;
  }

  // ---- closing ----

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer.timer);
      this.#retryTimer.wake();
    }
    await this.#outbox.drained(this.#connected ? this.#options.requestTimeout : 0);
    this.#outbox.failAll(fail('ERR_CONNECTION_CLOSED', 'the AMQP transport closed before this publish was confirmed'));
    const model = this.#model;
    this.#model = undefined;
    this.#connected = false;
    // Settling from now on sends nothing: the broker requeues what is still unsettled.
    const channels = [...this.#consumerChannels];
    for (const on of channels) on.open = false;
    // amqplib writes each channel's frames into a buffer of its own and merges them round-robin, so
    // a connection.close can overtake the acks just sent on a consumer channel, and RabbitMQ then
    // requeues what was acked (a task run twice). A channel's close-ok comes after RabbitMQ handled
    // everything sent before it on that channel: close the consumer channels first (bounded).
    if (model !== undefined) {
      const timeout = this.#options.requestTimeout;
      await bounded(Promise.all(channels.map((on) => on.channel.close().catch(() => {}))), timeout);
      // RabbitMQ does not read a connection it blocks (flow control), nor answer its close: past
      // the bound the socket is destroyed, which RabbitMQ takes as the client gone. With an error,
      // so that amqplib ends the connection too (its heartbeat timer would keep the process alive).
      if (!(await bounded(model.close().catch(() => {}), timeout))) socketOf(model)?.destroy(new Error('RabbitMQ did not answer the close'));
    }
    this.#finish(undefined);
  }

  #finish(err: CeleriacError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing = true;
    const reason = err ?? fail('ERR_CONNECTION_CLOSED', 'the AMQP transport is closed');
    for (const w of this.#upWaiters.splice(0)) w.reject(reason);
    this.#outbox.failAll(reason);
    this.#events.emit('close', err);
  }

  // ---- events ----

  on<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this {
    (this.#events as EventEmitter).on(event, listener as (...a: unknown[]) => void);
    return this;
  }

  once<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this {
    (this.#events as EventEmitter).once(event, listener as (...a: unknown[]) => void);
    return this;
  }

  off<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this {
    (this.#events as EventEmitter).off(event, listener as (...a: unknown[]) => void);
    return this;
  }
}

/** Resolves true when `p` settles first, false after `ms`. */
async function bounded(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([p.then(() => true), new Promise<false>((resolve) => { timer = setTimeout(resolve, ms, false); })]);
  clearTimeout(timer);
  return settled;
}

/** The socket under amqplib's connection (amqplib keeps it as `connection.stream`). */
function socketOf(model: ChannelModel): { destroy(err: Error): void } | undefined {
  const stream = (model.connection as unknown as { stream?: { destroy?: unknown } }).stream;
  return stream !== undefined && typeof stream.destroy === 'function' ? (stream as { destroy(err: Error): void }) : undefined;
}
