// One queue's state: its ready messages (one lane per priority), consumers in round-robin order,
// counters, and the paging state of a deep durable queue whose lane tails and delayed messages stay on disk.
import type { QueueOptions } from '../../shared/frames.js';
import type { DelayedCursor } from '../store/store.js';
import { AckPace } from './ack-hold.js';
import { Deque } from './deque.js';
import { heldSize, type MemoryGauge } from './memory-gauge.js';
import type { QueuedMessage } from './message.js';

/** A subscription of one connection to one queue. */
export interface Consumer<C> {
  tag: string;
  conn: C;
  queue: Queue<C>;
  /** Max unacked; 0 = unlimited. */
  prefetch: number;
  noAck: boolean;
  exclusive: boolean;
  unacked: number;
}

/**
 * One priority level of a queue: its in-memory head and, for a deep durable queue, a tail on disk
 * read back in id order. Invariant: every persisted row of the lane with id <= cursor is in memory
 * (or gone); the `onDisk` rows above it are on disk only.
 */
export interface Lane {
  readonly ready: Deque<QueuedMessage>;
  onDisk: number;
  cursor: number;
}

/** A delayed message that is due, waiting for room in its queue's ready lanes (delayed.ts). */
export interface DueMessage {
  msg: QueuedMessage;
  /** Counted in delayedInMemory (a persisted message, subject to paging). */
  paged: boolean;
}

/** What went through a queue since start (or since it was declared): the management API's rates come from these. */
export interface QueueCounters {
  /** Messages that entered the queue (publishes and dead-lettered copies). */
  published: number;
  /** Deliveries to consumers and gets, redeliveries included. */
  delivered: number;
  /** Deliveries acked. */
  acked: number;
}

/** A queue in one virtual host. C is the engine's connection type (exclusive owner, consumers). */
export class Queue<C> {
  /** Ready lanes; index = priority (a single lane when the queue has no maxPriority). */
  readonly lanes: Lane[];
  private readyTotal = 0;
  readonly consumers: Consumer<C>[] = [];
  private rr = 0;

  /** Delivered, not yet settled. */
  unacked = 0;
  readonly counters: QueueCounters = { published: 0, delivered: 0, acked: 0 };
  /** How quickly its consumers ack: whether a commit may wait for an ack (ack-hold.ts). */
  readonly ackPace = new AckPace();
  /** Held for delayed delivery: in the engine's heap or on disk. */
  delayed = 0;
  /** Of the delayed ones, persisted messages on disk only, all due after `delayHorizon`. */
  delayedOnDisk = 0;
  /** Of the delayed ones, persisted messages in the heap (what paging keeps near its threshold). */
  delayedInMemory = 0;
  /**
   * Every persisted delayed row of the queue at or before this (readyAt, id) is in memory (or
   * gone); every later one is on disk only. Delayed rows are paged in in this order as time passes.
   */
  delayHorizon: DelayedCursor = { readyAt: 0, id: 0 };
  /**
   * Delayed messages already due while the ready lanes of this durable queue held their paging
   * threshold: they wait here, in due order (still counted as delayed), and are released as the
   * lanes drain, so a due backlog nobody consumes stays on disk too.
   */
  readonly due = new Deque<DueMessage>();
  /** Latest due time among delayed rows sent to disk (a revocation is kept until then). */
  delayedDiskMaxAt = 0;
  /** Persisted ready messages on disk only (the lanes' tails, all lanes). */
  diskBacklog = 0;
  /** Highest message id recovered at start-up: anything at or below may have been delivered before. */
  recoveredMaxId = 0;
  /** Last time a consumer, get or declare used the queue (for `expires`). */
  lastUsed: number;
  /** Once a consumer attached: an auto-delete queue goes when its last consumer leaves. */
  hadConsumer = false;
  deleted = false;

  constructor(
    /** Store id (0 for a transient queue). */
    public id: number,
    readonly vhost: string,
    readonly name: string,
    readonly options: QueueOptions,
    /** Owning connection for an exclusive queue. */
    readonly owner: C | null,
    now: number,
    /** Where the bytes of the messages held in the lanes are counted. */
    private readonly gauge: MemoryGauge,
  ) {
    const levels = (options.maxPriority ?? 0) + 1;
    this.lanes = Array.from({ length: levels }, () => ({ ready: new Deque<QueuedMessage>(), onDisk: 0, cursor: 0 }));
    this.lastUsed = now;
  }

