// The result store's live side: task results stored through the group commit, read through
// the store, and pushed to waiting clients the moment a final state is stored (no polling).
import { fail } from '../../shared/errors.js';
import type { ResultRecord, ResultStoreOptions, TrackOptions } from '../../shared/frames.js';
import { READY_STATES, isTaskState, type TaskState } from '../../shared/task-states.js';
import type { BrokerStore, StoredResult } from '../store/store.js';
import type { CommitWriter } from './message-flow.js';

/** Longest a single wait may last; a client waiting longer asks again. */
export const MAX_RESULT_WAIT = 5 * 60 * 1000;

/** A pending wait: answered once, by a final state or by its timer. */
interface Waiter {
  reply: (rec: ResultRecord | null) => void;
  timer: NodeJS.Timeout;
}

/** Cancels a wait (its connection closed). */
export type CancelWait = () => void;

const keyOf = (vhost: string, taskId: string): string => `${vhost}\u0000${taskId}`;

function toRecord(r: StoredResult): ResultRecord {
  const rec: ResultRecord = { taskId: r.taskId, state: r.state };
  if (r.body !== null) rec.body = r.body;
  if (r.contentType !== null) rec.contentType = r.contentType;
  if (r.dateDone !== 0) rec.dateDone = r.dateDone;
  if (r.expiresAt !== 0) rec.expiresAt = r.expiresAt;
  return rec;
}

/** Throws ERR_INVALID_ARGUMENT unless `taskId` is a string of 1 to 255 bytes. */
export function checkTaskId(taskId: unknown): asserts taskId is string {
  if (typeof taskId !== 'string' || taskId === '' || (taskId.length > 255 && Buffer.byteLength(taskId) > 255)) {
    throw fail('ERR_INVALID_ARGUMENT', 'a task id must be a string of 1 to 255 bytes');
  }
}

/** Checks a publish's track option (before anything is written). */
export function checkTrack(t: TrackOptions): void {
  if (t === null || typeof t !== 'object') throw fail('ERR_INVALID_ARGUMENT', "publish 'track' must be a map { taskId, expires? }");
  checkTaskId(t.taskId);
  const expires = t.expires;
  if (expires !== undefined && expires !== null && (typeof expires !== 'number' || !Number.isInteger(expires) || expires < 0)) {
    throw fail('ERR_INVALID_ARGUMENT', "track 'expires' must be a non-negative integer (ms)");
  }
  for (const key of ['wait', 'waitTimeout'] as const) {
    const v = t[key];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)) {
      throw fail('ERR_INVALID_ARGUMENT', `track '${key}' must be a non-negative integer`);
    }
  }
}

function checkOptions(options: ResultStoreOptions): void {
  if (options === null || typeof options !== 'object') throw fail('ERR_INVALID_ARGUMENT', 'result options must be a map');
  const expires = options.expires;
  if (expires !== undefined && (typeof expires !== 'number' || !Number.isInteger(expires) || expires < 0)) {
    throw fail('ERR_INVALID_ARGUMENT', "result option 'expires' must be a non-negative integer (ms)");
  }
  if (options.contentType !== undefined && typeof options.contentType !== 'string') throw fail('ERR_INVALID_ARGUMENT', "result option 'contentType' must be a string");
}

/** Told when a task's result becomes final for the first time (group counting, groups.ts). */
export interface FinalResultHook {
  /** Cheap: whether anything counts this task; only then is its previous state read. */
  counts(vhost: string, taskId: string): boolean;
  /** Runs right after the final result is written, so its writes join the same transaction. */
  becameFinal(vhost: string, taskId: string): void;
}

export class ResultBackend {
  /** Set by the engine once its groups exist. */
  finalHook: FinalResultHook | null = null;
  private readonly waiters = new Map<string, Set<Waiter>>();
  /** Stored but not yet committed: reads see them at once. */
  private readonly uncommitted = new Map<string, StoredResult>();
  /**
   * PENDING rows of tracked publishes not yet committed, read when nothing is stored: a transient
   * message is confirmed before its commit, and the wait its publish registers must find the id.
   */
  private readonly tracking = new Map<string, StoredResult>();

