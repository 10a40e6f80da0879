// The broker engine: virtual hosts, exchanges, queues, bindings and the connections that use them.
// It routes and delivers; it knows no sockets, HTTP or SQL (the store contract and a sink only).
import { randomBytes } from 'node:crypto';
import { fail } from '../../shared/errors.js';
import { CeleriacError } from '../../shared/errors.js';
import type { ConsumeOptions, DeleteExchangeOptions, DeleteQueueOptions, ExchangeOptions, ExchangeType, GetResult, MessageProperties, QueueInfo, QueueOptions, ResultRecord, ResultStoreOptions, TrackOptions } from '../../shared/frames.js';
import { ResultBackend, checkTrack } from './results.js';
import type { BrokerStore } from '../store/store.js';
import { Conn, type Unacked } from './connection.js';
import { Exchange } from './exchange.js';
import { MessageFlow, type CommitWriter } from './message-flow.js';
import type { QueuedMessage } from './message.js';
import { Queue, type Consumer } from './queue.js';
import { DEFAULT_CONSUMER_TIMEOUT, queueIdentity, validateConsumeOptions, validateExchangeType, validateName, validateQueueOptions } from './queue-options.js';
import { recoverTopology } from './recovery.js';
import { Sweeper } from './sweeper.js';
import type { ConnectionInfo, DeliverySink, EngineApi, EngineConnection, EngineOverview, FinishRequest, PublishDone } from './types.js';
import { VHost } from './vhost.js';
import { validateProperties } from './properties.js';

/** Consumers one connection may hold; each costs memory and a slot in round-robin scans. */
const MAX_CONSUMERS_PER_CONNECTION = 10_000;

export type LogFn = (level: 'info' | 'warn' | 'error', msg: string) => void;

export interface EngineOptions {
  store: BrokerStore;
  writer: CommitWriter;
  /** Virtual hosts that exist from the start (default ['/']). */
  vhosts?: string[];
  /** Block publishers when the process RSS exceeds this many bytes (0 = never). */
  memoryHighWatermark?: number;
  /** Block publishers when the store's files exceed this many bytes (0 = never). */
  storeHighWatermark?: number;
  /** Default consumer ack timeout for queues that do not set consumerTimeout. */
  defaultConsumerTimeout?: number;
  /** Ready messages a durable queue keeps in memory; beyond, its tail stays on disk. */
  pagingThreshold?: number;
  now?: () => number;
  log?: LogFn;
}

function asConn(c: EngineConnection): Conn {
  return c as Conn;
}

export class Engine implements EngineApi {
  readonly vhosts = new Map<string, VHost>();
  readonly conns = new Set<Conn>();
  readonly flow: MessageFlow;
  readonly results: ResultBackend;
  readonly now: () => number;
  readonly log: LogFn;
  readonly defaultConsumerTimeout: number;
  private readonly sweeper: Sweeper;
  blocked = false;

  constructor(readonly options: EngineOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
    this.defaultConsumerTimeout = options.defaultConsumerTimeout ?? DEFAULT_CONSUMER_TIMEOUT;
    for (const name of options.vhosts ?? ['/']) this.vhosts.set(name, new VHost(name));
    this.flow = new MessageFlow({
      store: options.store,
      writer: options.writer,
      now: this.now,
      vhost: (name) => this.vhosts.get(name),
      pagingThreshold: options.pagingThreshold ?? 20_000,
      log: this.log,
    });
    this.results = new ResultBackend(options.store, options.writer, this.now);
    recoverTopology(this, options.store);
    this.sweeper = new Sweeper(this);
  }

  vhostOf(conn: Conn): VHost {
    const v = this.vhosts.get(conn.info.vhost);
    if (v === undefined) throw fail('ERR_ACCESS_REFUSED', `virtual host '${conn.info.vhost}' does not exist`);
    return v;
  }

  /** The queue named, usable by this connection (exclusive queues belong to their owner). */
  private queueFor(conn: Conn, name: string): Queue<Conn> {
    const q = this.vhostOf(conn).queues.get(name);
    if (q === undefined) throw fail('ERR_NOT_FOUND', `no queue '${name}' in vhost '${conn.info.vhost}'`, { queue: name });
    if (q.owner !== null && q.owner !== conn) throw fail('ERR_RESOURCE_LOCKED', `queue '${name}' is exclusive to another connection`, { queue: name });
    return q;
  }

