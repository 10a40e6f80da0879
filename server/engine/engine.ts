// The broker engine: virtual hosts, exchanges, queues, bindings and the connections that use them.
// It routes and delivers; it knows no sockets, HTTP or SQL (the store contract and a sink only).
import { CeleriacError, fail } from '../../shared/errors.js';
import { EVENTS_EXCHANGE } from '../../shared/events.js';
import type {
  ConsumeOptions, DeleteExchangeOptions, DeleteQueueOptions, EventPage, ExchangeOptions, ExchangeType, FinishPublish, GetResult, GroupDeclareOptions, GroupRecord,
  MessageProperties, QueueInfo, QueueOptions, ResultRecord, ResultStoreOptions, RevokeOptions, TrackOptions, RateOverride, RateSlot,
} from '../../shared/frames.js';
import { ResultBackend, checkTrack } from './results.js';
import type { BrokerStore } from '../store/store.js';
import { BeatState } from './beat-state.js';
import { Conn, asConn, type Unacked } from './connection.js';
import { EventLog } from './event-log.js';
import { DEFAULT_EVENT_RETENTION, type EventRetention, type EventsQuery, type TaskDetail, type TasksApi, type WorkersApi } from './events-api.js';
import { Exchange } from './exchange.js';
import { lockedQueue } from './equivalence.js';
import { FlowControl } from './flow-control.js';
import { TaskStats, outcomeOfState } from './task-stats.js';
import { MessageFlow, type CommitWriter } from './message-flow.js';
import type { QueuedMessage } from './message.js';
import { Queue, type Consumer } from './queue.js';
import { DEFAULT_CONSUMER_TIMEOUT, validateConsumeOptions, validateName } from './queue-options.js';
import { recoverTopology } from './recovery.js';
import { Sweeper } from './sweeper.js';
import { Groups } from './groups.js';
import { RateLimiter } from './rate-limiter.js';
import { Revocations } from './revocations.js';
import { TopologyOps } from './topology.js';
import { listBindings, listConsumers } from './listings.js';
import type {
  BindingOverview, ConnectionInfo, ConsumerOverview, DeliverySink, EngineApi, EngineConnection, EngineMetrics, EngineOverview, FinishRequest, PublishDone,
} from './types.js';
import { VHost } from './vhost.js';
import { validateProperties } from './properties.js';

/** Ready (and delayed) messages a durable queue keeps in memory by default before paging to disk. */
export const DEFAULT_PAGING_THRESHOLD = 20_000;

/** Consumers one connection may hold; each costs memory and a slot in round-robin scans. */
const MAX_CONSUMERS_PER_CONNECTION = 10_000;

export type LogFn = (level: 'info' | 'warn' | 'error', msg: string) => void;

export interface EngineOptions {
  store: BrokerStore;
  writer: CommitWriter;
  /** Virtual hosts that exist from the start (default ['/']). */
  vhosts?: string[];
  /**
   * Block publishers when the bytes the broker holds (messages in memory, send buffers) exceed
   * this (0 = never); they are unblocked at or under `memoryLowWatermark`.
   */
  memoryHighWatermark?: number;
  /** Default DEFAULT_LOW_WATERMARK_RATIO × memoryHighWatermark. */
  memoryLowWatermark?: number;
  /** Block publishers when the store's files exceed this many bytes (0 = never). */
  storeHighWatermark?: number;
  /** Default consumer ack timeout for queues that do not set consumerTimeout. */
  defaultConsumerTimeout?: number;
  /**
   * Ready messages a durable queue keeps in memory, beyond which a lane's tail stays on disk; also
   * the persisted delayed messages a queue keeps in memory, beyond which later-due ones stay on disk.
   */
  pagingThreshold?: number;
  /** How much event history to keep (default DEFAULT_EVENT_RETENTION; a bound of 0 stores none). */
  events?: EventRetention;
  now?: () => number;
  log?: LogFn;
}

function queueFull(q: Queue<Conn>): CeleriacError {
  return fail('ERR_QUEUE_FULL', `queue '${q.name}' is full (maxLength ${q.options.maxLength}, overflow ${q.options.overflow ?? 'drop-head'})`, { queue: q.name });
}

