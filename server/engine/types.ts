// The engine's face to the session layer: what a connection can ask and how deliveries leave.
// The engine knows no sockets: a session hands it a DeliverySink and calls these methods.
import type { CeleriacError } from '../../shared/errors.js';
import type {
  ConsumeOptions, DeleteExchangeOptions, DeleteQueueOptions, ExchangeOptions, ExchangeType, GetResult, GroupDeclareOptions, GroupRecord, MessageProperties,
  QueueInfo, QueueOptions, ResultRecord, ResultStoreOptions, RevokedInfo, RevokeOptions, TrackOptions, FinishPublish, FinishResult, RateOverride, RateSlot,
  BeatAdvanceFrame, BeatFireFrame, EventPage, LeaseRecord, ScheduleRecord,
} from '../../shared/frames.js';
import type { EventLogStats, EventsApi, EventsQuery, TasksApi, WorkersApi } from './events-api.js';
import type { TaskSeries } from './task-stats.js';

/** What a worker's finish does in one transaction. */
export interface FinishRequest {
  ack?: number;
  result?: FinishResult;
  publishes?: FinishPublish[];
}

/** One message handed to a consumer. */
export interface Delivery {
  consumerTag: string;
  deliveryTag: number;
  redelivered: boolean;
  deliveryCount: number;
  exchange: string;
  routingKey: string;
  props: MessageProperties | undefined;
  body: Uint8Array;
}

/** Where the engine sends what a connection receives. Implemented by the session. */
export interface DeliverySink {
  /** False while the socket's send buffer is full: the engine holds deliveries until `resume`. */
  writable(): boolean;
  deliver(delivery: Delivery): void;
  /** The broker cancelled a consumer (queue deleted, ack timeout). */
  consumerCancelled(consumerTag: string, reason: string): void;
  /**
   * Publishing is blocked (false) or allowed again (true) because of a memory or store limit. Told
   * to connections only, never to a channel (openChannel), so a channel's sink omits it.
   */
  flow?(active: boolean, reason: string): void;
  /** Bytes waiting to be sent to this connection (flow control counts them as held); 0 when omitted. */
  bufferedBytes?(): number;
  /** Revoked task ids this connection holds deliveries of, or (terminate) may be running (a sink that has no use for it omits it). */
  revoked?(info: RevokedInfo): void;
  /** Schedule entries of the vhost were upserted, removed, paused or resumed (to connections that watch them). */
  scheduleChanged?(names: string[]): void;
}

/** Who a connection is, for listings and exclusive-queue ownership. */
export interface ConnectionInfo {
  id: string;
  vhost: string;
  user: string;
  client: string;
  peer: string;
}

/** Called once per publish: null when taken (and committed, for persistent + durable), else the error. */
export type PublishDone = (err: CeleriacError | null) => void;

/** Opaque handle the engine gives a session for one connection. */
export interface EngineConnection {
  readonly info: ConnectionInfo;
}

/** Answers a request once its writes are committed: an error, or the result. */
export type BeatDone<T> = (err: CeleriacError | null, result?: T) => void;

/** What an upsert may set besides the spec (see ScheduleUpsertFrame). */
export interface ScheduleUpsertOptions {
  source?: string;
  /** Given: set (null = none); absent: kept (a new entry starts with null). */
  nextRunAt?: number | null;
  resetState?: boolean;
}

/** A fire, as the beatFire frame gives it. */
export type BeatFireRequest = Omit<BeatFireFrame, 'op' | 'id'>;
/** An advance, as the beatAdvance frame gives it. */
export type BeatAdvanceRequest = Omit<BeatAdvanceFrame, 'op' | 'id'>;

export type BeatFireAnswer = { fired: true; record: ScheduleRecord } | { fired: false; reason: 'duplicate' | 'changed' };

/**
 * Beat's side of the broker, per vhost of the connection: schedule entries, leader leases and
 * fires (see the beat frames in shared/frames.ts for the exact rules). Sync methods throw
 * CeleriacError on bad input (ERR_INVALID_ARGUMENT) and on a lost lease (ERR_STALE_LEASE).
 */
export interface BeatApi {
  upsert(conn: EngineConnection, name: string, spec: string, options: ScheduleUpsertOptions, done: BeatDone<{ created: boolean; revision: number }>): void;
  remove(conn: EngineConnection, name: string, done: BeatDone<{ removed: boolean }>): void;
  /** ERR_NOT_FOUND when the entry does not exist. */
  pause(conn: EngineConnection, name: string, paused: boolean, done: BeatDone<ScheduleRecord>): void;
  list(conn: EngineConnection, names: string[] | undefined): { entries: ScheduleRecord[]; leases: LeaseRecord[] };
  /** Starts (true) or stops (false) pushing scheduleChanged to this connection's sink. */
  watch(conn: EngineConnection, watch: boolean): void;
  acquireLease(conn: EngineConnection, name: string, holder: string, ttl: number, done: BeatDone<{ acquired: boolean; lease: LeaseRecord }>): void;
  releaseLease(conn: EngineConnection, name: string, holder: string, epoch: number, done: BeatDone<{ released: boolean }>): void;
  fire(conn: EngineConnection, req: BeatFireRequest, done: BeatDone<BeatFireAnswer>): void;
  advance(conn: EngineConnection, req: BeatAdvanceRequest, done: BeatDone<{ advanced: boolean; record: ScheduleRecord | null }>): void;
}

