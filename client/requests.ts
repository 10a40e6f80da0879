// Requests awaiting their ok/error reply: id -> pending promise with a timeout (ERR_TIMEOUT).
// Also remembers which were sent, so a reconnect knows what to send again and what to fail.
// Requests timed by the connection's own request timeout have no timer each: the connection's
// periodic sweep (expire()) fails them, as it does unconfirmed publishes. A worker's finish is
// one such request per task, and a timer each was an object, a closure and a list entry per task.
import { CeleriacError } from '../shared/errors.js';
import { monotonicMs } from './clock.js';
import type {
  BindQueueFrame, CancelFrame, CloseFrame, ConsumeFrame, DeclareExchangeFrame, DeclareQueueFrame, DeleteExchangeFrame,
  DeleteQueueFrame, GetFrame, PurgeQueueFrame, ResultForgetFrame, ResultGetFrame, ResultStoreFrame, ResultWaitFrame, UnbindQueueFrame, FinishFrame,
  GroupDeclareFrame, GroupGetFrame, RateAcquireFrame, RateSetFrame, RevokedCheckFrame, RevokeFrame, RateOverridesFrame, RateReleaseFrame,
  ScheduleUpsertFrame, ScheduleRemoveFrame, SchedulePauseFrame, ScheduleListFrame, ScheduleWatchFrame, LeaseAcquireFrame, LeaseReleaseFrame,
  BeatFireFrame, BeatAdvanceFrame, EventsReadFrame,
} from '../shared/frames.js';

/** Frames answered by an ok or error frame echoing their id. */
export type RequestFrame =
  | DeclareExchangeFrame | DeleteExchangeFrame | DeclareQueueFrame | DeleteQueueFrame | PurgeQueueFrame
  | BindQueueFrame | UnbindQueueFrame | ConsumeFrame | CancelFrame | GetFrame | CloseFrame
  | ResultStoreFrame | ResultGetFrame | ResultWaitFrame | ResultForgetFrame | FinishFrame
  | RevokeFrame | RevokedCheckFrame | RateAcquireFrame | RateSetFrame | RateOverridesFrame | RateReleaseFrame | GroupDeclareFrame | GroupGetFrame
  | ScheduleUpsertFrame | ScheduleRemoveFrame | SchedulePauseFrame | ScheduleListFrame | ScheduleWatchFrame | LeaseAcquireFrame | LeaseReleaseFrame
  | BeatFireFrame | BeatAdvanceFrame | EventsReadFrame;

interface Pending {
  frame: RequestFrame;
  resolve: (result: unknown) => void;
  reject: (err: CeleriacError) => void;
  /** Its own timer when it waits longer than the request timeout; null when expire() times it. */
  timer: NodeJS.Timeout | null;
  /** monotonicMs() after which expire() fails it. */
  deadline: number;
  /** Safe to send again on a new socket when the old one dropped before the reply. */
  retry: boolean;
  sent: boolean;
}

/** The pending requests of one client connection (across its sockets). */
export class Requests {
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.pending.size;
  }

  /**
   * Registers a request; the promise settles with the reply's result, an error, or ERR_TIMEOUT
   * after the connection's request timeout (found by expire(), so up to its sweep interval later),
   * or after that plus `extraMs` for requests the broker answers late on purpose, such as a result
   * wait (their own timer).
   */
  add(frame: RequestFrame, retry: boolean, extraMs = 0): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const limit = this.timeoutMs + extraMs;
      const timer = extraMs <= 0 ? null : setTimeout(() => {
        const p = this.pending.get(frame.id);
        if (p !== undefined) this.timedOut(frame.id, p, limit);
      }, limit);
      this.pending.set(frame.id, { frame, resolve, reject, timer, deadline: monotonicMs() + limit, retry, sent: false });
    });
  }

  /** Fails with ERR_TIMEOUT each request without a timer of its own whose deadline has passed (`now`: monotonicMs()). */
  expire(now: number): void {
    for (const [id, p] of this.pending) {
      if (p.timer !== null) continue;
      if (p.deadline > now) break; // made in order, with one limit: the rest are younger
      this.timedOut(id, p, this.timeoutMs);
    }
  }

  private timedOut(id: number, p: Pending, limit: number): void {
    this.pending.delete(id);
    p.reject(new CeleriacError('ERR_TIMEOUT', `no reply to ${describe(p.frame)} within ${limit} ms`, { details: { id } }));
  }

  /** Marks a request as written to the current socket. */
  markSent(id: number): void {
    const p = this.pending.get(id);
    if (p !== undefined) p.sent = true;
  }

  /** The ok reply arrived. Returns false when nobody waits for `id` (timed out, or not ours). */
  resolve(id: number, result: unknown): boolean {
    const p = this.take(id);
    if (p === undefined) return false;
    p.resolve(result);
    return true;
  }

  /** The error reply arrived. Returns false when nobody waits for `id`. */
  reject(id: number, err: CeleriacError): boolean {
    const p = this.take(id);
    if (p === undefined) return false;
    p.reject(err);
    return true;
  }

  /**
   * The socket dropped: a sent request that may not be repeated (its effect is unknown: purge,
   * delete, get) fails with `err`; the others stay pending, to be sent again by `unsent()`.
   */
  dropped(err: CeleriacError): void {
    for (const [id, p] of this.pending) {
      if (!p.sent) continue;
      if (p.retry) {
        p.sent = false;
      } else {
        this.take(id);
        p.reject(err);
      }
    }
  }

  /** Requests not written to the current socket, in the order they were made. */
  unsent(): RequestFrame[] {
    const out: RequestFrame[] = [];
    for (const p of this.pending.values()) if (!p.sent) out.push(p.frame);
    return out;
  }

  /** Fails every pending request (the connection is closed for good). */
  rejectAll(err: CeleriacError): void {
    for (const id of [...this.pending.keys()]) this.take(id)!.reject(err);
  }

  private take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (p === undefined) return undefined;
    this.pending.delete(id);
    if (p.timer !== null) clearTimeout(p.timer);
    return p;
  }
}

function describe(frame: RequestFrame): string {
  const name = 'name' in frame ? ` '${frame.name}'` : 'queue' in frame ? ` '${frame.queue}'` : '';
  return `request ${frame.id} (opcode ${frame.op}${name})`;
}
