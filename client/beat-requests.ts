// Beat's requests of a Connection: schedule entries, the leader lease and fires over the wire (the
// BeatBackend of client/beat/types.ts), and a watch on entry changes that outlives a reconnect.
import { CeleriacError, fail } from '../shared/errors.js';
import type { FinishPublish, LeaseRecord, ScheduleRecord } from '../shared/frames.js';
import { OP } from '../shared/opcodes.js';
import type { BeatAdvanceRequest, BeatBackend, BeatFireRequest, BeatFireResult } from './beat/types.js';
import { isRecord, unexpected } from './replies.js';
import type { RequestFrame } from './requests.js';
import { TaskRequests } from './task-support.js';

function invalid(message: string): never {
  throw fail('ERR_INVALID_ARGUMENT', message);
}

// What the codec would refuse (and the broker answer by closing the connection) fails the call here.

function text(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') invalid(`${what} must be a non-empty string`);
  return v;
}

function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) invalid(`${what} must be a non-negative integer`);
  return v;
}

function time(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) invalid(`${what} must be an integer time in epoch ms`);
  return v;
}

function timeOrNull(v: unknown, what: string): number | null {
  return v === null ? null : time(v, what);
}

function publishesOf(v: unknown): FinishPublish[] {
  if (!Array.isArray(v)) invalid('fireSchedule: publishes must be an array');
  return v.map((p: unknown, i) => {
    if (!isRecord(p) || typeof p.exchange !== 'string' || typeof p.routingKey !== 'string' || !(p.body instanceof Uint8Array)) {
      invalid(`fireSchedule: publishes[${i}] needs a string exchange and routingKey and a Uint8Array body`);
    }
    if (p.props !== undefined && !isRecord(p.props)) invalid(`fireSchedule: publishes[${i}].props must be an object`);
    if (p.track !== undefined && !isRecord(p.track)) invalid(`fireSchedule: publishes[${i}].track must be an object`);
    return p as unknown as FinishPublish;
  });
}

const orNull = (v: unknown): number | null | undefined => (v === null || v === undefined ? null : typeof v === 'number' ? v : undefined);

function asScheduleRecord(v: unknown, what: string): ScheduleRecord {
  if (!isRecord(v) || typeof v.name !== 'string' || typeof v.spec !== 'string' || typeof v.revision !== 'number') return unexpected(what);
  const lastRunAt = orNull(v.lastRunAt);
  const nextRunAt = orNull(v.nextRunAt);
  if (lastRunAt === undefined || nextRunAt === undefined) return unexpected(what);
  const num = (x: unknown): number => (typeof x === 'number' ? x : 0);
  return {
    name: v.name, spec: v.spec, paused: v.paused === true, source: typeof v.source === 'string' ? v.source : 'api', lastRunAt, nextRunAt,
    runCount: num(v.runCount), createdAt: num(v.createdAt), updatedAt: num(v.updatedAt), revision: v.revision,
  };
}

function asLeaseRecord(v: unknown, what: string): LeaseRecord {
  if (!isRecord(v) || typeof v.name !== 'string' || typeof v.epoch !== 'number' || typeof v.expiresAt !== 'number') return unexpected(what);
  return { name: v.name, holder: typeof v.holder === 'string' ? v.holder : null, epoch: v.epoch, expiresAt: v.expiresAt };
}

/** One watchSchedules caller (an object, so the same function may watch twice). */
interface Watcher { onChange: (names: string[]) => void }

/**
 * Beat's requests of a Connection (which extends this, through the task layer's TaskRequests):
 * what a beat and app.schedules need of the broker. Each needs only `request` and `newId`; the
 * connection tells it of scheduleChanged pushes and of reconnects.
 */
export abstract class BeatRequests extends TaskRequests implements BeatBackend {
  private readonly scheduleWatchers = new Set<Watcher>();
  /** The watch request of the current watchers (null when nobody watches). */
  private watching: Promise<unknown> | null = null;

  /**
   * Creates or replaces entry `name` with `spec` (JSON text; at most 64 KiB). Keeps its run state and
   * paused flag unless `resetState`; `nextRunAt` is set when given (null = none), else kept.
   */
  async upsertSchedule(name: string, spec: string, options: { source?: string; nextRunAt?: number | null; resetState?: boolean } = {}): Promise<{ created: boolean; revision: number }> {
    const frame: RequestFrame = { op: OP.scheduleUpsert, id: this.newId(), name: text(name, 'upsertSchedule(name)'), spec: text(spec, 'upsertSchedule(spec)') };
    if (!isRecord(options)) invalid('upsertSchedule: options must be an object');
    if (options.source !== undefined) frame.source = text(options.source, 'upsertSchedule: source');
    if (options.nextRunAt !== undefined) frame.nextRunAt = timeOrNull(options.nextRunAt, 'upsertSchedule: nextRunAt');
    if (options.resetState !== undefined) frame.resetState = options.resetState === true;
    const result = await this.request(frame, true);
    if (!isRecord(result) || typeof result.created !== 'boolean' || typeof result.revision !== 'number') return unexpected('a scheduleUpsert');
    return { created: result.created, revision: result.revision };
  }