/** The operations a session performs; every sync method throws CeleriacError on bad input. */
export interface EngineApi {
  openConnection(info: ConnectionInfo, sink: DeliverySink): EngineConnection;
  /**
   * Opens a channel of `conn` (an AMQP channel): a handle of its own for consumers, delivery tags,
   * unacked deliveries and prefetch, that shares its connection's vhost and exclusive queues.
   * Flow control is told to the connection's sink only.
   */
  openChannel(conn: EngineConnection, sink: DeliverySink): EngineConnection;
  /**
   * Requeues every unacked delivery, cancels consumers; for a connection, closes its channels and
   * deletes its exclusive queues.
   */
  closeConnection(conn: EngineConnection): void;
  /**
   * Sets the most unacked consumer deliveries across all consumers of `conn` (0 = no limit): AMQP's
   * basic.qos with global set, as RabbitMQ reads it. Each consumer's own prefetch still applies.
   */
  setPrefetch(conn: EngineConnection, count: number): void;
  /** Requeues every unacked delivery of `conn` (AMQP basic.recover with requeue), flagged redelivered. */
  recover(conn: EngineConnection): void;
  /** Throws ERR_NOT_FOUND unless exchange `name` exists in the connection's vhost ('' always does). */
  checkExchange(conn: EngineConnection, name: string): void;
  declareExchange(conn: EngineConnection, name: string, type: ExchangeType, options: ExchangeOptions): void;
  deleteExchange(conn: EngineConnection, name: string, options: DeleteExchangeOptions): void;
  declareQueue(conn: EngineConnection, name: string, options: QueueOptions): QueueInfo;
  deleteQueue(conn: EngineConnection, name: string, options: DeleteQueueOptions): { messageCount: number };
  purgeQueue(conn: EngineConnection, name: string): { messageCount: number };
  bindQueue(conn: EngineConnection, queue: string, exchange: string, pattern: string, args: Record<string, unknown>): void;
  unbindQueue(conn: EngineConnection, queue: string, exchange: string, pattern: string, args: Record<string, unknown>): void;
  /**
   * Binds exchange `destination` to exchange `source` (AMQP exchange.bind): messages `source`
   * matches are routed by `destination` too. ERR_NOT_FOUND for a missing exchange, ERR_ACCESS_DENIED
   * for the default exchange.
   */
  bindExchange(conn: EngineConnection, destination: string, source: string, pattern: string, args: Record<string, unknown>): void;
  unbindExchange(conn: EngineConnection, destination: string, source: string, pattern: string, args: Record<string, unknown>): void;
  /**
   * Routes and enqueues; `done` runs after the commit for persistent messages in durable queues.
   * `track` registers a task id as PENDING in the result store in the same commit (when routed).
   */
  publish(conn: EngineConnection, exchange: string, routingKey: string, body: Uint8Array, props: MessageProperties | undefined, mandatory: boolean, done: PublishDone, track?: TrackOptions): void;
  /** Stores a task state and result; `done` after the commit. */
  storeResult(conn: EngineConnection, taskId: string, state: string, body: Uint8Array | undefined, options: ResultStoreOptions, done: (err: CeleriacError | null) => void): void;
  /** The stored result, or null for an id the broker does not know. */
  getResult(conn: EngineConnection, taskId: string): ResultRecord | null;
  /** Replies when the result is final, or after `timeout` ms with the record as it is then; returns a cancel. */
  waitResult(conn: EngineConnection, taskId: string, timeout: number, reply: (rec: ResultRecord | null) => void): () => void;
  forgetResult(conn: EngineConnection, taskId: string): void;
  /** Ack + result + publishes in one transaction; `done` after the commit. Checks all first. */
  finish(conn: EngineConnection, req: FinishRequest, done: (err: CeleriacError | null) => void): void;
  consume(conn: EngineConnection, queue: string, options: ConsumeOptions): { consumerTag: string };
  cancel(conn: EngineConnection, consumerTag: string): void;
  ack(conn: EngineConnection, tag: number, multiple: boolean): void;
  nack(conn: EngineConnection, tag: number, multiple: boolean, requeue: boolean): void;
  reject(conn: EngineConnection, tag: number, requeue: boolean): void;
  get(conn: EngineConnection, queue: string, noAck: boolean): GetResult | null;
  /**
   * Revokes task ids: remembered (committed) for `expires` ms, REVOKED stored where not final, their
   * messages never handed out again, holders of their deliveries (every connection, with terminate) pushed `revoked`. `done` after the commit.
   */
  revoke(conn: EngineConnection, taskIds: string[], options: RevokeOptions, done: (err: CeleriacError | null, revoked: number) => void): void;
  /** The revoked ones among `taskIds`. */
  revokedCheck(conn: EngineConnection, taskIds: string[]): string[];
  /** Reserves the next slot of the cluster-wide rate bucket `key`: the ms to wait first, and the slot. */
  rateAcquire(conn: EngineConnection, key: string, count: number, intervalMs: number): RateSlot;
  /** Gives back a slot of bucket `key` that rateAcquire reserved and nobody will use. */
  rateRelease(conn: EngineConnection, key: string, slot: number): void;
  /** Sets (count a number) or clears (null) the override rate of bucket `key`. */
  rateSet(conn: EngineConnection, key: string, count: number | null, intervalMs: number | undefined): void;
  /** The override rates of the connection's vhost. */
  rateOverrides(conn: EngineConnection): RateOverride[];
  /** Declares a group whose members' final results the broker counts; `done` after the commit. */
  declareGroup(conn: EngineConnection, groupId: string, members: string[], options: GroupDeclareOptions, done: (err: CeleriacError | null) => void): void;
  /** The group with its members' results, or null when unknown. */
  getGroup(conn: EngineConnection, groupId: string): GroupRecord | null;
  /** Beat: schedule entries, leases and fires of the connection's vhost. */
  readonly beat: BeatApi;
  /** The stored event log of every vhost (docs/events.md). */
  readonly events: EventsApi;
  /** The task index kept from task events. */
  readonly tasks: TasksApi;
  /** The worker index kept from worker events. */
  readonly workers: WorkersApi;
  /** The connection's read of its vhost's stored events (eventsRead); throws as EventsApi.read does. */
  readEvents(conn: EngineConnection, query: Omit<EventsQuery, 'vhost'>): EventPage;
  /** The sink is writable again: deliver what was held back. */
  resume(conn: EngineConnection): void;
  /** Whether publishing is currently blocked (memory or store over its limit). */
  readonly blocked: boolean;
  /** Management view. */
  overview(): EngineOverview;
  /** Counters for /metrics beyond the overview's. */
  readonly metrics: EngineMetrics;
  /** Every binding of every vhost, the default exchange's implicit one per queue included (management view). */
  bindings(): BindingOverview[];
  /** Every consumer of every vhost (management view). */
  consumers(): ConsumerOverview[];
  /**
   * Runs `done` once everything written so far is committed and durable (or with ERR_STORE_FAILED):
   * the answer of a request whose writes have no callback of their own (a purge, a get's acks).
   */
  afterCommit(done: (err: CeleriacError | null) => void): void;
  /** Waits for pending commits, stops timers; the store is closed by its owner. */
  close(): Promise<void>;
}