/**
 * Throws ERR_QUEUE_FULL when a reject-publish queue among `routes` has no room for all that a
 * finish puts in it: checked before the finish commits, since its ack must not go through
 * without its publishes (other overflow modes always make room).
 */
function refuseIfFull(routes: ReadonlyArray<readonly Queue<Conn>[]>): void {
  const incoming = new Map<Queue<Conn>, number>();
  for (const targets of routes) for (const q of targets) incoming.set(q, (incoming.get(q) ?? 0) + 1);
  for (const [q, n] of incoming) {
    const max = q.options.maxLength;
    if (q.options.overflow === 'reject-publish' && max !== undefined && q.depth + n > max) throw queueFull(q);
  }
}

/** The refusal of an ack/nack/reject/finish naming a tag this connection does not hold. */
function unknownTag(tag: number): CeleriacError {
  return fail('ERR_UNKNOWN_DELIVERY_TAG', `unknown delivery tag ${tag} (never delivered on this connection, or already settled)`, { deliveryTag: tag });
}

/** A callback for `n` parts: calls `done` once all reported, with the first error any had. */
function joinParts(n: number, done: (err: CeleriacError | null) => void): (err: CeleriacError | null) => void {
  let remaining = n;
  let failure: CeleriacError | null = null;
  return (err) => {
    if (err !== null && failure === null) failure = err;
    if (--remaining === 0) done(failure);
  };
}

export class Engine implements EngineApi {
  readonly vhosts = new Map<string, VHost>();
  readonly conns = new Set<Conn>();
  readonly flow: MessageFlow;
  readonly results: ResultBackend;
  readonly revocations = new Revocations(this);
  readonly groups = new Groups(this);
  readonly rates: RateLimiter;
  readonly beat: BeatState;
  readonly eventLog: EventLog;
  readonly tasks: TasksApi;
  readonly workers: WorkersApi;
  readonly now: () => number;
  readonly log: LogFn;
  readonly defaultConsumerTimeout: number;
  private readonly sweeper: Sweeper;
  private readonly topology = new TopologyOps(this);
  readonly flowControl: FlowControl;
  /** Task outcomes and run times, per vhost and task name (/metrics). */
  readonly taskStats: TaskStats;
  readonly metrics: EngineMetrics;
  blocked = false;

  constructor(readonly options: EngineOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
    this.defaultConsumerTimeout = options.defaultConsumerTimeout ?? DEFAULT_CONSUMER_TIMEOUT;
    for (const name of options.vhosts ?? ['/']) this.vhosts.set(name, new VHost(name));
    this.flowControl = new FlowControl({
      memoryHighWatermark: options.memoryHighWatermark ?? 0,
      ...(options.memoryLowWatermark === undefined ? {} : { memoryLowWatermark: options.memoryLowWatermark }),
      storeHighWatermark: options.storeHighWatermark ?? 0,
      storeBytes: () => options.store.sizeBytes(),
      bufferedBytes: () => {
        let n = 0;
        for (const c of this.conns) n += c.sink.bufferedBytes?.() ?? 0;
        return n;
      },
      setBlocked: (blocked, reason) => this.setBlocked(blocked, reason),
      now: this.now,
    });
    const taskStats = (this.taskStats = new TaskStats());
    this.flow = new MessageFlow({
      store: options.store,
      writer: options.writer,
      now: this.now,
      vhost: (name) => this.vhosts.get(name),
      pagingThreshold: options.pagingThreshold ?? DEFAULT_PAGING_THRESHOLD,
      gauge: this.flowControl.gauge,
      log: this.log,
      revoked: this.revocations,
      droppedRevoked: (vhost, msg) => {
        const task = msg.props?.headers?.task;
        // Only task messages (Celery protocol v2 names the task in its headers) are task outcomes.
        if (typeof task === 'string') taskStats.record(vhost, task, 'revoked');
      },
    });
    this.results = new ResultBackend(options.store, options.writer, this.now);
    this.results.finalHook = this.groups;
    this.rates = new RateLimiter(this.now);
    recoverTopology(this, options.store);
    this.revocations.recover();
    this.groups.recover();
    this.beat = new BeatState({
      writer: options.writer,
      now: this.now,
      log: this.log,
      notify: (conn, names) => asConn(conn).sink.scheduleChanged?.(names),
      preparePublishes: (vhost, publishes) => this.preparePublishes(vhost, publishes),
    });
    this.beat.recover(options.store.loadBeat());
    this.eventLog = new EventLog({
      store: options.store, writer: options.writer, now: this.now, log: this.log, retention: options.events ?? DEFAULT_EVENT_RETENTION,
      vhostNames: () => this.vhosts.keys(),
    });
    const eventLog = this.eventLog;
    this.tasks = {
      query: (q) => eventLog.tasks.query(q),
      get: (taskId: string, vhost?: string): TaskDetail | null => eventLog.taskDetail(taskId, vhost),
    };
    this.workers = { list: (vhost) => eventLog.workers.list(vhost) };
    const flowControl = this.flowControl;
    this.metrics = {
      taskSeries: () => taskStats.series(),
      events: eventLog.stats,
      blockedSeconds: () => flowControl.blockedSeconds(),
    };
    this.sweeper = new Sweeper(this);
  }