  constructor(
    private readonly store: BrokerStore,
    private readonly writer: CommitWriter,
    private readonly now: () => number,
  ) {}

  /** Registers a published task as PENDING (only where nothing is stored for it yet). */
  track(vhost: string, t: TrackOptions): void {
    checkTrack(t);
    const expires = t.expires ?? undefined;
    const rec: StoredResult = {
      vhost, taskId: t.taskId, state: 'PENDING', body: null, contentType: null, dateDone: 0,
      expiresAt: expires === undefined ? 0 : this.now() + expires,
    };
    this.writer.track(rec);
    const key = keyOf(vhost, t.taskId);
    this.tracking.set(key, rec);
    this.writer.afterCommit(() => {
      if (this.tracking.get(key) === rec) this.tracking.delete(key);
    });
  }

  /** Throws ERR_INVALID_ARGUMENT when a store would be refused. */
  check(taskId: string, state: string, options: ResultStoreOptions): void {
    checkTaskId(taskId);
    if (!isTaskState(state)) throw fail('ERR_INVALID_ARGUMENT', `unknown task state '${state}'`, { state });
    checkOptions(options);
  }

  /** Stores a state and result; `done` runs after the commit; clients waiting hear of a final state at once. */
  put(vhost: string, taskId: string, state: string, body: Uint8Array | undefined, options: ResultStoreOptions, done: (err: Error | null) => void): void {
    this.check(taskId, state, options);
    const expires = options.expires;
    const now = this.now();
    const rec: StoredResult = {
      vhost, taskId, state, body: body ?? null, contentType: options.contentType ?? null, dateDone: now,
      expiresAt: expires === undefined ? 0 : now + expires,
    };
    const key = keyOf(vhost, taskId);
    const final = READY_STATES.has(state as TaskState);
    // A final result is never replaced by a non-final state: a STARTED or RETRY that arrives late
    // (re-sent after a reconnect, or from a worker that lost the race with a revoke) is dropped.
    if (!final && this.isFinal(vhost, taskId)) {
      this.writer.afterCommit((err) => done(err));
      return;
    }
    // Read before the write: a member stored final twice counts once.
    const hook = this.finalHook;
    const counted = final && hook !== null && hook.counts(vhost, taskId) && !this.isFinal(vhost, taskId);
    this.uncommitted.set(key, rec);
    // The clients already waiting are pushed a final result now, not after its fsync, as RabbitMQ
    // delivers a persistent message before it is on disk: a push is a delivery, not a confirm.
    // Should the broker die before the result is durable, the worker's ack goes with it (they
    // commit together), so the task runs again and its result comes back; with acks early the
    // task was at-most-once already. Reads, and waits that come later, still see only durable
    // results (read(), and notify() again below).
    if (final) this.notify(key, toRecord(rec));
    this.writer.putResult(rec, (err) => {
      if (this.uncommitted.get(key) === rec) this.uncommitted.delete(key);
      if (err === null && final) this.notify(key, toRecord(rec));
      done(err);
    });
    // After the result's write: a commit forced inside the hook (a page-in) then holds both.
    if (counted) hook.becameFinal(vhost, taskId);
  }

  /** Whether the task's stored result is in a final state. */
  isFinal(vhost: string, taskId: string): boolean {
    const rec = this.get(vhost, taskId);
    return rec !== null && READY_STATES.has(rec.state as TaskState);
  }

