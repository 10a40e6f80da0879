// Group commit: every message write made during one event-loop turn goes to disk in one
// transaction, so durability costs one fsync per turn instead of one per message.
import {
  isEmptyBatch, type BrokerStore, type GroupProgress, type ResultKey, type ScheduleKey, type StoredFire, type StoredGroup,
  type StoredLease, type StoredMessage, type StoredResult, type StoredRevocation, type StoredScheduleEntry, type WriteBatch,
} from './store.js';
import { ChunkBuilder } from './event-chunk.js';

const beatKey = (vhost: string, name: string): string => `${vhost}\u0000${name}`;

/** Called once per insert: null after its transaction committed, or the commit's error. */
export type CommitDone = (err: Error | null) => void;

/** Options of {@link GroupCommit}. */
export interface GroupCommitOptions {
  /** Told of every failed commit (the store's error). Deletes and count updates are retried. */
  onError?: (err: Error) => void;
  /**
   * Inserts after which a commit happens at once rather than at the end of the turn, so no
   * transaction grows long enough to starve the event loop (heartbeats). Default 5,000.
   */
  maxBatchInserts?: number;
  /** Delay before retrying deletes/count updates kept from a failed commit when nothing else is written. Default 100 ms. */
  retryDelayMs?: number;
  /**
   * Longest a commit waits for the acks of inserts made with `awaitAck` (messages already out to
   * a quick consumer), in ms from the first of them. Default 0: never waits.
   */
  ackHoldMs?: number;
}

const DEFAULT_MAX_BATCH_INSERTS = 5000;
const DEFAULT_RETRY_DELAY_MS = 100;
/**
 * Failed commits in a row after which beat writes kept for retry are dropped (and reported): unlike
 * deletes and counts, a bad row could fail every commit, and then nothing else would be written.
 */
const MAX_BEAT_RETRIES = 5;
/**
 * An fsync covering at most this many callbacks runs on the event loop (measured on the project's
 * machine: ~0.2 ms, against ~0.45 ms handed to the fsync thread and back). One task at a time
 * waits for it; under load commits hold more and go to the thread, so the loop keeps working.
 */
const INLINE_SYNC_MAX_CALLBACKS = 4;

/** What the group commit needs of a store: batches, and the async sync when commits need one. */
export type CommitTarget = Pick<BrokerStore, 'applyBatch'> & Partial<Pick<BrokerStore, 'needsSync' | 'sync' | 'syncNow'>>;

/**
 * Batches message writes into one `store.applyBatch` per event-loop turn: the first write of a
 * turn schedules the commit with setImmediate.
 *
 * Invariants:
 * - Callbacks run in commit order, and only after the transaction they belong to committed
 *   (or failed). They never run inside `insert()`: a commit forced by the batch bound leaves
 *   its callbacks to the end-of-turn drain, which runs them before those of later commits.
 * - A failed commit's inserts are not retried (their callbacks get the error); its deletes
 *   and count updates are kept and go out with the next commit, so an ack is never lost.
 * - An insert deleted before its commit is never written, and its callback still gets null.
 * - Event log and index writes of a failed commit are dropped, not retried (their callbacks get
 *   the error): the history is a record of what happened, not something a client waits on.
 */
export class GroupCommit {
  private readonly store: CommitTarget;
  private readonly onError: ((err: Error) => void) | undefined;
  private readonly maxBatchInserts: number;
  private readonly retryDelayMs: number;
  private readonly ackHoldMs: number;

  /** Pending inserts in arrival order; a slot becomes null when its message is deleted before commit. */
  private inserts: (StoredMessage | null)[] = [];
  private dones: CommitDone[] = [];
  /** Message id -> index in `inserts`, to cancel an insert deleted in the same batch. */
  private insertIndex = new Map<number, number>();
  private liveInserts = 0;
  /** Pending inserts made with `awaitAck` not yet acked: the commit may wait for them until `holdUntil`. */
  private awaited = new Set<number>();
  /** performance.now() past which the commit no longer waits for `awaited` acks. */
  private holdUntil = 0;
  private holdTimer: NodeJS.Timeout | undefined;
  private counts = new Map<number, number>();
  private deletes = new Set<number>();
  /** Result writes of this turn, keyed vhost + task id: the last write of a turn wins. */
  private tracks: StoredResult[] = [];
  private results = new Map<string, StoredResult>();
  private resultDones: CommitDone[] = [];
  private resultDeletes = new Map<string, ResultKey>();
  /** Task control writes of this turn: revocations, declared groups, group counters (last wins). */
  private revocations: StoredRevocation[] = [];
  private groups: StoredGroup[] = [];
  private groupProgress = new Map<string, GroupProgress>();
  /** Beat writes of this turn: whole entry and lease rows (last wins per key), removals, fires. */
  private scheduleEntries = new Map<string, StoredScheduleEntry>();
  private scheduleDeletes = new Map<string, ScheduleKey>();
  private leases = new Map<string, StoredLease>();
  private fires: StoredFire[] = [];
  /** Failed commits in a row that held beat writes. */
  private beatFailures = 0;
  /** Events appended this turn. */
  /** The turn's events, copied into a chunk as they come (no object per event). */
  private readonly events = new ChunkBuilder();

