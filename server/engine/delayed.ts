// Messages held for delayed delivery: the soonest in a heap in memory, the later ones of a durable
// queue with a deep delayed backlog on disk in due-time order, paged in as time passes; one timer.
import type { BrokerStore } from '../store/store.js';
import type { Conn } from './connection.js';
import { DelayHeap } from './delay-heap.js';
import { heldSize, type MemoryGauge } from './memory-gauge.js';
import { fromStoredRow, type QueuedMessage } from './message.js';
import type { DueMessage, Queue } from './queue.js';

/** Counters of paging, shared with the ready lanes' paging (message-flow.ts). */
export interface PagingStats {
  /** Persisted messages that went to disk only (a lane's tail, or delayed past the horizon). */
  pagedOut: number;
  /** Messages read back from disk into memory (recovery included). */
  pagedIn: number;
}

export interface DelayedOptions {
  store: BrokerStore;
  /** Commits pending writes: a page read must see the rows of this turn. */
  flush(): void;
  now(): number;
  gauge: MemoryGauge;
  /** Persisted delayed messages a queue keeps in memory; later-due ones stay on disk. */
  threshold: number;
  /** Rows read per page. */
  pageSize: number;
  stats: PagingStats;
  /** Told of every message taken into memory (revocations must outlive its due time). */
  held(queue: Queue<Conn>, msg: QueuedMessage): void;
  /** A held message is due: file it as ready. */
  release(queue: Queue<Conn>, msg: QueuedMessage): void;
  /** After a release round, each queue that got messages, once. */
  released(queues: ReadonlySet<Queue<Conn>>): void;
  log(level: 'error', msg: string): void;
}

interface Held extends DueMessage {
  queue: Queue<Conn>;
}

/** Longest delay setTimeout accepts. */
const MAX_TIMER = 2 ** 31 - 1;

/** (readyAt, id) order: true when a comes after b. */
function later(a: { readyAt: number; id: number }, b: { readyAt: number; id: number }): boolean {
  return a.readyAt > b.readyAt || (a.readyAt === b.readyAt && a.id > b.id);
}

/**
 * The delayed messages of every queue. Invariant per queue: the persisted ones due at or before
 * queue.delayHorizon are in the heap, the later ones on disk only; so the heap's earliest is the
 * earliest overall as long as a queue with rows on disk keeps some in the heap (`refill`).
 */
export class DelayedMessages {
  private readonly heap = new DelayHeap<Held>();
  /** Queues with due messages waiting for room (queue.due). */
  private readonly waiting = new Set<Queue<Conn>>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;

  constructor(private readonly o: DelayedOptions) {}

  /**
   * Holds a message until its readyAt. A persisted one due after everything its queue keeps in
   * memory, once the queue keeps its threshold, stays on disk (its row is being written); returns
   * true then.
   */
  hold(queue: Queue<Conn>, msg: QueuedMessage): boolean {
    queue.delayed++;
    this.o.held(queue, msg);
    const pageable = msg.persisted && queue.id !== 0;
    if (pageable) {
      const key = { readyAt: msg.readyAt, id: msg.id };
      if (later(key, queue.delayHorizon)) {
        if (queue.delayedOnDisk > 0 || queue.delayedInMemory >= this.o.threshold) {
          queue.delayedOnDisk++;
          if (msg.readyAt > queue.delayedDiskMaxAt) queue.delayedDiskMaxAt = msg.readyAt;
          this.o.stats.pagedOut++;
          return true;
        }
        queue.delayHorizon = key;
      }
      queue.delayedInMemory++;
    }
    this.push(queue, msg, pageable);
    // Messages due before the horizon keep coming (shorter delays than earlier ones): trim.
    if (queue.delayedInMemory > 2 * this.o.threshold) this.shrink(queue);
    this.arm();
    return false;
  }

  /** A message sent to disk by `hold` whose row could not be written: it is not held at all. */
  forgetOnDisk(queue: Queue<Conn>): void {
    if (queue.delayedOnDisk > 0) queue.delayedOnDisk--;
    if (queue.delayed > 0) queue.delayed--;
  }

  /** Start-up: the queue's delayed rows are all on disk; the soonest are read in. */
  recover(queue: Queue<Conn>, count: number, maxReadyAt: number): void {
    queue.delayed += count;
    queue.delayedOnDisk += count;
    queue.delayedDiskMaxAt = Math.max(queue.delayedDiskMaxAt, maxReadyAt);
    this.refill(queue);
    this.arm();
  }

  /** Calls `fn` for every held message in memory, in no particular order. */
  forEachInMemory(fn: (queue: Queue<Conn>, msg: QueuedMessage) => void): void {
    this.heap.forEach((_readyAt, h) => fn(h.queue, h.msg));
    for (const q of this.waiting) {
      for (let i = 0, n = q.due.length; i < n; i++) {
        const d = q.due.shift()!;
        fn(q, d.msg);
        q.due.push(d);
      }
    }
  }

  /** True when a due message of this queue must wait for room (its durable queue's lanes are full). */
  mustWait(queue: Queue<Conn>): boolean {
    return queue.id !== 0 && (queue.due.length > 0 || queue.readyCount >= this.o.threshold);
  }