  /**
   * What a client may read (resultGet, resultWait): as get(), except that a final result still in
   * the group commit is not shown — a client must never act on a result a crash could still lose —
   * so the reader sees the stored row (the state before it, or the result itself once committed:
   * the WAL survives a crash of the broker process), or the tracked PENDING. A wait registered
   * before the final result was stored is answered when it is stored (put()); one registered
   * while it is in flight, after its fsync.
   */
  read(vhost: string, taskId: string): ResultRecord | null {
    checkTaskId(taskId);
    const key = keyOf(vhost, taskId);
    const pending = this.finalInFlight(key) ? undefined : this.uncommitted.get(key);
    return this.visible(pending ?? this.stored(key, vhost, taskId));
  }

  /** Whether a final result of the task is stored but not yet durable (its callback has not run). */
  private finalInFlight(key: string): boolean {
    const rec = this.uncommitted.get(key);
    return rec !== undefined && READY_STATES.has(rec.state as TaskState);
  }

  /** The latest state, writes not yet durable included: what the engine itself decides on. */
  get(vhost: string, taskId: string): ResultRecord | null {
    checkTaskId(taskId);
    const key = keyOf(vhost, taskId);
    return this.visible(this.uncommitted.get(key) ?? this.stored(key, vhost, taskId));
  }

  /** The committed row, or the tracked PENDING whose commit is still to come. */
  private stored(key: string, vhost: string, taskId: string): StoredResult | null {
    return this.store.loadResult(vhost, taskId) ?? this.tracking.get(key) ?? null;
  }

  /** `rec` as a client sees it: null when absent or expired. */
  private visible(rec: StoredResult | null): ResultRecord | null {
    if (rec === null || (rec.expiresAt !== 0 && rec.expiresAt <= this.now())) return null;
    return toRecord(rec);
  }

  /**
   * Answers `reply` when the result is final: at once if it is, else when it is stored, else
   * after `timeout` ms with the record as it is then. Returns a cancel for connection close.
   */
  wait(vhost: string, taskId: string, timeout: number, reply: (rec: ResultRecord | null) => void): CancelWait {
    const key = keyOf(vhost, taskId);
    const current = this.read(vhost, taskId);
    // An id the broker does not know is answered at once: every published task is tracked before
    // its publish is confirmed, so waiting could not make it appear (an unknown id never hangs).
    // A final result still on its way to the disk is waited for: notify() answers once it is durable.
    const arriving = this.finalInFlight(key);
    if (timeout === 0 || (!arriving && (current === null || READY_STATES.has(current.state as TaskState)))) {
      reply(current);
      return () => undefined;
    }
    let set = this.waiters.get(key);
    if (set === undefined) this.waiters.set(key, (set = new Set()));
    const waiters = set;
    const waiter: Waiter = {
      reply,
      timer: setTimeout(() => {
        this.drop(key, waiters, waiter);
        reply(this.read(vhost, taskId));
      }, Math.min(timeout, MAX_RESULT_WAIT)),
    };
    waiters.add(waiter);
    return () => {
      clearTimeout(waiter.timer);
      this.drop(key, waiters, waiter);
    };
  }

  forget(vhost: string, taskId: string): void {
    checkTaskId(taskId);
    this.uncommitted.delete(keyOf(vhost, taskId));
    this.tracking.delete(keyOf(vhost, taskId));
    this.writer.deleteResult({ vhost, taskId });
  }

  /** Deletes expired results (the sweeper's chore). */
  sweep(): void {
    this.store.deleteExpiredResults(this.now());
  }

  /** Stops every wait (broker closing): each is answered with the record as it is. */
  close(): void {
    for (const set of this.waiters.values()) for (const w of set) clearTimeout(w.timer);
    this.waiters.clear();
  }

  private drop(key: string, set: Set<Waiter>, w: Waiter): void {
    set.delete(w);
    if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
  }

  private notify(key: string, rec: ResultRecord): void {
    const set = this.waiters.get(key);
    if (set === undefined) return;
    this.waiters.delete(key);
    for (const w of set) {
      clearTimeout(w.timer);
      w.reply(rec);
    }
  }
}