  /** Callbacks of committed (or failed) batches not yet run, in commit order. */
  private ready: { done: CommitDone; err: Error | null }[] = [];
  /** Committed, waiting for the next fsync before their callbacks may run ('full' durability). */
  private unsynced: { done: CommitDone; err: Error | null }[] = [];
  /**
   * Set by the first failed fsync. After it, no commit is ever reported durable again: the kernel
   * may have dropped the failed pages, and WAL recovery stops at the first bad frame, so even a
   * later fsync that succeeds would not make later commits safe. A restart recovers what is there.
   */
  private syncFailure: Error | null = null;
  /** The batch an fsync in flight covers; null when none runs. */
  private syncing: { done: CommitDone; err: Error | null }[] | null = null;
  private draining = false;
  private turnScheduled = false;
  /**
   * Set when a turn's commit was put off because an fsync was in flight (see scheduleTurn): the
   * fsync's end commits. Nothing waits longer for it — those writes could not be confirmed before
   * the next fsync anyway — and a message acked meanwhile cancels its insert and never touches
   * the disk, as RabbitMQ skips writing messages consumed before they are persisted.
   */
  private commitAfterSync = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Depth of atomically() calls in progress. */
  private holds = 0;

  constructor(store: CommitTarget, options: GroupCommitOptions = {}) {
    this.store = store;
    this.onError = options.onError;
    this.maxBatchInserts = options.maxBatchInserts ?? DEFAULT_MAX_BATCH_INSERTS;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.ackHoldMs = options.ackHoldMs ?? 0;
  }

  /**
   * Runs `fn` so that every write it makes lands in the same transaction (the batch bound waits
   * until it returns). A worker's finish uses it: ack, result and follow-up publishes together.
   */
  atomically(fn: () => void): void {
    this.holds++;
    try {
      fn();
    } finally {
      this.holds--;
      if (this.holds === 0 && this.liveInserts >= this.maxBatchInserts) this.commit();
    }
  }

  /** Writes still waiting for a commit: inserts, count updates and deletes. */
  get pendingCount(): number {
    return this.liveInserts + this.counts.size + this.deletes.size + this.tracks.length + this.results.size + this.resultDeletes.size
      + this.revocations.length + this.groups.length + this.groupProgress.size
      + this.scheduleEntries.size + this.scheduleDeletes.size + this.leases.size + this.fires.length
      + this.events.count;
  }

  /** Appends an event to the event log (ids must grow from one call to the next). Bounded per transaction as inserts are. */
  putEvent(id: number, vhost: string, type: string, routingKey: string, at: number, body: Uint8Array): void {
    this.assertOpen();
    this.events.append(id, vhost, type, routingKey, at, body);
    this.scheduleTurn();
    if (this.events.count >= this.maxBatchInserts && this.holds === 0) this.commit();
  }

  /** Writes a schedule entry whole (created, changed, fired or advanced); the last write of a turn wins. */
  putScheduleEntry(rec: StoredScheduleEntry): void {
    this.assertOpen();
    this.scheduleEntries.set(beatKey(rec.vhost, rec.name), rec);
    this.scheduleTurn();
  }

  /** Removes a schedule entry and its fire log (fires of it recorded earlier in the turn are dropped). */
  deleteScheduleEntry(k: ScheduleKey): void {
    this.assertOpen();
    const key = beatKey(k.vhost, k.name);
    this.scheduleEntries.delete(key);
    this.scheduleDeletes.set(key, k);
    this.fires = this.fires.filter((f) => f.vhost !== k.vhost || f.entry !== k.name);
    this.scheduleTurn();
  }

