// How messages move once routed: enqueue (after the commit when persisted), delayed hold,
// delivery to consumers with prefetch, settle, requeue, expiry, dead-lettering, and lane paging.
import { CeleriacError } from '../../shared/errors.js';
import type { MessageProperties } from '../../shared/frames.js';
import type {
  BrokerStore, GroupProgress, ResultKey, StoredGroup, StoredMessage, StoredResult, StoredRevocation,
} from '../store/store.js';
import type { BeatWriter } from './beat-state.js';
import type { Conn, Unacked } from './connection.js';
import { deadLetterProps, isDeadLetterCycle, type DeadLetterReason } from './dead-letter.js';
import { DELAYED_LANE } from '../store/store.js';
import { DelayedMessages, type PagingStats } from './delayed.js';
import { heldSize, type MemoryGauge } from './memory-gauge.js';
import { fromStoredRow, toStoredRow, type QueuedMessage } from './message.js';
import type { Consumer, Queue } from './queue.js';
import type { VHost } from './vhost.js';

/** The group-commit writer the flow writes through (server/store/group-commit.ts). */
export interface CommitWriter extends BeatWriter {
  /** `awaitAck`: the message is out to a consumer that usually acks quickly; the commit may wait for that ack (ack-hold.ts). */
  insert(row: StoredMessage, done: (err: Error | null) => void, awaitAck?: boolean): void;
  updateCount(id: number, deliveryCount: number): void;
  delete(id: number): void;
  track(rec: StoredResult): void;
  putResult(rec: StoredResult, done: (err: Error | null) => void): void;
  deleteResult(key: ResultKey): void;
  putRevocation(rec: StoredRevocation): void;
  putGroup(rec: StoredGroup): void;
  putGroupProgress(p: GroupProgress): void;
  /** Appends an event to the event log (its body is copied: the caller's bytes may be reused). */
  putEvent(id: number, vhost: string, type: string, routingKey: string, at: number, body: Uint8Array): void;
  /** Commits what is pending now (before topology changes, which the store writes directly). */
  flush(): void;
  /** Commits what is pending and stops. */
  close(): void;
}

export interface FlowStats extends PagingStats {
  published: number;
  delivered: number;
  acked: number;
  deadLettered: number;
  /** Dead-lettered copies dropped because they would have gone round an automatic cycle. */
  deadLetterCyclesDropped: number;
}

/** The revoked task ids, as the hand-out path asks about them (revocations.ts). */
export interface RevokedIndex {
  /** Revoked ids across all vhosts: the hand-out path looks only when this is not 0. */
  readonly size: number;
  has(vhost: string, taskId: string): boolean;
  /** A message of `taskId` is held until `readyAt`: a revocation of it must outlive that. */
  heldUntil(vhost: string, taskId: string, readyAt: number): void;
}

export interface FlowOptions {
  store: BrokerStore;
  writer: CommitWriter;
  now: () => number;
  vhost: (name: string) => VHost | undefined;
  /**
   * Ready messages a durable queue keeps in memory before new ones of a lane stay on disk; also
   * the persisted delayed messages a queue keeps in memory before later-due ones stay on disk.
   */
  pagingThreshold: number;
  /** Counts the bytes of the messages held in memory (flow control weighs them). */
  gauge: MemoryGauge;
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  revoked: RevokedIndex;
  /** A revoked task's message was dropped instead of handed out (counted as a revoked outcome). */
  droppedRevoked?: (vhost: string, msg: QueuedMessage) => void;
}

/** Most rows one page read takes from disk (fewer with a smaller paging threshold). */
const PAGE_SIZE = 2_000;

export class MessageFlow {
  readonly stats: FlowStats = { published: 0, delivered: 0, acked: 0, deadLettered: 0, deadLetterCyclesDropped: 0, pagedOut: 0, pagedIn: 0 };
  readonly gauge: MemoryGauge;
  private nextId: number;
  private readonly pageSize: number;
  private readonly delays: DelayedMessages;
  /** Queues holding messages with a TTL: the sweeper looks at their heads. */
  readonly ttlQueues = new Set<Queue<Conn>>();
  private readonly canTake = (c: Consumer<Conn>): boolean => {
    const conn = c.conn;
    if (conn.paused || conn.closed) return false;
    if (!c.noAck && ((c.prefetch !== 0 && c.unacked >= c.prefetch) || (conn.prefetch !== 0 && conn.consumerUnacked >= conn.prefetch))) return false;
    if (!conn.sink.writable()) {
      conn.paused = true;
      return false;
    }
    return true;
  };

