// Publishes awaiting the broker's confirm: id -> the frame (kept to re-publish after a reconnect)
// and the publish() promise. One Map entry per message; nothing else per message.
import { CeleriacError } from '../shared/errors.js';
import type { PublishFrame } from '../shared/frames.js';

interface PendingPublish {
  frame: PublishFrame;
  resolve: () => void;
  reject: (err: CeleriacError) => void;
  /** monotonicMs() when written to the current socket; 0 while not written (offline or blocked). */
  sentAt: number;
  /** monotonicMs() when it was made or last left without a socket (a drop): the offline clock. */
  heldAt: number;
}

/** Unconfirmed publishes of one client connection, oldest first. */
export class Confirms {
  private readonly pending = new Map<number, PendingPublish>();
  private idleWaiters: Array<() => void> = [];

  get size(): number {
    return this.pending.size;
  }

  /**
   * Tracks a publish; the promise settles on its confirm or error frame. `sentAt` is monotonicMs()
   * when it is written at once, 0 when it is held (offline or blocked by flow control).
   */
  add(frame: PublishFrame, sentAt: number, heldAt: number = sentAt): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.set(frame.id, { frame, resolve, reject, sentAt, heldAt });
    });
  }

  /** Whether publish `id` is still waiting for its confirm. */
  has(id: number): boolean {
    return this.pending.has(id);
  }

  markSent(id: number, now: number): void {
    const p = this.pending.get(id);
    if (p !== undefined) p.sentAt = now;
  }

  /** A confirm frame arrived. Unknown ids (already timed out) are ignored. */
  confirm(ids: readonly number[]): void {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const p = this.pending.get(id);
      if (p === undefined) continue;
      this.pending.delete(id);
      p.resolve();
    }
    if (this.pending.size === 0) this.wakeIdle();
  }

  /** An error frame names this publish. Returns false when it is not a pending publish. */
  reject(id: number, err: CeleriacError): boolean {
    const p = this.pending.get(id);
    if (p === undefined) return false;
    this.pending.delete(id);
    p.reject(err);
    if (this.pending.size === 0) this.wakeIdle();
    return true;
  }

  /** Every pending publish counts as not written (its socket dropped at `now`). */
  dropped(now: number): void {
    for (const p of this.pending.values()) {
      p.sentAt = 0;
      p.heldAt = now;
    }
  }

  /** Restarts the clock of every written publish (the broker was blocked, not unresponsive). */
  restamp(now: number): void {
    for (const p of this.pending.values()) if (p.sentAt !== 0) p.sentAt = now;
  }

  /** Pending publishes not written to the current socket, oldest first. */
  unsent(): PublishFrame[] {
    const out: PublishFrame[] = [];
    for (const p of this.pending.values()) if (p.sentAt === 0) out.push(p.frame);
    return out;
  }

  /**
   * Fails with ERR_TIMEOUT each publish written more than `timeoutMs` ago and still unconfirmed.
   * Publishes held offline or by flow control are not timed: they have not reached the broker.
   */
  expire(now: number, timeoutMs: number): void {
    for (const [id, p] of this.pending) {
      if (p.sentAt === 0) continue;
      if (now - p.sentAt < timeoutMs) break; // written in order: the rest are younger
      this.pending.delete(id);
      p.reject(new CeleriacError('ERR_TIMEOUT', `publish ${id} to exchange '${p.frame.exchange}' was not confirmed within ${timeoutMs} ms`, { details: { id } }));
    }
    if (this.pending.size === 0) this.wakeIdle();
  }

  /**
   * Fails, with the error `failure` builds, each publish not written and held for `limitMs` or
   * more since it was made or its socket dropped. Called only while the connection is down, so a
   * publish held by flow control on a live socket is never timed here.
   */
  expireHeld(now: number, limitMs: number, failure: (frame: PublishFrame, heldMs: number) => CeleriacError): void {
    for (const [id, p] of this.pending) {
      if (p.sentAt !== 0 || now - p.heldAt < limitMs) continue;
      this.pending.delete(id);
      p.reject(failure(p.frame, now - p.heldAt));
    }
    if (this.pending.size === 0) this.wakeIdle();
  }

  /** Resolves when nothing is pending (now, or after the last confirm or error). */
  whenIdle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Fails every pending publish (the connection is closed for good). */
  rejectAll(err: CeleriacError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
    this.wakeIdle();
  }

  private wakeIdle(): void {
    if (this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
