// The frames one connection has sent that the broker has not handled yet. They are worked through
// in slices that yield to the event loop, so one huge batch cannot keep every other connection,
// the store's commits and /healthz waiting; and not at all while the connection is over its bounds.
import type { Frame } from '../../shared/frames.js';

/** One message's frames, taken in order (a FrameReader); `next()` throws for a frame that cannot be read. */
export interface InboxMessage {
  next(): Frame | undefined;
}

/**
 * A message refused whole (too large, text, too many frames): its error takes its place in line,
 * so the frames of messages before it are still handled first, as they would have been.
 */
export function refusedMessage(err: unknown): InboxMessage {
  let thrown = false;
  return {
    next: () => {
      if (thrown) return undefined;
      thrown = true;
      throw err;
    },
  };
}

/** How long a slice lasts: it ends once it has taken `ms` and handled at least `minFrames`. */
export interface SliceBudget {
  readonly ms: number;
  readonly minFrames: number;
}

/**
 * The slice that starts on a message read while the inbox was idle: a good client's batch (a
 * turn of publishes and acks) is handled in it whole, even on a slow or busy machine, so its
 * publishes share one commit and one confirm frame as before.
 */
export const FIRST_SLICE: SliceBudget = Object.freeze({ ms: 2, minFrames: 256 });

/**
 * The slices after it, while the connection stays busy: short, since every other connection,
 * the commits and /healthz wait for each one. A hostile batch of maxFramesPerMessage costly
 * frames is worked through in many of these.
 */
export const NEXT_SLICE: SliceBudget = Object.freeze({ ms: 1, minFrames: 16 });

/** What the inbox needs from its session. */
export interface InboxTarget {
  /** Handles one frame (the dispatcher). */
  handle(frame: Frame): void;
  /** A frame of the message could not be read, or the message was refused whole. */
  unreadable(err: unknown): void;
  /**
   * Whether frames may be handled now; false while the connection is over a bound (replies
   * unsent, requests in progress, flow control). `resuming` is true when the inbox waits for
   * this: answer with the lower, resume threshold so it does not flip on every reply.
   * The session calls `wake()` whenever the answer may have changed.
   */
  ready(resuming: boolean): boolean;
  /** True: frames are waiting, stop reading the socket; false: all handled, read again. */
  busy(busy: boolean): void;
}

/** One per connection. Frames are handled in order across messages, never two at once. */
export class Inbox {
  private readonly messages: InboxMessage[] = [];
  private running = false;
  private scheduled = false;
  /** Waiting for `ready()`: only `wake()` restarts the work. */
  private stalled = false;
  private isBusy = false;
  private closed = false;
  private readonly runBound = (): void => this.run(this.next);

  constructor(private readonly target: InboxTarget, private readonly first: SliceBudget = FIRST_SLICE, private readonly next: SliceBudget = NEXT_SLICE) {}

  /**
   * Queues a message's frames and, when nothing is queued before them, starts on them at once:
   * a small message is handled in the turn it was read in, as it always was.
   */
  add(message: InboxMessage): void {
    if (this.closed) return;
    this.messages.push(message);
    if (!this.running && !this.scheduled && !this.stalled) this.run(this.first);
  }

  /** The connection's bounds may have changed (a reply written, a request answered, flow on). */
  wake(): void {
    if (!this.stalled || this.closed || this.running || !this.target.ready(true)) return;
    this.stalled = false;
    this.schedule();
  }

  /** The connection is closing: drop what is queued. */
  close(): void {
    this.closed = true;
    this.messages.length = 0;
  }

  private run(budget: SliceBudget): void {
    this.scheduled = false;
    this.running = true;
    const deadline = performance.now() + budget.ms;
    let handled = 0;
    try {
      while (this.messages.length > 0 && !this.closed) {
        if (!this.target.ready(false)) {
          this.stalled = true;
          this.setBusy(true);
          return;
        }
        if (handled >= budget.minFrames && performance.now() >= deadline) {
          this.setBusy(true);
          this.schedule();
          return;
        }
        const message = this.messages[0]!;
        let frame: Frame | undefined;
        try {
          frame = message.next();
        } catch (err) {
          this.messages.shift();
          this.target.unreadable(err);
          continue;
        }
        if (frame === undefined) {
          this.messages.shift();
        } else {
          handled++;
          this.target.handle(frame);
        }
      }
    } finally {
      this.running = false;
    }
    this.setBusy(false);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.runBound);
  }

  private setBusy(busy: boolean): void {
    if (busy === this.isBusy || (busy && this.closed)) return;
    this.isBusy = busy;
    this.target.busy(busy);
  }
}