  vhostOf(conn: Conn): VHost {
    const v = this.vhosts.get(conn.info.vhost);
    if (v === undefined) throw fail('ERR_ACCESS_REFUSED', `virtual host '${conn.info.vhost}' does not exist`);
    return v;
  }

  /** The queue named, usable by this connection (exclusive queues belong to their owner). */
  queueFor(conn: Conn, name: string): Queue<Conn> {
    const q = this.vhostOf(conn).queues.get(name);
    if (q === undefined) throw fail('ERR_NOT_FOUND', `no queue '${name}' in vhost '${conn.info.vhost}'`, { queue: name });
    if (q.owner !== null && q.owner !== conn.owner) throw lockedQueue(name, q.vhost);
    return q;
  }

  exchangeFor(conn: Conn, name: string): Exchange<Queue<Conn>> {
    const ex = this.vhostOf(conn).exchanges.get(name);
    if (ex === undefined) throw fail('ERR_NOT_FOUND', `no exchange '${name}' in vhost '${conn.info.vhost}'`, { exchange: name });
    return ex;
  }

  openConnection(info: ConnectionInfo, sink: DeliverySink): EngineConnection {
    const conn = new Conn(info, sink);
    this.vhostOf(conn);
    this.conns.add(conn);
    // After the caller's welcome: a flow frame must never be a connection's first frame.
    if (this.blocked) queueMicrotask(() => { if (this.blocked && !conn.closed) sink.flow?.(false, 'broker over its limits'); });
    return conn;
  }

  openChannel(c: EngineConnection, sink: DeliverySink): EngineConnection {
    const parent = asConn(c);
    if (parent.closed || parent.parent !== null) throw new Error('openChannel: the parent must be an open connection, not a channel');
    const channel = new Conn(parent.info, sink, parent);
    parent.channels.add(channel);
    this.conns.add(channel);
    return channel;
  }

  closeConnection(c: EngineConnection): void {
    const conn = asConn(c);
    if (conn.closed) return;
    conn.closed = true;
    this.conns.delete(conn);
    for (const channel of [...conn.channels]) this.closeConnection(channel);
    conn.parent?.channels.delete(conn);
    for (const cancel of conn.waits) cancel();
    conn.waits.clear();
    this.beat.forget(conn);
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
    this.drainSettled(conn, touched);
  }

  /**
   * Delivers again after settlements: the queues of the settled deliveries, and, when the Conn has
   * a prefetch of its own, every queue it consumes from (a slot freed by one queue's ack may be
   * the one another queue's consumer on the same channel waits for).
   */
  private drainSettled(conn: Conn, touched: Set<Queue<Conn>>): void {
    if (conn.prefetch !== 0) for (const consumer of conn.consumers.values()) touched.add(consumer.queue);
    for (const q of touched) this.flow.drain(q);
  }