  constructor(private readonly o: FlowOptions) {
    this.nextId = o.store.maxMessageId() + 1;
    this.gauge = o.gauge;
    this.pageSize = Math.max(1, Math.min(PAGE_SIZE, o.pagingThreshold));
    this.delays = new DelayedMessages({
      store: o.store,
      flush: () => o.writer.flush(),
      now: o.now,
      gauge: o.gauge,
      threshold: Math.max(1, o.pagingThreshold),
      pageSize: this.pageSize,
      stats: this.stats,
      held: (queue, msg) => {
        // A revoked task's countdown may end after its revocation would: the revocation waits for it.
        if (o.revoked.size === 0) return;
        const taskId = msg.props?.correlationId;
        if (taskId !== undefined) o.revoked.heldUntil(queue.vhost, taskId, msg.readyAt);
      },
      release: (queue, msg) => {
        msg.readyAt = 0;
        this.pushReady(queue, msg, false);
      },
      released: (queues) => { for (const q of queues) this.drain(q); },
      log: o.log,
    });
  }

  newId(): number {
    return this.nextId++;
  }

  /** Expiry time for a message entering `queue` now: the smaller of queue TTL and message expiration. */
  expiryFor(queue: Queue<Conn>, props: MessageProperties | undefined, from: number): number {
    const qt = queue.options.messageTtl;
    const mt = props?.expiration;
    const ttl = qt === undefined ? mt : mt === undefined ? qt : Math.min(qt, mt);
    return ttl === undefined ? 0 : from + ttl;
  }

  /**
   * Takes a message into a queue; `done` runs when the broker may confirm it: at once for a
   * transient message, after its commit for a persisted one. A persisted message is deliverable
   * before its commit (as in RabbitMQ): a crash before the commit loses only an unconfirmed
   * message, and an ack arriving first cancels the pending insert, saving the write. Only what
   * stays on disk (a lane's tail, a delayed message due after the ones kept in memory) waits for
   * the commit, since it is read back from disk.
   */
  enqueue(queue: Queue<Conn>, msg: QueuedMessage, done: (err: CeleriacError | null) => void): void {
    queue.counters.published++;
    if (!msg.persisted) {
      this.makeAvailable(queue, msg);
      done(null);
      return;
    }
    const delayed = msg.readyAt !== 0;
    const laneNo = delayed ? DELAYED_LANE : queue.laneOf(msg.priority);
    // Once one message of a lane goes to its disk tail, later ones follow it there, keeping FIFO order.
    const lane = delayed ? undefined : queue.lanes[laneNo]!;
    const toTail = lane !== undefined && (lane.onDisk > 0 || queue.readyCount >= this.o.pagingThreshold);
    let delayedToDisk = false;
    if (toTail) {
      lane.onDisk++; // a page read commits pending writes before it reads
      queue.diskBacklog++;
      this.stats.pagedOut++;
    } else {
      delayedToDisk = this.makeAvailable(queue, msg);
    }
    // Already handed to a consumer (a new message's deliveryCount starts at 0).
    const awaitAck = msg.deliveryCount > 0 && queue.ackPace.quick;
    this.o.writer.insert(toStoredRow(msg, queue.id, laneNo), (err) => {
      if (err !== null) {
        if (toTail && lane.onDisk > 0) {
          lane.onDisk--;
          queue.diskBacklog--;
        }
        if (delayedToDisk) this.delays.forgetOnDisk(queue);
        msg.persisted = false; // nothing of it is on disk; later acks must not touch the store
        done(new CeleriacError('ERR_STORE_FAILED', `the store could not commit: ${err.message}`, { cause: err }));
        return;
      }
      done(null);
    }, awaitAck);
  }