  /** Writes a lease whole; the last write of a turn wins. */
  putLease(rec: StoredLease): void {
    this.assertOpen();
    this.leases.set(beatKey(rec.vhost, rec.name), rec);
    this.scheduleTurn();
  }

  /** Records a fire of a schedule entry (with the entry's new state and its task message). */
  putFire(rec: StoredFire): void {
    this.add(this.fires, rec);
  }

  /** Remembers a revoked task id (with the turn's other writes). */
  putRevocation(rec: StoredRevocation): void {
    this.add(this.revocations, rec);
  }

  /** Stores a newly declared group. */
  putGroup(rec: StoredGroup): void {
    this.add(this.groups, rec);
  }

  /** Writes a group's counter and fired flag; the last write of a turn per group wins. */
  putGroupProgress(p: GroupProgress): void {
    this.assertOpen();
    this.groupProgress.set(`${p.vhost}\u0000${p.groupId}`, p);
    this.scheduleTurn();
  }

  /**
   * Runs `done` once everything written so far is committed (and durable, as inserts), or with
   * the commit's error: the reply of a request whose writes have no callback of their own.
   */
  afterCommit(done: CommitDone): void {
    this.add(this.resultDones, done);
  }

  /** Registers a published task's PENDING row (kept only where no row exists), with the publish. */
  track(rec: StoredResult): void {
    this.add(this.tracks, rec);
  }

  /** Stores a result; `done` runs once it is committed (and durable, as inserts). */
  putResult(rec: StoredResult, done: CommitDone): void {
    this.assertOpen();
    const key = `${rec.vhost}\u0000${rec.taskId}`;
    this.resultDeletes.delete(key);
    this.results.set(key, rec);
    this.resultDones.push(done);
    this.scheduleTurn();
  }

  /** Forgets a result (after anything stored for it earlier in the turn). */
  deleteResult(k: ResultKey): void {
    this.assertOpen();
    const key = `${k.vhost}\u0000${k.taskId}`;
    this.results.delete(key);
    this.resultDeletes.set(key, k);
    this.scheduleTurn();
  }

  /**
   * Queues a message row; `done` runs once the commit that holds it is over. Throws after close().
   * `awaitAck`: the message is already out to a consumer that usually acks within `ackHoldMs`;
   * the commit may wait that long for the ack, which cancels the insert.
   */
  insert(msg: StoredMessage, done: CommitDone, awaitAck = false): void {
    this.assertOpen();
    // Settled before its insert (a noAck delivery): nothing to write, nothing to delete.
    if (this.deletes.delete(msg.id)) {
      this.inserts.push(null);
      this.dones.push(done);
      this.scheduleTurn();
      return;
    }
    if (awaitAck && this.ackHoldMs > 0) {
      if (this.awaited.size === 0) this.holdUntil = performance.now() + this.ackHoldMs;
      this.awaited.add(msg.id);
    }
    this.insertIndex.set(msg.id, this.inserts.length);
    this.inserts.push(msg);
    this.dones.push(done);
    this.liveInserts++;
    this.scheduleTurn();
    // Bound the transaction; callbacks wait for the end-of-turn drain (see invariants). Never
    // inside atomically(): what it groups must land in one transaction.
    if (this.liveInserts >= this.maxBatchInserts && this.holds === 0) this.commit();
  }

  /** Queues a delivery-count change of a stored message (last change of a turn wins). */
  updateCount(id: number, deliveryCount: number): void {
    this.assertOpen();
    if (this.deletes.has(id)) return;
    this.counts.set(id, deliveryCount);
    this.scheduleTurn();
  }

  /** Queues the removal of a message; an insert of it still pending is cancelled instead. */
  delete(id: number): void {
    this.assertOpen();
    this.counts.delete(id);
    this.awaited.delete(id);
    const index = this.insertIndex.get(id);
    if (index !== undefined) {
      this.insertIndex.delete(id);
      this.inserts[index] = null;
      this.liveInserts--;
    } else {
      this.deletes.add(id);
    }
    this.scheduleTurn();
  }

  /**
   * Commits everything pending now, synchronously, and runs the callbacks of every commit so
   * far. Called before topology changes (so a queue's rows are on disk before it is deleted)
   * and at close. Called from inside a callback, it commits at once and its callbacks run
   * right after the ones already waiting, keeping commit order.
   */
  flush(): void {
    this.commit();
    this.drain();
  }