  setPrefetch(c: EngineConnection, count: number): void {
    const conn = asConn(c);
    if (!Number.isInteger(count) || count < 0 || count > 65535) throw fail('ERR_INVALID_ARGUMENT', `prefetch must be an integer from 0 to 65535, got ${count}`, { option: 'prefetch' });
    conn.prefetch = count;
    // A higher limit (or none) may let every queue the channel consumes from deliver again.
    for (const consumer of conn.consumers.values()) this.flow.drain(consumer.queue);
  }

  recover(c: EngineConnection): void {
    this.requeueAll(asConn(c), () => true);
  }

  checkExchange(c: EngineConnection, name: string): void {
    if (name !== '' && name !== 'amq.default') this.exchangeFor(asConn(c), name);
  }

  declareExchange(c: EngineConnection, name: string, type: ExchangeType, options: ExchangeOptions): void {
    this.topology.declareExchange(c, name, type, options);
  }

  deleteExchange(c: EngineConnection, name: string, options: DeleteExchangeOptions): void {
    this.topology.deleteExchange(c, name, options);
  }

  declareQueue(c: EngineConnection, name: string, options: QueueOptions): QueueInfo {
    return this.topology.declareQueue(c, name, options);
  }

  deleteQueue(c: EngineConnection, name: string, options: DeleteQueueOptions): { messageCount: number } {
    return this.topology.deleteQueue(c, name, options);
  }

  /** Deletes a queue: consumers get a cancel notice, bindings go, its messages go. */
  removeQueue(q: Queue<Conn>, reason: string): void {
    this.topology.removeQueue(q, reason);
  }

  purgeQueue(c: EngineConnection, name: string): { messageCount: number } {
    return this.topology.purgeQueue(c, name);
  }

  bindQueue(c: EngineConnection, queue: string, exchange: string, pattern: string, args: Record<string, unknown>): void {
    this.topology.bindQueue(c, queue, exchange, pattern, args);
  }

  unbindQueue(c: EngineConnection, queue: string, exchange: string, pattern: string, args: Record<string, unknown>): void {
    this.topology.unbindQueue(c, queue, exchange, pattern, args);
  }

  bindExchange(c: EngineConnection, destination: string, source: string, pattern: string, args: Record<string, unknown>): void {
    this.topology.bindExchange(c, destination, source, pattern, args);
  }

  unbindExchange(c: EngineConnection, destination: string, source: string, pattern: string, args: Record<string, unknown>): void {
    this.topology.unbindExchange(c, destination, source, pattern, args);
  }

  /** Checks a publish and finds its queues; throws (before anything changes) when it is refused. */
  routeIn(vhost: VHost, exchange: string, routingKey: string, props: MessageProperties | undefined, track: TrackOptions | undefined): readonly Queue<Conn>[] {
    validateName('routing key', routingKey);
    if (props !== undefined) validateProperties(props);
    if (track !== undefined) checkTrack(track);
    // RabbitMQ also answers to 'amq.default' for the nameless default exchange.
    if (exchange === '' || exchange === 'amq.default') {
      const q = vhost.queues.get(routingKey);
      return q === undefined ? [] : [q];
    }
    const ex = vhost.exchanges.get(exchange);
    if (ex === undefined) throw fail('ERR_NOT_FOUND', `no exchange '${exchange}' in vhost '${vhost.name}'`, { exchange });
    if (ex.internal) throw fail('ERR_ACCESS_DENIED', `exchange '${exchange}' is internal`, { exchange });
    return ex.route(routingKey, props?.headers);
  }

  publish(c: EngineConnection, exchange: string, routingKey: string, body: Uint8Array, props: MessageProperties | undefined, mandatory: boolean, done: PublishDone, track?: TrackOptions): void {
    const conn = asConn(c);
    this.enqueueRouted(conn.info.vhost, this.routeIn(this.vhostOf(conn), exchange, routingKey, props, track), exchange, routingKey, body, props, mandatory, done, track);
  }