export interface QueueOverview {
  vhost: string; name: string; durable: boolean; exclusive: boolean; autoDelete: boolean;
  messages: number; ready: number; unacked: number; delayed: number;
  /** Messages on disk only, paged in when their turn comes (a deep lane's tail, later-due delayed ones). */
  paged: number;
  consumers: number;
  options: QueueOptions;
  /** Messages in, deliveries and acks since the queue was declared or the broker started. */
  counters: { published: number; delivered: number; acked: number };
}
export interface ExchangeOverview { vhost: string; name: string; type: ExchangeType; durable: boolean; autoDelete: boolean; internal: boolean; bindings: number }
/** A binding: exchange `source` routes `routingKey` (a pattern on topic exchanges) to queue or exchange `destination`. */
export interface BindingOverview {
  vhost: string;
  /** The exchange; '' is the default exchange, which binds every queue under its own name. */
  source: string;
  destination: string;
  destinationType: 'queue' | 'exchange';
  routingKey: string;
  arguments: Record<string, unknown>;
}
/** A consumer as the management API lists it. */
export interface ConsumerOverview {
  vhost: string;
  queue: string;
  consumerTag: string;
  /** Id of the connection that holds it (as in ConnectionInfo). */
  connection: string;
  user: string;
  /** Max unacked deliveries; 0 = unlimited. */
  prefetch: number;
  /** Deliveries need an ack (not noAck). */
  ackRequired: boolean;
  exclusive: boolean;
  /** Deliveries held unacked now. */
  unacked: number;
}
/**
 * Counters the engine keeps for /metrics, read on a scrape: plain numbers, so the engine knows
 * nothing of the exposition format and counting costs the hot path an increment.
 */
export interface EngineMetrics {
  /** Task outcomes and run times per vhost and task name (task-stats.ts: what is counted, and where). */
  taskSeries(): Iterable<TaskSeries>;
  /** Events stored and pruned by retention since start. */
  readonly events: Readonly<EventLogStats>;
  /** Seconds publishers have been blocked by a memory or store watermark since start, a block going on now included. */
  blockedSeconds(): number;
}

export interface EngineOverview {
  queues: QueueOverview[];
  exchanges: ExchangeOverview[];
  connections: ConnectionInfo[];
  totals: { published: number; delivered: number; acked: number; deadLettered: number; deadLetterCyclesDropped: number; pagedOut: number; pagedIn: number; messages: number };
  /** Bytes the broker holds (messages in memory, send buffers): what the memory watermark limits. */
  heldBytes: number;
  blocked: boolean;
}