  /** Ready now: into its lane and out to consumers; delayed: held. True when it stays on disk only. */
  private makeAvailable(queue: Queue<Conn>, msg: QueuedMessage): boolean {
    // A delayed message already due (a short delay, a slow turn) is held all the same when its
    // durable queue's lanes are full: its row is in the delayed lane, so it waits for room there.
    if (msg.readyAt !== 0 && (msg.readyAt > this.o.now() || (msg.persisted && queue.id !== 0 && this.delays.mustWait(queue)))) {
      return this.delays.hold(queue, msg);
    }
    this.pushReady(queue, msg, msg.readyAt === 0);
    this.drain(queue);
    return false;
  }

  /** Calls `fn` with the task id (correlationId) and due time of every held (delayed) message in memory that has one. */
  forEachHeld(fn: (vhost: string, taskId: string, readyAt: number) => void): void {
    this.delays.forEachInMemory((queue, msg) => {
      const taskId = msg.props?.correlationId;
      if (taskId !== undefined) fn(queue.vhost, taskId, msg.readyAt);
    });
  }

  /**
   * The latest due time of the delayed messages of a vhost on disk only (0 when none): their task
   * ids are not in memory, so a revocation is kept until then (it is extended again, more
   * precisely, when they are paged in).
   */
  heldOnDiskUntil(vhost: string): number {
    let at = 0;
    for (const q of this.o.vhost(vhost)?.queues.values() ?? []) if (q.delayedOnDisk > 0 && q.delayedDiskMaxAt > at) at = q.delayedDiskMaxAt;
    return at;
  }

  /**
   * Files a ready message at the tail of its lane in memory. `laneRow`: its stored row is in that
   * lane (not a released delayed message's), so the lane's paging cursor moves past it; the lane
   * has no disk tail then (enqueue sent it there otherwise).
   */
  private pushReady(queue: Queue<Conn>, msg: QueuedMessage, laneRow: boolean): void {
    const p = queue.laneOf(msg.priority);
    if (laneRow && msg.persisted) {
      const lane = queue.lanes[p]!;
      if (msg.id > lane.cursor) lane.cursor = msg.id;
    }
    queue.pushReady(msg, p);
    if (msg.expiresAt !== 0) this.ttlQueues.add(queue);
  }

  /** Start-up: sizes the queue's on-disk lanes and delayed backlog from the store, then reads the first pages. */
  recoverQueue(queue: Queue<Conn>): void {
    for (const c of this.o.store.laneCounts(queue.id)) {
      if (c.lane === DELAYED_LANE) {
        this.delays.recover(queue, c.count, c.maxReadyAt);
        continue;
      }
      const lane = queue.lanes[c.lane];
      if (lane === undefined) {
        this.o.log('error', `queue '${queue.name}': ${c.count} stored messages in lane ${c.lane}, which the queue does not have; left on disk`);
        continue;
      }
      lane.onDisk += c.count;
      queue.diskBacklog += c.count;
      this.pageInLane(queue, c.lane);
    }
  }

  /** Loads the next page of one lane's on-disk tail into memory. */
  private pageInLane(queue: Queue<Conn>, p: number): void {
    const lane = queue.lanes[p]!;
    if (lane.onDisk === 0 || queue.id === 0) return;
    this.o.writer.flush(); // the tail may hold rows of this turn not yet committed
    const rows = this.o.store.loadLane(queue.id, p, lane.cursor, this.pageSize);
    for (const row of rows) {
      lane.cursor = row.id;
      const msg = fromStoredRow(row, row.id <= queue.recoveredMaxId);
      queue.pushReady(msg, p);
      if (msg.expiresAt !== 0) this.ttlQueues.add(queue);
    }
    this.stats.pagedIn += rows.length;
    // No rows while some were counted: their commit failed (never confirmed); forget them.
    const taken = rows.length === 0 ? lane.onDisk : Math.min(rows.length, lane.onDisk);
    lane.onDisk -= taken;
    queue.diskBacklog -= taken;
  }

  /** Takes the head of the highest non-empty lane, reading a lane's tail in when its head runs low. */
  private takeHead(queue: Queue<Conn>): QueuedMessage | undefined {
    if (queue.due.length > 0) this.delays.releaseWaiting(queue);
    const lanes = queue.lanes;
    for (let p = lanes.length - 1; p >= 0; p--) {
      const lane = lanes[p]!;
      if (lane.onDisk > 0 && lane.ready.length * 2 < this.pageSize) this.pageInLane(queue, p);
      if (lane.ready.length > 0) return queue.takeFrom(p);
    }
    return undefined;
  }