  private exchangeFor(conn: Conn, name: string): Exchange<Queue<Conn>> {
    const ex = this.vhostOf(conn).exchanges.get(name);
    if (ex === undefined) throw fail('ERR_NOT_FOUND', `no exchange '${name}' in vhost '${conn.info.vhost}'`, { exchange: name });
    return ex;
  }

  openConnection(info: ConnectionInfo, sink: DeliverySink): EngineConnection {
    const conn = new Conn(info, sink);
    this.vhostOf(conn);
    this.conns.add(conn);
    if (this.blocked) sink.flow(false, 'broker over its limits');
    return conn;
  }

  closeConnection(c: EngineConnection): void {
    const conn = asConn(c);
    if (conn.closed) return;
    conn.closed = true;
    this.conns.delete(conn);
    for (const cancel of conn.waits) cancel();
    conn.waits.clear();
    for (const consumer of [...conn.consumers.values()]) this.detachConsumer(consumer);
    this.requeueAll(conn, () => true);
    for (const q of conn.exclusiveQueues) if (!q.deleted) this.removeQueue(q, 'connection-closed');
  }

  /** Requeues the connection's unacked deliveries that `pick` selects (back in publish order). */
  requeueAll(conn: Conn, pick: (u: Unacked) => boolean): void {
    const touched = new Set<Queue<Conn>>();
    for (const [tag, u] of conn.unacked) {
      if (!pick(u)) continue;
      conn.unacked.delete(tag);
      this.flow.settleNegative(u, true);
      touched.add(u.queue);
    }
    for (const q of touched) this.flow.drain(q);
  }

  declareExchange(c: EngineConnection, name: string, type: ExchangeType, options: ExchangeOptions): void {
    const conn = asConn(c);
    const vhost = this.vhostOf(conn);
    validateName('exchange', name);
    const t = validateExchangeType(type);
    const existing = vhost.exchanges.get(name);
    if (name === '') throw fail('ERR_ACCESS_DENIED', 'the default exchange cannot be declared');
    const durable = options.durable === true;
    if (existing !== undefined) {
      if (existing.type !== t || existing.durable !== durable) {
        throw fail('ERR_PRECONDITION_FAILED', `exchange '${name}' exists as ${existing.type}${existing.durable ? ' durable' : ''}; declared as ${t}${durable ? ' durable' : ''}`, { exchange: name });
      }
      return;
    }
    if (name.startsWith('amq.')) throw fail('ERR_ACCESS_DENIED', `exchange names starting with 'amq.' are reserved`, { exchange: name });
    const ex = new Exchange<Queue<Conn>>(name, t, durable, options.autoDelete === true, options.internal === true, options.arguments ?? {});
    if (durable) {
      this.options.writer.flush();
      this.options.store.saveExchange({ vhost: vhost.name, name, type: t, autoDelete: ex.autoDelete, internal: ex.internal, arguments: ex.args });
    }
    vhost.exchanges.set(name, ex);
  }

  deleteExchange(c: EngineConnection, name: string, options: DeleteExchangeOptions): void {
    const conn = asConn(c);
    const vhost = this.vhostOf(conn);
    if (name === '' || name.startsWith('amq.')) throw fail('ERR_ACCESS_DENIED', `exchange '${name}' cannot be deleted`, { exchange: name });
    const ex = vhost.exchanges.get(name);
    if (ex === undefined) return; // deleting what is not there succeeds, as in RabbitMQ 3.x
    if (options.ifUnused === true && ex.bindings.length > 0) throw fail('ERR_PRECONDITION_FAILED', `exchange '${name}' has bindings`, { exchange: name });
    this.removeExchange(vhost, ex);
  }

  private removeExchange(vhost: VHost, ex: Exchange<Queue<Conn>>): void {
    vhost.exchanges.delete(ex.name);
    if (ex.durable) {
      this.options.writer.flush();
      for (const b of ex.bindings) if (b.queue.durable) this.options.store.deleteBinding({ vhost: vhost.name, exchange: ex.name, queue: b.queue.name, pattern: b.pattern, arguments: b.args });
      this.options.store.deleteExchange(vhost.name, ex.name);
    }
  }

