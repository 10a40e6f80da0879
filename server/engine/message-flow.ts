// How messages move once routed: enqueue (after the commit when persisted), delayed hold,
// delivery to consumers with prefetch, settle, requeue, expiry, dead-lettering, and paging.
import { CeleriacError } from '../../shared/errors.js';
import type { MessageProperties } from '../../shared/frames.js';
import type { BrokerStore, GroupProgress, ResultKey, StoredGroup, StoredMessage, StoredResult, StoredRevocation } from '../store/store.js';
import type { Conn, Unacked } from './connection.js';
import { deadLetterProps, isDeadLetterCycle, type DeadLetterReason } from './dead-letter.js';
import { DelayHeap } from './delay-heap.js';
import { fromStoredRow, toStoredRow, type QueuedMessage } from './message.js';
import type { Consumer, Queue } from './queue.js';
import type { VHost } from './vhost.js';

/** The group-commit writer the flow writes through (server/store/group-commit.ts). */
export interface CommitWriter {
  insert(row: StoredMessage, done: (err: Error | null) => void): void;
  updateCount(id: number, deliveryCount: number): void;
  delete(id: number): void;
  track(rec: StoredResult): void;
  putResult(rec: StoredResult, done: (err: Error | null) => void): void;
  deleteResult(key: ResultKey): void;
  putRevocation(rec: StoredRevocation): void;
  putGroup(rec: StoredGroup): void;
  putGroupProgress(p: GroupProgress): void;
  /** `done` runs once everything written so far is committed (or with the commit's error). */
  afterCommit(done: (err: Error | null) => void): void;
  /** Every write `fn` makes lands in one transaction. */
  atomically(fn: () => void): void;
  /** Commits what is pending now (before topology changes, which the store writes directly). */
  flush(): void;
  /** Commits what is pending and stops. */
  close(): void;
}

export interface FlowStats {
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
  /** Ready messages a durable queue keeps in memory before its tail stays on disk. */
  pagingThreshold: number;
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  revoked: RevokedIndex;
}

/** Longest delay setTimeout accepts. */
const MAX_TIMER = 2 ** 31 - 1;

/** Forgets held ids the paging cursor has passed: page-ins no longer read them. */
export function pruneHeld(queue: Queue<Conn>): void {
  if (queue.heldAboveCursor.size === 0) return;
  for (const id of queue.heldAboveCursor) if (id <= queue.cursor) queue.heldAboveCursor.delete(id);
}

/** Size of one page read from disk when a deep queue's in-memory head runs low. */
const PAGE_SIZE = 2_000;

export class MessageFlow {
  readonly stats: FlowStats = { published: 0, delivered: 0, acked: 0, deadLettered: 0, deadLetterCyclesDropped: 0 };
  private nextId: number;
  private readonly heap = new DelayHeap<{ queue: Queue<Conn>; msg: QueuedMessage }>();
  private delayTimer: NodeJS.Timeout | null = null;
  private delayTimerAt = Infinity;
  /** Queues holding messages with a TTL: the sweeper looks at their heads. */
  readonly ttlQueues = new Set<Queue<Conn>>();
  private readonly canTake = (c: Consumer<Conn>): boolean => {
    const conn = c.conn;
    if (conn.paused || conn.closed) return false;
    if (!c.noAck && c.prefetch !== 0 && c.unacked >= c.prefetch) return false;
    if (!conn.sink.writable()) {
      conn.paused = true;
      return false;
    }
    return true;
  };