  /** Takes the next live message from the head, paging in and expiring on the way. */
  takeNext(queue: Queue<Conn>): QueuedMessage | undefined {
    for (;;) {
      const msg = this.takeHead(queue);
      if (msg === undefined) return undefined;
      if (msg.expiresAt !== 0 && msg.expiresAt < this.o.now()) {
        this.deadLetter(queue, msg, 'expired');
        continue;
      }
      // A revoked task is never handed out: it goes as if acked, so no worker ever sees it.
      if (this.o.revoked.size !== 0) {
        const taskId = msg.props?.correlationId;
        if (taskId !== undefined && this.o.revoked.has(queue.vhost, taskId)) {
          if (msg.persisted && !queue.deleted) this.o.writer.delete(msg.id);
          this.o.droppedRevoked?.(queue.vhost, msg);
          continue;
        }
      }
      return msg;
    }
  }

  /** Delivers ready messages to consumers with room, round-robin, until one side runs out. */
  drain(queue: Queue<Conn>): void {
    if (queue.consumers.length === 0 || queue.deleted) return;
    while (queue.readyCount > 0 || queue.diskBacklog > 0 || queue.due.length > 0) {
      const c = queue.nextConsumer(this.canTake);
      if (c === undefined) return;
      const msg = this.takeNext(queue);
      if (msg === undefined) return;
      this.deliver(c, msg);
    }
  }

  private deliver(c: Consumer<Conn>, msg: QueuedMessage): void {
    const tag = this.handOut(c.conn, c.queue, c, msg, c.noAck);
    c.conn.sink.deliver({
      consumerTag: c.tag,
      deliveryTag: tag,
      redelivered: msg.redelivered,
      deliveryCount: msg.deliveryCount,
      exchange: msg.exchange,
      routingKey: msg.routingKey,
      props: msg.props,
      body: msg.body,
    });
  }

  /** Hands one message to a `get` (no consumer); null when the queue has nothing ready. */
  getOne(conn: Conn, queue: Queue<Conn>, noAck: boolean): { tag: number; msg: QueuedMessage } | null {
    const msg = this.takeNext(queue);
    if (msg === undefined) return null;
    return { tag: this.handOut(conn, queue, null, msg, noAck), msg };
  }

  /**
   * The accounting of one delivery (to a consumer, or to a get when `consumer` is null): a new
   * tag, then either gone for good (noAck) or outstanding until settled.
   */
  private handOut(conn: Conn, queue: Queue<Conn>, consumer: Consumer<Conn> | null, msg: QueuedMessage, noAck: boolean): number {
    msg.deliveryCount++;
    const tag = conn.nextTag++;
    if (noAck) {
      if (msg.persisted) this.o.writer.delete(msg.id);
    } else {
      conn.unacked.set(tag, { msg, queue, consumer, at: this.o.now() });
      this.o.gauge.add(heldSize(msg));
      if (consumer !== null) {
        consumer.unacked++;
        conn.consumerUnacked++;
      }
      queue.unacked++;
    }
    this.stats.delivered++;
    queue.counters.delivered++;
    return tag;
  }

  /** Forgets an outstanding delivery's accounting (ack, nack and reject all start here). */
  private release(u: Unacked): void {
    u.queue.unacked--;
    if (u.consumer !== null) {
      u.consumer.unacked--;
      u.consumer.conn.consumerUnacked--;
    }
    this.o.gauge.sub(heldSize(u.msg));
  }

  ack(u: Unacked): void {
    this.release(u);
    if (u.consumer !== null) u.queue.ackPace.acked(this.o.now() - u.at);
    this.stats.acked++;
    u.queue.counters.acked++;
    if (u.msg.persisted && !u.queue.deleted) this.o.writer.delete(u.msg.id);
  }

  /** nack/reject: requeue at the head, or dead-letter (or drop) with reason 'rejected'. */
  settleNegative(u: Unacked, requeue: boolean): void {
    this.release(u);
    if (u.queue.deleted) return;
    if (requeue) this.requeue(u.queue, u.msg);
    else this.deadLetter(u.queue, u.msg, 'rejected');
  }

