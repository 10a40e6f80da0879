// The requests of one connection that are answered later, counted against the connection's
// bounds: those waiting for a commit (the inbox pauses at maxRequestsInProgress) and resultWaits
// (one past maxResultWaits is refused).
import { fail } from '../../shared/errors.js';
import type { Limits } from '../../shared/limits.js';

type Kind = 'commit' | 'wait';
interface Pending { readonly kind: Kind; answered: boolean }

/** One per connection. */
export class PendingRequests {
  private readonly counts: Record<Kind, number> = { commit: 0, wait: 0 };
  /** What the frame being handled counted: released if its handler throws instead of answering. */
  private frame: Pending[] = [];

  /** `commitAnswered` runs when a request waiting for its commit is answered (the inbox may go on). */
  constructor(private readonly limits: Readonly<Pick<Limits, 'maxRequestsInProgress' | 'maxResultWaits'>>, private readonly commitAnswered: () => void) {}

  /** Counts a request answered after its commit until the returned function (`answer`, wrapped) is first called. */
  inProgress<A extends unknown[]>(answer: (...args: A) => void): (...args: A) => void {
    return this.count('commit', answer);
  }

  /** Counts a resultWait until the returned function is first called; ERR_TOO_MANY_REQUESTS past the bound. */
  resultWaiting<A extends unknown[]>(answer: (...args: A) => void): (...args: A) => void {
    const max = this.limits.maxResultWaits;
    if (this.counts.wait >= max) {
      throw fail('ERR_TOO_MANY_REQUESTS', `this connection already has ${max} resultWait requests waiting (maxResultWaits)`, { limit: max });
    }
    return this.count('wait', answer);
  }

  /**
   * Counts a wait a publish registers: null at the bound. Not one of the frame's counts: the
   * publish stands when its wait is refused, and the wait outlives the frame.
   */
  resultWaitingIfRoom<A extends unknown[]>(answer: (...args: A) => void): ((...args: A) => void) | null {
    if (this.counts.wait >= this.limits.maxResultWaits) return null;
    const p: Pending = { kind: 'wait', answered: false };
    this.counts.wait++;
    return (...args: A) => {
      this.answered(p);
      answer(...args);
    };
  }

  /**
   * Whether the connection may start more requests: under maxRequestsInProgress waiting for a
   * commit, or with `resuming`, under half of it, so a connection at the bound does not flip
   * between waiting and going on with every commit.
   */
  underBound(resuming: boolean): boolean {
    const max = this.limits.maxRequestsInProgress;
    return this.counts.commit < (resuming ? max / 2 : max);
  }

  /** The frame being handled is done; what it counted stays counted until answered. */
  frameDone(): void {
    if (this.frame.length > 0) this.frame = [];
  }

  /** The frame being handled failed: what its handler counted will never be answered (the engine refused before taking it). */
  frameFailed(): void {
    for (const p of this.frame) this.answered(p);
  }

  private count<A extends unknown[]>(kind: Kind, answer: (...args: A) => void): (...args: A) => void {
    const p: Pending = { kind, answered: false };
    this.counts[kind]++;
    this.frame.push(p);
    return (...args: A) => {
      this.answered(p);
      answer(...args);
    };
  }

  private answered(p: Pending): void {
    if (p.answered) return;
    p.answered = true;
    this.counts[p.kind]--;
    if (p.kind === 'commit') this.commitAnswered();
  }
}
