// A beat's hold on the leader lease: takes it, renews it every ttl/3, notices when it is lost, gives
// it up on close. Knows nothing of entries; the beat asks `current()` before each fire.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { LeaseRecord } from '../../shared/frames.js';
import type { WorkerLog } from '../worker/worker.js';
import type { BeatBackend } from './types.js';

/** The lease as this beat holds it. */
export interface HeldLease {
  readonly name: string;
  readonly holder: string;
  readonly epoch: number;
}

/** A holder name that says where the beat runs and cannot collide with another's: `host:pid:random`. */
export function newHolderName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** Short form of a holder for logs of other beats. */
function who(lease: LeaseRecord): string {
  return lease.holder ?? '(nobody)';
}

/**
 * One beat's view of lease `name`. Invariant: `current()` answers a lease only while the local
 * clock is before `validUntil` = the time the last granted request was SENT + ttl. The broker
 * counts the ttl from when it received that request, which is later, so this beat stops firing
 * before the broker would hand the lease to another; the broker refuses a stale fire anyway
 * (ERR_STALE_LEASE), this only keeps a cut-off beat from trying.
 */
export class Leadership {
  private held: { epoch: number; validUntil: number } | undefined;
  /** Holder and epoch of the last leader this beat saw, so a change is logged once. */
  private seen: string | undefined;
  /** When the last answer said another beat holds the lease until (broker clock). */
  private otherUntil: number | undefined;
  private failing = false;
  /** The last grant came too late to count on: try again at once. */
  private stale = false;
  private terms = 0;

  constructor(
    private readonly backend: BeatBackend,
    readonly name: string,
    readonly holder: string,
    readonly ttl: number,
    private readonly log: WorkerLog,
  ) {}

  /**
   * How many times this beat began leading: a grant while it held nothing, or at a new epoch.
   * Counted here, at the answer, because the lease can be dropped (ran out, a fire refused) and
   * granted again while one request is on its way: a caller comparing `current()` before and after
   * its `attempt()` would miss that new start.
   */
  get term(): number {
    return this.terms;
  }

  /** The lease while this beat holds it (and its local validity has not run out). */
  current(): HeldLease | undefined {
    const h = this.held;
    if (h === undefined) return undefined;
    if (Date.now() >= h.validUntil) {
      this.drop(`its lease ran out before a renewal was answered`);
      return undefined;
    }
    return { name: this.name, holder: this.holder, epoch: h.epoch };
  }

  /**
   * One take-or-renew round. Resolves with true when this beat leads after it. A failed request
   * is logged once per streak; the lease is then kept only until its local validity runs out.
   */
  async attempt(): Promise<boolean> {
    const sentAt = Date.now();
    let answer: { acquired: boolean; lease: LeaseRecord };
    try {
      answer = await this.backend.acquireLease(this.name, this.holder, this.ttl);
    } catch (err) {
      if (!this.failing) this.log('warn', `beat: ${this.holder} could not take or renew lease '${this.name}' (${String(err)}); trying again`);
      this.failing = true;
      return this.current() !== undefined;
    }
    if (this.failing) this.log('info', `beat: ${this.holder} reaches the broker again`);
    this.failing = false;
    const { lease } = answer;
    if (answer.acquired && Date.now() >= sentAt + this.ttl) {
      // Granted, but the answer took longer than the ttl (held over a reconnect): this beat cannot
      // know how much of it is left. Ask again at once for a grant it can count from.
      this.stale = true;
      return this.current() !== undefined;
    }
    this.stale = false;
    if (answer.acquired) {
      this.otherUntil = undefined;
      if (this.held === undefined || this.held.epoch !== lease.epoch) {
        this.terms++;
        this.log('info', `beat: ${this.holder} leads (epoch ${lease.epoch})`);
      }
      this.held = { epoch: lease.epoch, validUntil: sentAt + this.ttl };
      this.seen = `${this.holder}#${lease.epoch}`;
      return true;
    }
    if (this.held !== undefined) {
      this.held = undefined;
      this.log('warn', `beat: ${this.holder} lost the lease to ${who(lease)} (epoch ${lease.epoch}); it stops firing and stands by`);
    } else if (this.seen !== `${who(lease)}#${lease.epoch}`) {
      this.log('info', `beat: ${who(lease)} leads (epoch ${lease.epoch}); ${this.holder} stands by`);
    }
    this.seen = `${who(lease)}#${lease.epoch}`;
    this.otherUntil = lease.expiresAt;
    return false;
  }

  /** The broker refused a fire (ERR_STALE_LEASE) or validity ran out: stop leading until the next grant. */
  drop(why: string): void {
    if (this.held === undefined) return;
    this.log('warn', `beat: ${this.holder} is no longer the leader (${why}); it stops firing and stands by`);
    this.held = undefined;
  }

  /**
   * When to try again, ms: a leader renews every ttl/3; a follower also tries every ttl/3, or just
   * after the current holder's expiry when that comes sooner, so a dead leader is replaced within
   * its ttl (the expiry is the broker's clock: on a skewed host this falls back to ttl/3).
   */
  nextAttemptIn(): number {
    const renew = Math.max(1, Math.floor(this.ttl / 3));
    if (this.stale) return 0;
    if (this.held !== undefined || this.otherUntil === undefined) return renew;
    const untilFree = this.otherUntil - Date.now() + 25;
    return Math.min(renew, Math.max(50, untilFree));
  }

  /** Gives the lease up if held (a beat closing), so another takes over at once. Never throws. */
  async release(): Promise<void> {
    const h = this.held;
    this.held = undefined;
    if (h === undefined) return;
    try {
      await this.backend.releaseLease(this.name, this.holder, h.epoch);
      this.log('info', `beat: ${this.holder} released lease '${this.name}' (epoch ${h.epoch})`);
    } catch (err) {
      this.log('warn', `beat: ${this.holder} could not release lease '${this.name}' (${String(err)}); it expires by itself`);
    }
  }
}