  /** Enqueues a checked publish into the queues `routeIn` found (vhost by name). */
  enqueueRouted(vhost: string, targets: readonly Queue<Conn>[], exchange: string, routingKey: string, body: Uint8Array, props: MessageProperties | undefined, mandatory: boolean, done: PublishDone, track: TrackOptions | undefined): void {
    this.flow.stats.published++;
    // Stored whether or not anyone listens; the live copies carry the id it was stored under.
    if (exchange === EVENTS_EXCHANGE) props = this.eventLog.capture(vhost, routingKey, body, props, targets.length > 0);
    if (targets.length === 0) {
      done(mandatory ? fail('ERR_NO_ROUTE', `no queue is bound to exchange '${exchange}' for routing key '${routingKey}'`, { exchange, routingKey }) : null);
      return;
    }
    // Registered before the message is enqueued: the PENDING row joins the message's commit.
    if (track !== undefined) this.results.track(vhost, track);
    const now = this.now();
    const delay = props?.delay ?? 0;
    const readyAt = delay > 0 ? now + delay : 0;
    const persistent = props?.persistent === true;
    const priority = props?.priority ?? 0;
    const finish = joinParts(targets.length, done);
    for (const q of targets) {
      if (!this.flow.makeRoom(q)) {
        finish(queueFull(q));
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
      if (u === undefined) throw unknownTag(tag);
      conn.unacked.delete(tag);
      each(u);
      touched.add(u.queue);
    }
    this.drainSettled(conn, touched);
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
    // Atomically: a group this result completes publishes its callback in the same transaction.
    this.options.writer.atomically(() => this.results.put(conn.info.vhost, taskId, state, body, options, (err) => {
      done(err === null ? null : new CeleriacError('ERR_STORE_FAILED', `the result could not be stored: ${err.message}`, { cause: err }));
    }));
  }

  getResult(c: EngineConnection, taskId: string): ResultRecord | null {
    return this.results.read(asConn(c).info.vhost, taskId);
  }

  /**
   * Answers `reply` once the result is final or after `timeout` ms; nothing for a closed
   * connection. Returns a cancel: the wait is then dropped unanswered.
   */
  waitResult(c: EngineConnection, taskId: string, timeout: number, reply: (rec: ResultRecord | null) => void): () => void {
    const conn = asConn(c);
    if (conn.closed) return () => undefined;
    let cancel: (() => void) | null = null;
    let answered = false;
    cancel = this.results.wait(conn.info.vhost, taskId, timeout, (rec) => {
      answered = true;
      if (cancel !== null) conn.waits.delete(cancel);
      reply(rec);
    });
    if (answered) return () => undefined;
    const registered = cancel;
    conn.waits.add(registered);
    return () => {
      conn.waits.delete(registered);
      registered();
    };
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
    if (req.ack !== undefined && req.ack !== 0 && !conn.unacked.has(req.ack)) throw unknownTag(req.ack);
    const sends = this.preparePublishes(conn.info.vhost, publishes);
    if (req.result !== undefined) this.results.check(req.result.taskId, req.result.state, req.result.options ?? {});
    const r = req.result;
    // Counted once committed: a worker names its task and run time in the result it finishes with.
    const task = r?.task;
    const outcome = r === undefined || task === undefined ? undefined : outcomeOfState(r.state);
    const counted = task === undefined || outcome === undefined ? done : (err: CeleriacError | null): void => {
      if (err === null) this.taskStats.record(conn.info.vhost, task, outcome, r?.runtime);
      done(err);
    };
    const part = joinParts(1 + (r === undefined ? 0 : 1) + publishes.length, counted);
    this.options.writer.atomically(() => {
      if (r !== undefined) this.storeResult(conn, r.taskId, r.state, r.body, r.options ?? {}, part);
      for (const send of sends) send(part);
      if (req.ack !== undefined && req.ack !== 0) this.ack(conn, req.ack, false);
    });
    part(null);
  }

  /**
   * Checks publishes that go out with other writes (a finish's, a beat fire's): routes, properties
   * and room in reject-publish queues, throwing before anything changes. Returns one function per
   * publish that enqueues it, to call inside the caller's atomically().
   */
  private preparePublishes(vhostName: string, publishes: readonly FinishPublish[]): ((done: PublishDone) => void)[] {
    const vhost = this.vhosts.get(vhostName);
    if (vhost === undefined) throw fail('ERR_ACCESS_REFUSED', `virtual host '${vhostName}' does not exist`);
    const routes = publishes.map((p) => this.routeIn(vhost, p.exchange, p.routingKey, p.props, p.track));
    refuseIfFull(routes);
    return publishes.map((p, i) => (done) => this.enqueueRouted(vhostName, routes[i]!, p.exchange, p.routingKey, p.body, p.props, false, done, p.track));
  }

  revoke(c: EngineConnection, taskIds: string[], options: RevokeOptions, done: (err: CeleriacError | null, revoked: number) => void): void {
    this.revocations.revoke(asConn(c), taskIds, options, done);
  }

  revokedCheck(c: EngineConnection, taskIds: string[]): string[] {
    return this.revocations.check(asConn(c), taskIds);
  }

  rateAcquire(c: EngineConnection, key: string, count: number, intervalMs: number): RateSlot {
    return this.rates.acquire(asConn(c).info.vhost, key, count, intervalMs);
  }

  rateRelease(c: EngineConnection, key: string, slot: number): void {
    this.rates.release(asConn(c).info.vhost, key, slot);
  }

  rateSet(c: EngineConnection, key: string, count: number | null, intervalMs: number | undefined): void {
    this.rates.set(asConn(c).info.vhost, key, count, intervalMs);
  }

  rateOverrides(c: EngineConnection): RateOverride[] {
    return this.rates.list(asConn(c).info.vhost);
  }

  declareGroup(c: EngineConnection, groupId: string, members: string[], options: GroupDeclareOptions, done: (err: CeleriacError | null) => void): void {
    this.groups.declare(asConn(c), groupId, members, options, done);
  }

  getGroup(c: EngineConnection, groupId: string): GroupRecord | null {
    return this.groups.get(asConn(c).info.vhost, groupId);
  }

  get events(): EventLog {
    return this.eventLog;
  }

  readEvents(c: EngineConnection, query: Omit<EventsQuery, 'vhost'>): EventPage {
    return this.eventLog.readRecords(asConn(c).info.vhost, query);
  }

  /** Changes the flow state and tells every connection. */
  setBlocked(blocked: boolean, reason: string): void {
    if (blocked === this.blocked) return;
    this.blocked = blocked;
    this.log(blocked ? 'warn' : 'info', blocked ? `publishers blocked: ${reason}` : 'publishers unblocked');
    // Connections only: a channel's connection speaks for it (AMQP connection.blocked).
    for (const conn of this.conns) if (conn.parent === null) conn.sink.flow?.(!blocked, reason);
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
          messages: q.messageCount, ready: q.readyCount + q.diskBacklog, unacked: q.unacked, delayed: q.delayed, paged: q.paged, consumers: q.consumers.length,
          options: q.options, counters: { ...q.counters },
        });
      }
      for (const ex of vhost.exchanges.values()) {
        exchanges.push({ vhost: vhost.name, name: ex.name, type: ex.type, durable: ex.durable, autoDelete: ex.autoDelete, internal: ex.internal, bindings: ex.bindingCount });
      }
    }
    return {
      queues, exchanges,
      connections: [...this.conns].filter((c) => c.parent === null).map((c) => c.info),
      totals: { ...this.flow.stats, messages },
      heldBytes: this.flowControl.heldBytes(),
      blocked: this.blocked,
    };
  }

  bindings(): BindingOverview[] {
    return listBindings(this.vhosts.values());
  }

  consumers(): ConsumerOverview[] {
    return listConsumers(this.vhosts.values());
  }

  afterCommit(done: (err: CeleriacError | null) => void): void {
    this.options.writer.afterCommit((err) => {
      done(err === null ? null : new CeleriacError('ERR_STORE_FAILED', `the change could not be committed: ${err.message}`, { cause: err }));
    });
  }

  async close(): Promise<void> {
    this.sweeper.stop();
    this.flowControl.stop();
    this.flow.stop();
    this.results.close();
    this.options.writer.close();
  }
}