  /** Removes an entry and its fire log; false when there was none. */
  async removeSchedule(name: string): Promise<boolean> {
    const result = await this.request({ op: OP.scheduleRemove, id: this.newId(), name: text(name, 'removeSchedule(name)') }, true);
    if (!isRecord(result) || typeof result.removed !== 'boolean') return unexpected('a scheduleRemove');
    return result.removed;
  }

  /** Pauses (true) or resumes (false) an entry; ERR_NOT_FOUND when it does not exist. */
  async pauseSchedule(name: string, paused: boolean): Promise<ScheduleRecord> {
    if (typeof paused !== 'boolean') invalid('pauseSchedule(name, paused): paused must be a boolean');
    const result = await this.request({ op: OP.schedulePause, id: this.newId(), name: text(name, 'pauseSchedule(name)'), paused }, true);
    return asScheduleRecord(result, 'a schedulePause');
  }

  /** The entries (all, or those named that exist) and the leases of this vhost, sorted by name. */
  async listSchedules(names?: readonly string[]): Promise<{ entries: ScheduleRecord[]; leases: LeaseRecord[] }> {
    const frame: RequestFrame = { op: OP.scheduleList, id: this.newId() };
    if (names !== undefined) {
      if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) invalid('listSchedules(names): names must be an array of strings');
      frame.names = [...names];
    }
    const result = await this.request(frame, true);
    if (!isRecord(result) || !Array.isArray(result.entries) || !Array.isArray(result.leases)) return unexpected('a scheduleList');
    return {
      entries: result.entries.map((e) => asScheduleRecord(e, 'a scheduleList')),
      leases: result.leases.map((l) => asLeaseRecord(l, 'a scheduleList')),
    };
  }

  /**
   * Calls `onChange` with the names of entries upserted, removed, paused or resumed by anyone in this
   * vhost. Kept across reconnects: after one, `onChange([])` is called, since changes may have been
   * missed meanwhile. Resolves once the broker watches, with the function that stops this watch.
   */
  async watchSchedules(onChange: (names: string[]) => void): Promise<() => Promise<void>> {
    if (typeof onChange !== 'function') invalid('watchSchedules(onChange): onChange must be a function');
    const watcher: Watcher = { onChange };
    this.scheduleWatchers.add(watcher);
    if (this.watching === null) {
      const asked = this.request({ op: OP.scheduleWatch, id: this.newId(), watch: true }, true);
      this.watching = asked;
      asked.catch(() => { if (this.watching === asked) this.watching = null; });
    }
    try {
      await this.watching;
    } catch (err) {
      this.scheduleWatchers.delete(watcher);
      throw err;
    }
    return async () => {
      if (!this.scheduleWatchers.delete(watcher) || this.scheduleWatchers.size > 0) return;
      this.watching = null;
      try {
        await this.request({ op: OP.scheduleWatch, id: this.newId(), watch: false }, true);
      } catch (err) {
        // A closed connection watches nothing any more.
        if (!(err instanceof CeleriacError && err.code === 'ERR_CONNECTION_CLOSED')) throw err;
      }
    };
  }

  /**
   * Takes or renews lease `name` for `holder` for `ttlMs` (1 s to 1 h, broker clock). Resolves with
   * whether it was granted and the lease in force (its epoch grows whenever the holder changes).
   */
  async acquireLease(name: string, holder: string, ttlMs: number): Promise<{ acquired: boolean; lease: LeaseRecord }> {
    const frame: RequestFrame = {
      op: OP.leaseAcquire, id: this.newId(), name: text(name, 'acquireLease(name)'), holder: text(holder, 'acquireLease(holder)'), ttl: count(ttlMs, 'acquireLease(ttlMs)'),
    };
    const result = await this.request(frame, true);
    if (!isRecord(result) || typeof result.acquired !== 'boolean') return unexpected('a leaseAcquire');
    return { acquired: result.acquired, lease: asLeaseRecord(result.lease, 'a leaseAcquire') };
  }

  /** Gives lease `name` up if `holder` still holds it at `epoch`; false when it did not. */
  async releaseLease(name: string, holder: string, epoch: number): Promise<boolean> {
    const frame: RequestFrame = {
      op: OP.leaseRelease, id: this.newId(), name: text(name, 'releaseLease(name)'), holder: text(holder, 'releaseLease(holder)'), epoch: count(epoch, 'releaseLease(epoch)'),
    };
    const result = await this.request(frame, true);
    if (!isRecord(result) || typeof result.released !== 'boolean') return unexpected('a leaseRelease');
    return result.released;
  }

  /**
   * Fires an entry for one scheduled time in one broker transaction (fire log, entry state, the task
   * message). Rejects with ERR_STALE_LEASE when the lease is lost; `{ fired: false }` when the entry
   * changed or that time was fired already. Safe to send again after a reconnect: a fire that did
   * commit comes back a duplicate.
   */
  async fireSchedule(request: BeatFireRequest): Promise<BeatFireResult> {
    if (!isRecord(request)) invalid('fireSchedule(request): request must be an object');
    const frame: RequestFrame = {
      op: OP.beatFire, id: this.newId(), ...this.underLease(request, 'fireSchedule'),
      scheduledAt: time(request.scheduledAt, 'fireSchedule: scheduledAt'),
      nextRunAt: timeOrNull(request.nextRunAt, 'fireSchedule: nextRunAt'),
      publishes: publishesOf(request.publishes),
    };
    const result = await this.request(frame, true);
    if (!isRecord(result) || typeof result.fired !== 'boolean') return unexpected('a beatFire');
    if (result.fired) return { fired: true, record: asScheduleRecord(result.record, 'a beatFire') };
    if (result.reason !== 'duplicate' && result.reason !== 'changed') return unexpected('a beatFire');
    return { fired: false, reason: result.reason };
  }

  /** Moves an entry's nextRunAt without a fire, under the same lease and revision checks as a fire. */
  async advanceSchedule(request: BeatAdvanceRequest): Promise<{ advanced: boolean; record: ScheduleRecord | null }> {
    if (!isRecord(request)) invalid('advanceSchedule(request): request must be an object');
    const frame: RequestFrame = {
      op: OP.beatAdvance, id: this.newId(), ...this.underLease(request, 'advanceSchedule'),
      nextRunAt: timeOrNull(request.nextRunAt, 'advanceSchedule: nextRunAt'),
    };
    const result = await this.request(frame, true);
    if (!isRecord(result) || typeof result.advanced !== 'boolean') return unexpected('a beatAdvance');
    return { advanced: result.advanced, record: result.record === null || result.record === undefined ? null : asScheduleRecord(result.record, 'a beatAdvance') };
  }

  /** @internal A scheduleChanged push arrived: every watcher hears of it. */
  protected schedulesChanged(names: string[]): void {
    for (const w of [...this.scheduleWatchers]) this.tellWatcher(w, names);
  }

  /**
   * @internal After a reconnect, before the connection is ready: asks the new socket for the
   * watch again. False when that socket dropped meanwhile.
   */
  protected async rewatchSchedules(send: (frame: RequestFrame) => Promise<unknown>, alive: () => boolean): Promise<boolean> {
    if (this.scheduleWatchers.size === 0) return true;
    try {
      await send({ op: OP.scheduleWatch, id: this.newId(), watch: true });
    } catch (err) {
      if (!alive()) return false;
      if (err instanceof CeleriacError && this.listenerCount('error') > 0) this.emit('error', err);
    }
    return alive();
  }

  /** @internal Reconnected: watchers may have missed changes while the socket was down. */
  protected schedulesMayHaveChanged(): void {
    this.schedulesChanged([]);
  }

  private tellWatcher(w: Watcher, names: string[]): void {
    const warn = (err: unknown): void => process.emitWarning(`a watchSchedules callback failed: ${String(err)}`, { code: 'CELERIAC_WATCH_ERROR' });
    try {
      const out = w.onChange([...names]) as unknown;
      if (out instanceof Promise) out.catch(warn);
    } catch (err) {
      warn(err);
    }
  }

  /** The lease and entry fields of a fire or advance, checked. */
  private underLease(r: BeatAdvanceRequest | BeatFireRequest, what: string): { lease: string; holder: string; epoch: number; entry: string; revision: number } {
    return {
      lease: text(r.lease, `${what}: lease`), holder: text(r.holder, `${what}: holder`), epoch: count(r.epoch, `${what}: epoch`),
      entry: text(r.entry, `${what}: entry`), revision: count(r.revision, `${what}: revision`),
    };
  }
}