  get durable(): boolean {
    return this.options.durable === true;
  }

  /** Ready messages in memory. */
  get readyCount(): number {
    return this.readyTotal;
  }

  /** Messages the queue holds in any state (ready in memory or on disk, unacked, delayed, committing). */
  get messageCount(): number {
    return this.readyTotal + this.diskBacklog + this.unacked + this.delayed;
  }

  /** Ready messages counting the on-disk tails: what maxLength limits. */
  get depth(): number {
    return this.readyTotal + this.diskBacklog;
  }

  /** Messages on disk only: the lanes' tails and the delayed ones not yet paged in. */
  get paged(): number {
    return this.diskBacklog + this.delayedOnDisk;
  }

  /** The lane a message of this priority is filed under (out-of-range priorities clamp). */
  laneOf(priority: number): number {
    const top = this.lanes.length - 1;
    return priority > top ? top : priority < 0 ? 0 : priority;
  }

  /** Appends a ready message to its lane's in-memory head (`lane` given when paged in). */
  pushReady(msg: QueuedMessage, lane = this.laneOf(msg.priority)): void {
    this.lanes[lane]!.ready.push(msg);
    this.readyTotal++;
    this.gauge.add(heldSize(msg));
  }

  /**
   * Puts a returned message back near the head of its lane, in publish order among the messages
   * requeued before it (RabbitMQ requeues to the original position), so requeues in any order
   * come back oldest first.
   */
  unshiftReady(msg: QueuedMessage): void {
    this.lanes[this.laneOf(msg.priority)]!.ready.insertNearHead(msg, (x) => x.id < msg.id);
    this.readyTotal++;
    this.gauge.add(heldSize(msg));
  }

  /** Removes and returns the head of one lane's in-memory list. */
  takeFrom(lane: number): QueuedMessage | undefined {
    const msg = this.lanes[lane]!.ready.shift();
    if (msg !== undefined) {
      this.readyTotal--;
      this.gauge.sub(heldSize(msg));
    }
    return msg;
  }

  /** Removes and returns the next message in memory: highest priority first, FIFO within. */
  takeReady(): QueuedMessage | undefined {
    for (let p = this.lanes.length - 1; p >= 0; p--) {
      if (this.lanes[p]!.ready.length > 0) return this.takeFrom(p);
    }
    return undefined;
  }

  peekReady(): QueuedMessage | undefined {
    for (let p = this.lanes.length - 1; p >= 0; p--) {
      const m = this.lanes[p]!.ready.peek();
      if (m !== undefined) return m;
    }
    return undefined;
  }

  /** Empties the in-memory ready lanes and returns what they held. */
  clearReady(): QueuedMessage[] {
    const out: QueuedMessage[] = [];
    for (let p = 0; p < this.lanes.length; p++) for (let m = this.takeFrom(p); m !== undefined; m = this.takeFrom(p)) out.push(m);
    return out;
  }

  /** An exclusive consumer holds the queue: nobody else may consume. */
  get exclusiveConsumer(): boolean {
    return this.consumers.length === 1 && this.consumers[0]!.exclusive;
  }

  addConsumer(c: Consumer<C>): void {
    this.consumers.push(c);
    this.hadConsumer = true;
  }

  removeConsumer(c: Consumer<C>): void {
    const i = this.consumers.indexOf(c);
    if (i < 0) return;
    this.consumers.splice(i, 1);
    if (this.rr > i) this.rr--;
  }

  /**
   * The next consumer, in round-robin order, for which `canTake` holds; undefined when none can.
   * Fair: each delivery moves the starting point past the consumer that got it.
   */
  nextConsumer(canTake: (c: Consumer<C>) => boolean): Consumer<C> | undefined {
    const n = this.consumers.length;
    for (let k = 0; k < n; k++) {
      const i = (this.rr + k) % n;
      const c = this.consumers[i]!;
      if (canTake(c)) {
        this.rr = (i + 1) % n;
        return c;
      }
    }
    return undefined;
  }
}
