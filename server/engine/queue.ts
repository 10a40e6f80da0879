// One queue's state: its ready messages (by priority), consumers in round-robin order,
// counters, and the paging state of a deep durable queue whose tail stays on disk.
import type { QueueOptions } from '../../shared/frames.js';
import { Deque } from './deque.js';
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

/** A queue in one virtual host. C is the engine's connection type (exclusive owner, consumers). */
export class Queue<C> {
  /** Ready messages; index = priority (a single lane when the queue has no maxPriority). */
  private readonly lanes: Deque<QueuedMessage>[];
  private readyTotal = 0;
  readonly consumers: Consumer<C>[] = [];
  private rr = 0;

  /** Delivered, not yet settled. */
  unacked = 0;
  /** Held for delayed delivery in the engine's heap. */
  delayed = 0;
  /** Persisted messages on disk only (not in `lanes`): the tail of a deep queue. */
  diskBacklog = 0;
  /** Highest message id taken into memory from the persisted stream (paging cursor). */
  cursor = 0;
  /** Ids above `cursor` already in memory (delayed ones), skipped when paging in. */
  readonly heldAboveCursor = new Set<number>();
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
  ) {
    const levels = (options.maxPriority ?? 0) + 1;
    this.lanes = Array.from({ length: levels }, () => new Deque<QueuedMessage>());
    this.lastUsed = now;
  }

  get durable(): boolean {
    return this.options.durable === true;
  }

  get readyCount(): number {
    return this.readyTotal;
  }

  /** Messages the queue holds in any state (ready in memory or on disk, unacked, delayed, committing). */
  get messageCount(): number {
    return this.readyTotal + this.diskBacklog + this.unacked + this.delayed;
  }

  /** Ready messages counting the on-disk tail: what maxLength limits. */
  get depth(): number {
    return this.readyTotal + this.diskBacklog;
  }

  private laneOf(msg: QueuedMessage): Deque<QueuedMessage> {
    const top = this.lanes.length - 1;
    return this.lanes[msg.priority > top ? top : msg.priority < 0 ? 0 : msg.priority]!;
  }

  /** Appends a ready message. */
  pushReady(msg: QueuedMessage): void {
    this.laneOf(msg).push(msg);
    this.readyTotal++;
  }

  /**
   * Puts a returned message back near the head of its lane, in publish order among the messages
   * requeued before it (RabbitMQ requeues to the original position), so requeues in any order
   * come back oldest first.
   */
  unshiftReady(msg: QueuedMessage): void {
    this.laneOf(msg).insertNearHead(msg, (x) => x.id < msg.id);
    this.readyTotal++;
  }

  /** Removes and returns the next message to deliver: highest priority first, FIFO within. */
  takeReady(): QueuedMessage | undefined {
    for (let p = this.lanes.length - 1; p >= 0; p--) {
      const lane = this.lanes[p]!;
      if (lane.length > 0) {
        this.readyTotal--;
        return lane.shift();
      }
    }
    return undefined;
  }

  peekReady(): QueuedMessage | undefined {
    for (let p = this.lanes.length - 1; p >= 0; p--) {
      const m = this.lanes[p]!.peek();
      if (m !== undefined) return m;
    }
    return undefined;
  }

  /** Empties the in-memory ready list and returns what it held. */
  clearReady(): QueuedMessage[] {
    const out: QueuedMessage[] = [];
    for (const lane of this.lanes) for (let m = lane.shift(); m !== undefined; m = lane.shift()) out.push(m);
    this.readyTotal = 0;
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