  /** Flushes (with a blocking fsync when commits need one), then stops; later writes throw. Idempotent. */
  close(): void {
    if (this.closed) return;
    try {
      this.flush();
      if (this.syncing !== null || this.unsynced.length > 0) {
        const failure = this.syncFailure;
        if (failure === null) this.store.syncNow?.();
        const waiting = [...(this.syncing ?? []), ...this.unsynced];
        this.syncing = null; // the fsync in flight may still call back: it finds nothing to release
        this.unsynced = [];
        for (const entry of waiting) this.ready.push(failure === null || entry.err !== null ? entry : { done: entry.done, err: failure });
        this.drain();
      }
    } finally {
      this.closed = true;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('GroupCommit is closed');
  }

  /** Appends a write (or a callback) to one of this turn's lists. */
  private add<T>(list: T[], item: T): void {
    this.assertOpen();
    list.push(item);
    this.scheduleTurn();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    // Two hops: the sessions' outboxes also flush with setImmediate, and one registered later in
    // this turn would otherwise wait behind the fsync. Deliveries and replies leave first.
    setImmediate(() => setImmediate(() => {
      this.turnScheduled = false;
      if (!this.closed) this.commitWhenDue();
    }));
  }

  /**
   * The end-of-turn commit, unless it may wait: for the fsync in flight (its end commits), or for
   * the acks of messages just delivered, up to `holdUntil` (the last ack or a timer commits).
   */
  private commitWhenDue(): void {
    if (this.syncing !== null && this.store.needsSync === true) {
      this.commitAfterSync = true;
      return;
    }
    if (this.waitingForAcks()) return;
    try {
      this.flush();
    } catch (err) {
      // A callback threw (the others still ran): report it; a timer must not kill the broker.
      this.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** True while the commit waits for acks of `awaited` inserts; arms the timer that ends the wait. */
  private waitingForAcks(): boolean {
    if (this.awaited.size === 0) return false;
    const left = this.holdUntil - performance.now();
    if (left <= 0) return false;
    this.holdTimer ??= setTimeout(() => {
      this.holdTimer = undefined;
      if (!this.closed) this.commitWhenDue();
    }, Math.ceil(left));
    return true;
  }

  /** Takes everything pending into one applyBatch; queues the callbacks, does not run them. */
  private commit(): void {
    this.commitAfterSync = false;
    this.awaited.clear();
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    // Cancelled inserts still have callbacks to run, so they count as work here.
    if (this.pendingCount === 0 && this.inserts.length === 0 && this.resultDones.length === 0) return;
    const slots = this.inserts;
    const dones = [...this.dones, ...this.resultDones];
    const counts = this.counts;
    const deletes = this.deletes;
    const resultDeletes = this.resultDeletes;
    this.inserts = [];
    this.dones = [];
    this.resultDones = [];
    this.insertIndex = new Map();
    this.liveInserts = 0;
    this.counts = new Map();
    this.deletes = new Set();

    const batch: WriteBatch = {
      inserts: [], counts: [], deletes: [...deletes],
      // A PENDING row whose task's result is in the same batch would be replaced at once: one write.
      tracks: this.results.size === 0 ? this.tracks : this.tracks.filter((t) => !this.results.has(`${t.vhost}\u0000${t.taskId}`)),
      results: [...this.results.values()], resultDeletes: [...resultDeletes.values()],
      revocations: this.revocations, groups: this.groups, groupProgress: [...this.groupProgress.values()],
      scheduleDeletes: [...this.scheduleDeletes.values()], scheduleEntries: [...this.scheduleEntries.values()],
      leases: [...this.leases.values()], fires: this.fires,
      events: this.events.take(),
    };
    this.tracks = [];
    this.results = new Map();
    this.resultDeletes = new Map();
    this.revocations = [];
    this.groups = [];
    this.groupProgress = new Map();
    this.scheduleEntries = new Map();
    this.scheduleDeletes = new Map();
    this.leases = new Map();
    this.fires = [];
    for (const m of slots) if (m !== null) batch.inserts.push(m);
    for (const [id, deliveryCount] of counts) batch.counts.push({ id, deliveryCount });

    let failure: Error | null = null;
    if (!isEmptyBatch(batch)) {
      try {
        this.store.applyBatch(batch);
        this.beatFailures = 0;
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
      }
    }

    const target = this.store.needsSync === true ? this.unsynced : this.ready;
    for (let i = 0; i < dones.length; i++) {
      // A cancelled insert (deleted before commit) needed no write: it succeeded either way.
      const err = i < slots.length && slots[i] === null ? null : failure;
      target.push({ done: dones[i] as CommitDone, err });
    }
    if (target === this.unsynced) this.startSync();

    if (failure) {
      for (const [key, k] of resultDeletes) if (!this.results.has(key)) this.resultDeletes.set(key, k);
      this.keepBeatForRetry(batch);
      this.keepForRetry(counts, deletes);
      this.onError?.(failure);
    }
  }

  /**
   * Starts an fsync covering every commit so far, unless one runs: then the next starts when it
   * ends, covering everything committed meanwhile. Callbacks are released in commit order.
   */
  private startSync(): void {
    if (this.syncing !== null || this.unsynced.length === 0 || this.store.sync === undefined) return;
    const batch = this.unsynced;
    this.unsynced = [];
    this.syncing = batch;
    this.store.sync((fsyncErr) => {
      if (this.syncing !== batch) return; // close() released it already
      this.syncing = null;
      if (fsyncErr !== null && this.syncFailure === null) {
        this.syncFailure = new Error(`fsync failed (${fsyncErr.message}); nothing is confirmed until the broker restarts`, { cause: fsyncErr });
        this.onError?.(this.syncFailure);
      }
      const err = this.syncFailure;
      for (const entry of batch) this.ready.push(err === null || entry.err !== null ? entry : { done: entry.done, err });
      try {
        // The writes put off while this fsync ran: committed now (their own fsync starts at once),
        // unless they wait for acks, whose timer then commits.
        if (this.commitAfterSync && !this.closed && !this.waitingForAcks()) this.commit();
        this.drain();
      } finally {
        this.startSync();
      }
    }, batch.length <= INLINE_SYNC_MAX_CALLBACKS);
  }

  /**
   * Puts a failed commit's beat writes back (nothing newer can exist yet: the commit runs within
   * one synchronous step). The engine keeps them in memory (a fire's message may be out already,
   * a lease epoch was handed out), so the disk must catch up, or a restart would bring back a
   * removed entry or hand an epoch out twice. Whole rows and ignored repeats: always safe to redo.
   */
  private keepBeatForRetry(batch: WriteBatch): void {
    const writes = (batch.scheduleDeletes?.length ?? 0) + (batch.scheduleEntries?.length ?? 0) + (batch.leases?.length ?? 0) + (batch.fires?.length ?? 0);
    if (writes === 0) return;
    if (++this.beatFailures >= MAX_BEAT_RETRIES) {
      this.beatFailures = 0;
      this.onError?.(new Error(`${writes} beat writes dropped after ${MAX_BEAT_RETRIES} failed commits; the broker's memory keeps them until it restarts`));
      return;
    }
    for (const k of batch.scheduleDeletes ?? []) this.scheduleDeletes.set(beatKey(k.vhost, k.name), k);
    for (const e of batch.scheduleEntries ?? []) this.scheduleEntries.set(beatKey(e.vhost, e.name), e);
    for (const l of batch.leases ?? []) this.leases.set(beatKey(l.vhost, l.name), l);
    this.fires = [...(batch.fires ?? [])];
  }

  /** Puts a failed commit's count updates and deletes back, under anything newer. */
  private keepForRetry(counts: Map<number, number>, deletes: Set<number>): void {
    for (const id of deletes) {
      this.deletes.add(id);
      this.counts.delete(id);
    }
    for (const [id, deliveryCount] of counts) {
      if (!this.counts.has(id) && !this.deletes.has(id)) this.counts.set(id, deliveryCount);
    }
    if (this.closed || this.retryTimer) return;
    // A timer, not setImmediate: if the disk keeps failing, retrying every turn would spin.
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed) this.flush();
    }, this.retryDelayMs);
  }

  /** Runs waiting callbacks in commit order; a nested call (from a callback) leaves it to the outer loop. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    let thrown: unknown;
    let threw = false;
    try {
      // An index, not shift(): a turn can hold thousands of callbacks, and nested commits append.
      for (let i = 0; i < this.ready.length; i++) {
        const { done, err } = this.ready[i] as { done: CommitDone; err: Error | null };
        try {
          done(err);
        } catch (e) {
          // Finish the other callbacks first: each is some publisher's confirm.
          if (!threw) {
            threw = true;
            thrown = e;
          }
        }
      }
    } finally {
      this.ready = [];
      this.draining = false;
    }
    if (threw) throw thrown;
  }
}