  declareQueue(c: EngineConnection, rawName: string, raw: QueueOptions): QueueInfo {
    const conn = asConn(c);
    const vhost = this.vhostOf(conn);
    validateName('queue', rawName);
    const passive = raw.passive === true;
    const options = validateQueueOptions(raw as Record<string, unknown>);
    const name = rawName === '' && !passive ? `amq.gen-${randomBytes(16).toString('base64url')}` : rawName;
    const existing = vhost.queues.get(name);
    if (existing !== undefined) {
      if (existing.owner !== null && existing.owner !== conn) throw fail('ERR_RESOURCE_LOCKED', `queue '${name}' is exclusive to another connection`, { queue: name });
      if (!passive && queueIdentity(existing.options) !== queueIdentity(options)) {
        throw fail('ERR_PRECONDITION_FAILED', `queue '${name}' exists with other options (${queueIdentity(existing.options)}); declared with ${queueIdentity(options)}`, { queue: name });
      }
      existing.lastUsed = this.now();
      return { queue: name, messageCount: existing.readyCount + existing.diskBacklog, consumerCount: existing.consumers.length };
    }
    if (passive) throw fail('ERR_NOT_FOUND', `no queue '${name}' in vhost '${vhost.name}'`, { queue: name });
    if (name.startsWith('amq.') && rawName !== '') throw fail('ERR_ACCESS_DENIED', `queue names starting with 'amq.' are reserved`, { queue: name });
    const exclusive = options.exclusive === true;
    const q = new Queue<Conn>(0, vhost.name, name, options, exclusive ? conn : null, this.now());
    // Exclusive queues die with their connection, so they are never written to disk.
    if (q.durable && !exclusive) {
      this.options.writer.flush();
      q.id = this.options.store.saveQueue({ id: 0, vhost: vhost.name, name, autoDelete: options.autoDelete === true, options: options as Record<string, unknown> });
    }
    vhost.queues.set(name, q);
    if (exclusive) conn.exclusiveQueues.add(q);
    return { queue: name, messageCount: 0, consumerCount: 0 };
  }

  deleteQueue(c: EngineConnection, name: string, options: DeleteQueueOptions): { messageCount: number } {
    const conn = asConn(c);
    const q = this.vhostOf(conn).queues.get(name);
    if (q === undefined) return { messageCount: 0 };
    if (q.owner !== null && q.owner !== conn) throw fail('ERR_RESOURCE_LOCKED', `queue '${name}' is exclusive to another connection`, { queue: name });
    if (options.ifUnused === true && q.consumers.length > 0) throw fail('ERR_PRECONDITION_FAILED', `queue '${name}' has consumers`, { queue: name });
    if (options.ifEmpty === true && q.messageCount > 0) throw fail('ERR_PRECONDITION_FAILED', `queue '${name}' is not empty`, { queue: name });
    const messageCount = q.readyCount + q.diskBacklog;
    this.removeQueue(q, 'queue-deleted');
    return { messageCount };
  }

  /** Deletes a queue: consumers get a cancel notice, bindings go, its messages go. */
  removeQueue(q: Queue<Conn>, reason: string): void {
    const vhost = this.vhosts.get(q.vhost)!;
    q.deleted = true;
    vhost.queues.delete(q.name);
    for (const consumer of [...q.consumers]) {
      this.detachConsumer(consumer, false);
      consumer.conn.sink.consumerCancelled(consumer.tag, reason);
    }
    for (const ex of [...vhost.exchanges.values()]) {
      if (ex.unbindQueue(q) > 0 && ex.autoDelete && ex.bindings.length === 0) this.removeExchange(vhost, ex);
    }
    this.flow.dropDelayed(q);
    this.flow.ttlQueues.delete(q);
    q.clearReady();
    q.diskBacklog = 0;
    if (q.owner !== null) q.owner.exclusiveQueues.delete(q);
    if (q.id !== 0) {
      this.options.writer.flush();
      this.options.store.deleteQueue(q.id);
    }
  }

  purgeQueue(c: EngineConnection, name: string): { messageCount: number } {
    const q = this.queueFor(asConn(c), name);
    this.options.writer.flush(); // rows bound for the disk tail land first, so purge reads them
    let count = 0;
    for (const msg of q.clearReady()) {
      if (msg.persisted) this.options.writer.delete(msg.id);
      count++;
    }
    // The on-disk tail in one statement, sparing rows of delayed messages held in memory.
    if (q.diskBacklog > 0) count += this.options.store.deleteMessagesAfter(q.id, q.cursor, [...q.heldAboveCursor]);
    q.diskBacklog = 0;
    this.flow.ttlQueues.delete(q);
    return { messageCount: count };
  }