  constructor(private readonly o: FlowOptions) {
    this.nextId = o.store.maxMessageId() + 1;
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
   * message, and an ack arriving first cancels the pending insert, saving the write. Only a deep
   * queue's tail waits for the commit, since it is read back from disk.
   */
  enqueue(queue: Queue<Conn>, msg: QueuedMessage, done: (err: CeleriacError | null) => void): void {
    if (!msg.persisted) {
      this.makeAvailable(queue, msg);
      done(null);
      return;
    }
    // Once one message goes to the disk tail, later ones follow it there, keeping FIFO order.
    // Priority queues stay whole in memory: the disk tail is read back in id order only.
    const toDisk = msg.readyAt === 0 && queue.options.maxPriority === undefined && (queue.diskBacklog > 0 || queue.readyCount >= this.o.pagingThreshold);
    if (toDisk) queue.diskBacklog++; // pageIn commits pending writes before it reads
    else this.makeAvailable(queue, msg);
    this.o.writer.insert(toStoredRow(msg, queue.id), (err) => {
      if (err !== null) {
        if (toDisk && queue.diskBacklog > 0) queue.diskBacklog--;
        msg.persisted = false; // nothing of it is on disk; later acks must not touch the store
        done(new CeleriacError('ERR_STORE_FAILED', `the store could not commit: ${err.message}`, { cause: err }));
        return;
      }
      done(null);
    });
  }

  private makeAvailable(queue: Queue<Conn>, msg: QueuedMessage): void {
    const now = this.o.now();
    if (msg.readyAt > now) {
      // Its row is on disk above the paging cursor: a page-in must not load it a second time.
      if (msg.persisted && msg.id > queue.cursor) queue.heldAboveCursor.add(msg.id);
      this.hold(queue, msg);
      return;
    }
    this.pushReady(queue, msg);
    this.drain(queue);
  }

  /** Keeps a delayed message in the heap until its readyAt. */
  private hold(queue: Queue<Conn>, msg: QueuedMessage): void {
    queue.delayed++;
    this.heap.push(msg.readyAt, { queue, msg });
    // A revoked task's countdown may end after its revocation would: the revocation waits for it.
    if (this.o.revoked.size !== 0) {
      const taskId = msg.props?.correlationId;
      if (taskId !== undefined) this.o.revoked.heldUntil(queue.vhost, taskId, msg.readyAt);
    }
    this.armDelayTimer();
  }

  /** Calls `fn` with the task id (correlationId) and due time of every held (delayed) message that has one. */
  forEachHeld(fn: (vhost: string, taskId: string, readyAt: number) => void): void {
    this.heap.forEach((readyAt, { queue, msg }) => {
      const taskId = msg.props?.correlationId;
      if (taskId !== undefined) fn(queue.vhost, taskId, readyAt);
    });
  }

  private pushReady(queue: Queue<Conn>, msg: QueuedMessage): void {
    if (msg.persisted && msg.id > queue.cursor) {
      if (queue.diskBacklog === 0) {
        queue.cursor = msg.id;
        queue.heldAboveCursor.delete(msg.id);
      } else {
        queue.heldAboveCursor.add(msg.id); // its row is in the disk tail: paging must skip it
      }
    }
    queue.pushReady(msg);
    if (msg.expiresAt !== 0) this.ttlQueues.add(queue);
  }

  /** Loads the next page of a deep queue's on-disk tail into memory. */
  pageIn(queue: Queue<Conn>): void {
    if (queue.diskBacklog === 0 || queue.id === 0) return;
    this.o.writer.flush(); // the tail may hold rows of this turn not yet committed
    const rows = this.o.store.loadMessages(queue.id, queue.cursor, PAGE_SIZE);
    if (rows.length === 0) {
      queue.diskBacklog = 0;
      return;
    }
    for (const row of rows) {
      queue.cursor = row.id;
      if (queue.heldAboveCursor.delete(row.id)) continue;
      const msg = fromStoredRow(row, row.id <= queue.recoveredMaxId);
      queue.diskBacklog--;
      if (msg.readyAt > this.o.now()) {
        this.hold(queue, msg);
      } else {
        queue.pushReady(msg);
        if (msg.expiresAt !== 0) this.ttlQueues.add(queue);
      }
    }
    if (queue.diskBacklog < 0) queue.diskBacklog = 0;
    pruneHeld(queue);
  }

  /** Takes the next live message from the head, paging in and expiring on the way. */
  takeNext(queue: Queue<Conn>): QueuedMessage | undefined {
    for (;;) {
      if (queue.readyCount < PAGE_SIZE / 2 && queue.diskBacklog > 0) {
        // A page may hold only delayed or already-held rows: keep reading while it moves on.
        let before: number;
        do {
          before = queue.cursor;
          this.pageIn(queue);
        } while (queue.readyCount === 0 && queue.diskBacklog > 0 && queue.cursor !== before);
      }
      const msg = queue.takeReady();
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
          continue;
        }
      }
      return msg;
    }
  }

  /** Delivers ready messages to consumers with room, round-robin, until one side runs out. */
  drain(queue: Queue<Conn>): void {
    if (queue.consumers.length === 0 || queue.deleted) return;
    while (queue.readyCount > 0 || queue.diskBacklog > 0) {
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
      if (consumer !== null) consumer.unacked++;
      queue.unacked++;
    }
    this.stats.delivered++;
    return tag;
  }

  /** Forgets an outstanding delivery's accounting (ack, nack and reject all start here). */
  private release(u: Unacked): void {
    u.queue.unacked--;
    if (u.consumer !== null) u.consumer.unacked--;
  }

  ack(u: Unacked): void {
    this.release(u);
    this.stats.acked++;
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

  /** Drops every held (delayed) message of a queue; returns how many. */
  dropDelayed(queue: Queue<Conn>): number {
    const removed = this.heap.removeWhere((d) => d.queue === queue);
    queue.delayed -= removed.length;
    return removed.length;
  }

  private armDelayTimer(): void {
    const at = this.heap.nextAt();
    if (at >= this.delayTimerAt) return;
    if (this.delayTimer !== null) clearTimeout(this.delayTimer);
    this.delayTimerAt = at;
    // setTimeout takes at most 2^31-1 ms (24.8 days); longer delays re-arm when that fires.
    this.delayTimer = setTimeout(() => {
      try {
        this.releaseDue();
      } catch (err) {
        this.o.log('error', `releasing delayed messages failed: ${(err as Error).message}`);
        this.armDelayTimer();
      }
    }, Math.min(MAX_TIMER, Math.max(0, at - this.o.now())));
  }

  /** Moves delayed messages that are due into their queues. */
  private releaseDue(): void {
    this.delayTimer = null;
    this.delayTimerAt = Infinity;
    const touched = new Set<Queue<Conn>>();
    for (const { queue, msg } of this.heap.popDue(this.o.now())) {
      queue.delayed--;
      if (queue.deleted) continue;
      msg.readyAt = 0;
      this.pushReady(queue, msg);
      touched.add(queue);
    }
    for (const q of touched) {
      pruneHeld(q);
      this.drain(q);
    }
    if (this.heap.length > 0) this.armDelayTimer();
  }

  stop(): void {
    if (this.delayTimer !== null) clearTimeout(this.delayTimer);
    this.delayTimer = null;
    this.delayTimerAt = Infinity;
  }
}