  /**
   * Puts a returned message back at the head of its queue, flagged redelivered; past the queue's
   * deliveryLimit it is dead-lettered instead (a poison message must not loop forever).
   */
  requeue(queue: Queue<Conn>, msg: QueuedMessage): void {
    msg.redelivered = true;
    const limit = queue.options.deliveryLimit;
    if (limit !== undefined && msg.deliveryCount > limit) {
      this.deadLetter(queue, msg, 'delivery-limit');
      return;
    }
    if (msg.persisted) this.o.writer.updateCount(msg.id, msg.deliveryCount);
    queue.unshiftReady(msg);
    if (msg.expiresAt !== 0) this.ttlQueues.add(queue);
  }

  /**
   * Removes a message for good; with a dead-letter exchange, republishes a copy there first. The
   * copy's insert and the original's delete go into the same group commit, so the move is atomic.
   */
  deadLetter(queue: Queue<Conn>, msg: QueuedMessage, reason: DeadLetterReason): void {
    const dlxName = queue.options.deadLetterExchange;
    const vhost = dlxName === undefined ? undefined : this.o.vhost(queue.vhost);
    const dlx = dlxName === undefined || vhost === undefined ? undefined : dlxName === '' ? null : vhost.exchanges.get(dlxName);
    if (dlx !== undefined && vhost !== undefined) {
      const now = this.o.now();
      const props = deadLetterProps(msg, queue.name, reason, now);
      const key = queue.options.deadLetterRoutingKey ?? msg.routingKey;
      const targets = dlx === null ? (vhost.queues.has(key) ? [vhost.queues.get(key)!] : []) : dlx.route(key, props.headers);
      for (const target of targets) {
        // Expiring or overflowing back into a queue of its history (its own included) without a
        // client's reject in between would cycle for ever: dropped, as RabbitMQ does.
        if (isDeadLetterCycle(props.headers?.['x-death'], target.name, reason)) {
          this.stats.deadLetterCyclesDropped++;
          continue;
        }
        if (!this.makeRoom(target)) continue; // a full reject-publish queue refuses it: dropped
        const copy: QueuedMessage = {
          id: this.newId(),
          exchange: dlxName!,
          routingKey: key,
          body: msg.body,
          props,
          priority: msg.priority,
          expiresAt: this.expiryFor(target, props, now),
          readyAt: 0,
          deliveryCount: 0,
          redelivered: false,
          persisted: msg.persisted && target.id !== 0,
        };
        this.enqueue(target, copy, () => undefined);
      }
      this.stats.deadLettered++;
    }
    if (msg.persisted && !queue.deleted) this.o.writer.delete(msg.id);
  }

  /**
   * Enforces maxLength before a message enters: drop-head dead-letters the oldest ready message
   * (reason maxlen); reject-publish refuses the new one. Returns false to refuse.
   */
  makeRoom(q: Queue<Conn>): boolean {
    const max = q.options.maxLength;
    if (max === undefined) return true;
    while (q.depth >= max) {
      if (q.options.overflow === 'reject-publish') return false;
      const head = this.takeNext(q);
      if (head === undefined) return max > 0;
      this.deadLetter(q, head, 'maxlen');
    }
    return true;
  }

  /** Expires messages at the heads of queues with TTLs (RabbitMQ also expires at the head only). */
  sweepExpired(): void {
    const now = this.o.now();
    for (const queue of this.ttlQueues) {
      for (;;) {
        const head = queue.peekReady();
        if (head === undefined) {
          this.ttlQueues.delete(queue);
          break;
        }
        if (head.expiresAt === 0 || head.expiresAt >= now) break;
        queue.takeReady();
        this.deadLetter(queue, head, 'expired');
      }
    }
  }

  /** Lets due delayed messages that waited for room into the queue's lanes (after a purge). */
  releaseWaiting(queue: Queue<Conn>): void {
    this.delays.releaseWaiting(queue);
  }

  /** Drops every held (delayed) message of a queue; returns how many. */
  dropDelayed(queue: Queue<Conn>): number {
    return this.delays.dropQueue(queue);
  }

  stop(): void {
    this.delays.stop();
  }
}