  bindQueue(c: EngineConnection, queue: string, exchange: string, pattern: string, args: Record<string, unknown>): void {
    const conn = asConn(c);
    if (exchange === '') throw fail('ERR_ACCESS_DENIED', 'queues cannot be bound to the default exchange');
    validateName('binding pattern', pattern);
    const q = this.queueFor(conn, queue);
    const ex = this.exchangeFor(conn, exchange);
    if (ex.bind(q, pattern, args) && ex.durable && q.durable && q.id !== 0) {
      this.options.writer.flush();
      this.options.store.saveBinding({ vhost: q.vhost, exchange, queue, pattern, arguments: args });
    }
  }

  unbindQueue(c: EngineConnection, queue: string, exchange: string, pattern: string, args: Record<string, unknown>): void {
    const conn = asConn(c);
    if (exchange === '') throw fail('ERR_ACCESS_DENIED', 'queues cannot be unbound from the default exchange');
    const q = this.queueFor(conn, queue);
    const vhost = this.vhostOf(conn);
    const ex = this.exchangeFor(conn, exchange);
    if (!ex.unbind(q, pattern, args)) return;
    if (ex.durable && q.durable && q.id !== 0) {
      this.options.writer.flush();
      this.options.store.deleteBinding({ vhost: q.vhost, exchange, queue, pattern, arguments: args });
    }
    if (ex.autoDelete && ex.bindings.length === 0) this.removeExchange(vhost, ex);
  }

  /** Checks a publish and finds its queues; throws (before anything changes) when it is refused. */
  private route(conn: Conn, exchange: string, routingKey: string, props: MessageProperties | undefined, track: TrackOptions | undefined): readonly Queue<Conn>[] {
    const vhost = this.vhostOf(conn);
    validateName('routing key', routingKey);
    if (props !== undefined) validateProperties(props);
    if (track !== undefined) checkTrack(track);
    // RabbitMQ also answers to 'amq.default' for the nameless default exchange.
    if (exchange === '' || exchange === 'amq.default') {
      const q = vhost.queues.get(routingKey);
      return q === undefined ? [] : [q];
    }
    const ex = this.exchangeFor(conn, exchange);
    if (ex.internal) throw fail('ERR_ACCESS_DENIED', `exchange '${exchange}' is internal`, { exchange });
    return ex.route(routingKey, props?.headers);
  }

  publish(c: EngineConnection, exchange: string, routingKey: string, body: Uint8Array, props: MessageProperties | undefined, mandatory: boolean, done: PublishDone, track?: TrackOptions): void {
    const conn = asConn(c);
    const vhost = this.vhostOf(conn);
    const targets = this.route(conn, exchange, routingKey, props, track);
    this.flow.stats.published++;
    if (targets.length === 0) {
      done(mandatory ? fail('ERR_NO_ROUTE', `no queue is bound to exchange '${exchange}' for routing key '${routingKey}'`, { exchange, routingKey }) : null);
      return;
    }
    // Registered before the message is enqueued: the PENDING row joins the message's commit.
    if (track !== undefined) this.results.track(vhost.name, track);
    const now = this.now();
    const delay = props?.delay ?? 0;
    const readyAt = delay > 0 ? now + delay : 0;
    const persistent = props?.persistent === true;
    const priority = props?.priority ?? 0;
    let remaining = targets.length;
    let failure: CeleriacError | null = null;
    const finish = (err: CeleriacError | null): void => {
      if (err !== null && failure === null) failure = err;
      if (--remaining === 0) done(failure);
    };
    for (const q of targets) {
      if (!this.flow.makeRoom(q)) {
        finish(fail('ERR_QUEUE_FULL', `queue '${q.name}' is full (maxLength ${q.options.maxLength}, overflow ${q.options.overflow ?? 'drop-head'})`, { queue: q.name }));
        continue;
      }
      const msg: QueuedMessage = {
        id: this.flow.newId(),
        exchange,
        routingKey,
        body,
        props,
        priority,
        expiresAt: this.flow.expiryFor(q, props, readyAt || now),
        readyAt,
        deliveryCount: 0,
        redelivered: false,
        persisted: persistent && q.id !== 0, // durable and stored (an exclusive queue never is)
      };
      this.flow.enqueue(q, msg, finish);
    }
  }