  /** Releases due messages waiting for room while the queue's ready lanes are under the threshold. */
  releaseWaiting(queue: Queue<Conn>): void {
    if (queue.due.length === 0) return;
    while (queue.due.length > 0 && queue.readyCount < this.o.threshold) {
      const d = queue.due.shift()!;
      this.forget(queue, d);
      this.o.release(queue, d.msg);
    }
    if (queue.due.length === 0) this.waiting.delete(queue);
    this.refill(queue);
    this.arm();
  }

  /** Drops every held message of a queue (being deleted; the store drops its rows); returns how many. */
  dropQueue(queue: Queue<Conn>): number {
    for (const h of this.heap.removeWhere((h) => h.queue === queue)) this.o.gauge.sub(heldSize(h.msg));
    for (let d = queue.due.shift(); d !== undefined; d = queue.due.shift()) this.o.gauge.sub(heldSize(d.msg));
    this.waiting.delete(queue);
    const n = queue.delayed;
    queue.delayed = 0;
    queue.delayedInMemory = 0;
    queue.delayedOnDisk = 0;
    return n;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  /** A held message leaves the delayed state (released or dropped). */
  private forget(queue: Queue<Conn>, d: DueMessage): void {
    this.o.gauge.sub(heldSize(d.msg));
    queue.delayed--;
    if (d.paged) queue.delayedInMemory--;
  }

  private push(queue: Queue<Conn>, msg: QueuedMessage, paged: boolean): void {
    this.heap.push(msg.readyAt, { queue, msg, paged });
    this.o.gauge.add(heldSize(msg));
  }

  /** Keeps the `threshold` soonest persisted messages of the queue in memory; the rest are on disk already. */
  private shrink(queue: Queue<Conn>): void {
    const mine: QueuedMessage[] = [];
    this.heap.forEach((_at, h) => { if (h.queue === queue && h.paged) mine.push(h.msg); });
    mine.sort((a, b) => a.readyAt - b.readyAt || a.id - b.id);
    const keep = Math.max(1, this.o.threshold);
    if (mine.length <= keep) return;
    const out = new Set(mine.slice(keep));
    this.o.flush(); // their rows must be committed before anything reads past the new horizon
    for (const h of this.heap.removeWhere((h) => h.queue === queue && out.has(h.msg))) {
      this.o.gauge.sub(heldSize(h.msg));
      if (h.msg.readyAt > queue.delayedDiskMaxAt) queue.delayedDiskMaxAt = h.msg.readyAt;
    }
    const last = mine[keep - 1]!;
    queue.delayHorizon = { readyAt: last.readyAt, id: last.id };
    queue.delayedInMemory -= out.size;
    queue.delayedOnDisk += out.size;
    this.o.stats.pagedOut += out.size;
  }

  /** Reads the queue's next rows in due order while it keeps less than half its threshold in memory. */
  private refill(queue: Queue<Conn>): void {
    while (queue.delayedOnDisk > 0 && queue.id !== 0 && !queue.deleted && queue.delayedInMemory * 2 <= this.o.threshold) {
      this.o.flush();
      const rows = this.o.store.loadDelayed(queue.id, queue.delayHorizon, this.o.pageSize);
      if (rows.length === 0) {
        // Rows whose commit failed: they were never confirmed, and are not held.
        queue.delayed -= queue.delayedOnDisk;
        queue.delayedOnDisk = 0;
        return;
      }
      for (const row of rows) {
        queue.delayHorizon = { readyAt: row.readyAt, id: row.id };
        const msg = fromStoredRow(row, row.id <= queue.recoveredMaxId);
        queue.delayedInMemory++;
        this.o.held(queue, msg);
        this.push(queue, msg, true);
      }
      queue.delayedOnDisk -= rows.length;
      this.o.stats.pagedIn += rows.length;
      if (queue.delayedOnDisk < 0) {
        queue.delayed -= queue.delayedOnDisk; // more rows than counted: they are held now
        queue.delayedOnDisk = 0;
      }
    }
  }

  private arm(): void {
    const at = this.heap.nextAt();
    if (at >= this.timerAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    // setTimeout takes at most 2^31-1 ms (24.8 days); longer delays re-arm when that fires.
    this.timer = setTimeout(() => {
      try {
        this.releaseDue();
      } catch (err) {
        this.o.log('error', `releasing delayed messages failed: ${(err as Error).message}`);
        this.arm();
      }
    }, Math.min(MAX_TIMER, Math.max(0, at - this.o.now())));
  }

  /** Moves due messages into their queues, then refills from disk before re-arming the timer. */
  private releaseDue(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const touched = new Set<Queue<Conn>>();
    for (const h of this.heap.popDue(this.o.now())) {
      const { queue, msg } = h;
      if (queue.deleted) {
        this.forget(queue, h);
        continue;
      }
      touched.add(queue);
      // A durable queue whose lanes hold their threshold: the message waits in memory, counted
      // as held, so paging in from disk stops until the lanes drain (releaseWaiting).
      if (this.mustWait(queue)) {
        queue.due.push({ msg, paged: h.paged });
        this.waiting.add(queue);
        continue;
      }
      this.forget(queue, h);
      this.o.release(queue, msg);
    }
    // Rows paged in now may be due already: the timer (0 ms) takes them in the next round.
    for (const q of touched) this.refill(q);
    this.o.released(touched);
    this.arm();
  }
}
