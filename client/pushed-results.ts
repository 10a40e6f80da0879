// Result waits registered by publishes (track.wait): the broker answers each with the task's
// record once it is final, so a producer that reads results sends one frame per task. A record
// that arrives before get() is kept until get() or a bounded expiry; a wait lost with its socket,
// refused by the broker or answered before the result was final leaves get() to ask the broker
// itself (resultWait): results are durable there, this is only the fast path.
import type { ResultRecord } from '../shared/frames.js';
import { READY_STATES, type TaskState } from '../shared/task-states.js';
import { asResultRecord } from './replies.js';

/** How long a record that arrived is kept for a get() that has not come yet. */
export const ARRIVED_KEEP_MS = 60_000;

/** Most slots held at once, waiting or arrived (the broker's maxResultWaits halves it further). */
export const MAX_PUSHED_SLOTS = 4_096;

/** What a pushed wait gave a waitResult: the final record (null: unknown id), or nothing to use. */
export type PushedOutcome = { record: ResultRecord | null } | undefined;

interface Slot {
  readonly taskId: string;
  readonly waitId: number;
  /** The publish that carries the wait: while unconfirmed it is sent again after a reconnect, wait and all. */
  readonly publishId: number;
  /** undefined until the broker answers. */
  record: ResultRecord | null | undefined;
  arrivedAt: number;
  listeners: Array<(outcome: PushedOutcome) => void>;
}

/** The pushed result waits of one client connection (across its sockets). */
export class PushedResults {
  private readonly byTask = new Map<string, Slot>();
  private readonly byWait = new Map<number, Slot>();
  /** Arrived and not yet taken, oldest first: what the expiry sweep walks. */
  private readonly arrived = new Map<number, Slot>();
  private bound = 0;
  private sweepTimer: NodeJS.Timeout | undefined;

  /**
   * A socket's welcome: waits are registered only when the broker has the 'publish-wait'
   * capability, and at most half its maxResultWaits, so resultWait requests of their own still fit.
   */
  configure(capabilities: readonly string[], limits: Readonly<Record<string, number>>): void {
    const brokerMax = limits['maxResultWaits'] ?? 0;
    this.bound = capabilities.includes('publish-wait') ? Math.min(MAX_PUSHED_SLOTS, Math.floor(brokerMax / 2)) : 0;
    // A broker without it (reconnected to an older one) would never answer the waits left.
    if (this.bound === 0) for (const slot of [...this.byWait.values()]) if (slot.record === undefined) this.remove(slot, undefined);
  }

  /** Whether a publish of `taskId` may carry a wait now. */
  hasRoom(): boolean {
    return this.byWait.size < this.bound;
  }

  /** A publish (request `publishId`) carries wait `waitId` for `taskId`; an older slot of the same id gives way. */
  register(taskId: string, waitId: number, publishId: number): void {
    const old = this.byTask.get(taskId);
    if (old !== undefined) this.remove(old, undefined);
    const slot: Slot = { taskId, waitId, publishId, record: undefined, arrivedAt: 0, listeners: [] };
    this.byTask.set(taskId, slot);
    this.byWait.set(waitId, slot);
  }

  /** The publish carrying wait `waitId` failed: nothing will answer it. */
  forget(waitId: number): void {
    const slot = this.byWait.get(waitId);
    if (slot !== undefined) this.remove(slot, undefined);
  }

  /** An ok frame: true when it answered one of these waits. */
  answered(waitId: number, result: unknown): boolean {
    const slot = this.byWait.get(waitId);
    if (slot === undefined || slot.record !== undefined) return slot !== undefined;
    let record: ResultRecord | null;
    try {
      record = asResultRecord(result);
    } catch {
      this.remove(slot, undefined);
      return true;
    }
    // Not final (the broker's wait timed out): useless to a get(), which asks again itself.
    if (record !== null && !READY_STATES.has(record.state as TaskState)) {
      this.remove(slot, undefined);
      return true;
    }
    if (slot.listeners.length > 0) {
      this.remove(slot, { record });
      return true;
    }
    slot.record = record;
    slot.arrivedAt = Date.now();
    this.arrived.set(waitId, slot);
    this.scheduleSweep();
    return true;
  }

  /** An error frame (the broker had no room for the wait): true when it named one of these waits. */
  refused(waitId: number): boolean {
    const slot = this.byWait.get(waitId);
    if (slot === undefined) return false;
    this.remove(slot, undefined);
    return true;
  }

  /**
   * The socket dropped: a wait ends with its connection on the broker. Waits whose publish is
   * still unconfirmed (`unconfirmed`) stay: the publish goes again on the next socket, wait and all.
   */
  dropped(unconfirmed: (publishId: number) => boolean): void {
    for (const slot of [...this.byWait.values()]) {
      if (slot.record === undefined && !unconfirmed(slot.publishId)) this.remove(slot, undefined);
    }
  }

  /** The connection closed for good: every get() waiting here asks (and fails) on its own. */
  clear(): void {
    for (const slot of [...this.byWait.values()]) this.remove(slot, undefined);
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /**
   * For a waitResult of `taskId` up to `timeout` ms: the pushed record when there is one (at once,
   * or once it arrives within `timeout`), undefined when the caller must ask the broker — no slot,
   * the wait was lost, or `timeout` passed first (the slot stays for a later get()).
   */
  take(taskId: string, timeout: number): PushedOutcome | Promise<PushedOutcome> {
    const slot = this.byTask.get(taskId);
    if (slot === undefined) return undefined;
    if (slot.record !== undefined) {
      const outcome = { record: slot.record };
      this.remove(slot, undefined);
      return outcome;
    }
    if (timeout <= 0) return undefined;
    return new Promise<PushedOutcome>((resolve) => {
      const timer = setTimeout(() => {
        const i = slot.listeners.indexOf(listener);
        if (i >= 0) slot.listeners.splice(i, 1);
        resolve(undefined);
      }, timeout);
      const listener = (outcome: PushedOutcome): void => {
        clearTimeout(timer);
        resolve(outcome);
      };
      slot.listeners.push(listener);
    });
  }

  private remove(slot: Slot, outcome: PushedOutcome): void {
    if (this.byWait.get(slot.waitId) === slot) this.byWait.delete(slot.waitId);
    if (this.byTask.get(slot.taskId) === slot) this.byTask.delete(slot.taskId);
    this.arrived.delete(slot.waitId);
    const listeners = slot.listeners;
    slot.listeners = [];
    for (const l of listeners) l(outcome);
  }

  /** Drops records nobody took within ARRIVED_KEEP_MS; runs only while some are kept. */
  private scheduleSweep(): void {
    if (this.sweepTimer !== undefined) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      const oldest = Date.now() - ARRIVED_KEEP_MS;
      for (const slot of this.arrived.values()) {
        if (slot.arrivedAt > oldest) break;
        this.remove(slot, undefined);
      }
      if (this.arrived.size > 0) this.scheduleSweep();
    }, ARRIVED_KEEP_MS / 2);
    this.sweepTimer.unref();
  }
}