  consume(c: EngineConnection, queue: string, raw: ConsumeOptions): { consumerTag: string } {
    const conn = asConn(c);
    const options = validateConsumeOptions(raw as Record<string, unknown>);
    const q = this.queueFor(conn, queue);
    const tag = options.consumerTag !== undefined && options.consumerTag !== '' ? options.consumerTag : `ctag-${conn.info.id}-${++conn.consumerSeq}`;
    if (conn.consumers.has(tag)) throw fail('ERR_PRECONDITION_FAILED', `consumer tag '${tag}' is already in use on this connection`, { consumerTag: tag });
    if (conn.consumers.size >= MAX_CONSUMERS_PER_CONNECTION) {
      throw fail('ERR_PRECONDITION_FAILED', `a connection may have at most ${MAX_CONSUMERS_PER_CONNECTION} consumers`, { queue });
    }
    if (q.exclusiveConsumer || (options.exclusive === true && q.consumers.length > 0)) {
      throw fail('ERR_RESOURCE_LOCKED', `queue '${queue}' has an exclusive consumer, or other consumers`, { queue });
    }
    const consumer: Consumer<Conn> = { tag, conn, queue: q, prefetch: options.prefetch ?? 0, noAck: options.noAck === true, exclusive: options.exclusive === true, unacked: 0 };
    conn.consumers.set(tag, consumer);
    q.addConsumer(consumer);
    q.lastUsed = this.now();
    // Deliver after the caller has sent its reply, so the consume-ok reaches the client first.
    queueMicrotask(() => this.flow.drain(q));
    return { consumerTag: tag };
  }

  cancel(c: EngineConnection, consumerTag: string): void {
    const conn = asConn(c);
    const consumer = conn.consumers.get(consumerTag);
    if (consumer === undefined) throw fail('ERR_NOT_FOUND', `no consumer '${consumerTag}' on this connection`, { consumerTag });
    this.detachConsumer(consumer);
  }

  /** Removes a consumer; its unacked deliveries stay outstanding (they may still be acked). */
  detachConsumer(consumer: Consumer<Conn>, autoDelete = true): void {
    const q = consumer.queue;
    consumer.conn.consumers.delete(consumer.tag);
    q.removeConsumer(consumer);
    q.lastUsed = this.now();
    if (autoDelete && !q.deleted && q.options.autoDelete === true && q.hadConsumer && q.consumers.length === 0) this.removeQueue(q, 'auto-delete');
  }

  private settle(conn: Conn, tag: number, multiple: boolean, each: (u: Unacked) => void): void {
    const touched = new Set<Queue<Conn>>();
    if (multiple) {
      if (tag !== 0 && !conn.unacked.has(tag)) throw fail('ERR_UNKNOWN_DELIVERY_TAG', `unknown delivery tag ${tag}`, { deliveryTag: tag });
      for (const [t, u] of conn.unacked) {
        if (tag !== 0 && t > tag) break;
        conn.unacked.delete(t);
        each(u);
        touched.add(u.queue);
      }
    } else {
      const u = conn.unacked.get(tag);
      if (u === undefined) throw fail('ERR_UNKNOWN_DELIVERY_TAG', `unknown delivery tag ${tag} (never delivered on this connection, or already settled)`, { deliveryTag: tag });
      conn.unacked.delete(tag);
      each(u);
      touched.add(u.queue);
    }
    for (const q of touched) this.flow.drain(q);
  }

  ack(c: EngineConnection, tag: number, multiple: boolean): void {
    this.settle(asConn(c), tag, multiple, (u) => this.flow.ack(u));
  }

  nack(c: EngineConnection, tag: number, multiple: boolean, requeue: boolean): void {
    this.settle(asConn(c), tag, multiple, (u) => this.flow.settleNegative(u, requeue));
  }

  reject(c: EngineConnection, tag: number, requeue: boolean): void {
    this.settle(asConn(c), tag, false, (u) => this.flow.settleNegative(u, requeue));
  }

  get(c: EngineConnection, queue: string, noAck: boolean): GetResult | null {
    const conn = asConn(c);
    const q = this.queueFor(conn, queue);
    q.lastUsed = this.now();
    const got = this.flow.getOne(conn, q, noAck);
    if (got === null) return null;
    const { tag, msg } = got;
    const result: GetResult = {
      deliveryTag: tag, redelivered: msg.redelivered, deliveryCount: msg.deliveryCount,
      exchange: msg.exchange, routingKey: msg.routingKey, body: msg.body, messageCount: q.readyCount + q.diskBacklog,
    };
    if (msg.props !== undefined) result.props = msg.props;
    return result;
  }

  resume(c: EngineConnection): void {
    const conn = asConn(c);
    if (!conn.paused) return;
    conn.paused = false;
    for (const consumer of [...conn.consumers.values()]) this.flow.drain(consumer.queue);
  }

  storeResult(c: EngineConnection, taskId: string, state: string, body: Uint8Array | undefined, options: ResultStoreOptions, done: (err: CeleriacError | null) => void): void {
    const conn = asConn(c);
    this.results.put(conn.info.vhost, taskId, state, body, options, (err) => {
      done(err === null ? null : new CeleriacError('ERR_STORE_FAILED', `the result could not be stored: ${err.message}`, { cause: err }));
    });
  }

  getResult(c: EngineConnection, taskId: string): ResultRecord | null {
    return this.results.get(asConn(c).info.vhost, taskId);
  }

  waitResult(c: EngineConnection, taskId: string, timeout: number, reply: (rec: ResultRecord | null) => void): void {
    const conn = asConn(c);
    let cancel: (() => void) | null = null;
    let answered = false;
    cancel = this.results.wait(conn.info.vhost, taskId, timeout, (rec) => {
      answered = true;
      if (cancel !== null) conn.waits.delete(cancel);
      reply(rec);
    });
    if (!answered) conn.waits.add(cancel);
  }

  forgetResult(c: EngineConnection, taskId: string): void {
    this.results.forget(asConn(c).info.vhost, taskId);
  }

  /**
   * A worker's end of a task in one transaction: the result, the follow-up publishes and the ack
   * of the task's delivery commit together, so a task can never be acked with its result or next
   * step lost. Everything is checked first: a refused finish changes nothing.
   */
  finish(c: EngineConnection, req: FinishRequest, done: (err: CeleriacError | null) => void): void {
    const conn = asConn(c);
    const publishes = req.publishes ?? [];
    if (req.ack !== undefined && req.ack !== 0 && !conn.unacked.has(req.ack)) {
      throw fail('ERR_UNKNOWN_DELIVERY_TAG', `unknown delivery tag ${req.ack} (never delivered on this connection, or already settled)`, { deliveryTag: req.ack });
    }
    for (const p of publishes) this.route(conn, p.exchange, p.routingKey, p.props, p.track);
    if (req.result !== undefined) this.results.check(req.result.taskId, req.result.state, req.result.options ?? {});
    let remaining = 1 + (req.result === undefined ? 0 : 1) + publishes.length;
    let failure: CeleriacError | null = null;
    const part = (err: CeleriacError | null): void => {
      if (err !== null && failure === null) failure = err;
      if (--remaining === 0) done(failure);
    };
    this.options.writer.atomically(() => {
      const r = req.result;
      if (r !== undefined) this.storeResult(conn, r.taskId, r.state, r.body, r.options ?? {}, part);
      for (const p of publishes) this.publish(conn, p.exchange, p.routingKey, p.body, p.props, false, part, p.track);
      if (req.ack !== undefined && req.ack !== 0) this.ack(conn, req.ack, false);
    });
    part(null);
  }

  /** Changes the flow state and tells every connection. */
  setBlocked(blocked: boolean, reason: string): void {
    if (blocked === this.blocked) return;
    this.blocked = blocked;
    this.log(blocked ? 'warn' : 'info', blocked ? `publishers blocked: ${reason}` : 'publishers unblocked');
    for (const conn of this.conns) conn.sink.flow(!blocked, reason);
  }

  overview(): EngineOverview {
    const queues = [];
    const exchanges = [];
    let messages = 0;
    for (const vhost of this.vhosts.values()) {
      for (const q of vhost.queues.values()) {
        messages += q.messageCount;
        queues.push({
          vhost: vhost.name, name: q.name, durable: q.durable, exclusive: q.owner !== null, autoDelete: q.options.autoDelete === true,
          messages: q.messageCount, ready: q.readyCount + q.diskBacklog, unacked: q.unacked, delayed: q.delayed, consumers: q.consumers.length,
          options: q.options,
        });
      }
      for (const ex of vhost.exchanges.values()) exchanges.push({ vhost: vhost.name, name: ex.name, type: ex.type, durable: ex.durable, bindings: ex.bindings.length });
    }
    return {
      queues, exchanges,
      connections: [...this.conns].map((c) => c.info),
      totals: { ...this.flow.stats, messages },
      blocked: this.blocked,
    };
  }

  async close(): Promise<void> {
    this.sweeper.stop();
    this.flow.stop();
    this.results.close();
    this.options.writer.close();
  }
}
