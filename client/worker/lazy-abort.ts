// A task run's abort signal, made only when someone asks for it. Most tasks never read
// `ctx.signal` and most runs are never aborted, yet an AbortController (an EventTarget) per task
// cost the worker a few µs and garbage every time; this holds the reason until the signal exists.

/** What runTask needs of a run's abort source: the signal, read at most when the task asks. */
export interface AbortSource {
  readonly signal: AbortSignal;
}

/**
 * An AbortController built on the first read of `signal`. An abort before that is kept, and the
 * signal read afterwards is already aborted with that reason, as a real controller's would be
 * (listeners added to an aborted signal never fire there either). Like AbortController, only the
 * first abort counts.
 */
export class LazyAbort implements AbortSource {
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Aborts the signal (now, or when it is first read); later calls change nothing. */
  abort(reason: unknown): void {
    if (this.controller !== undefined) {
      this.controller.abort(reason);
      return;
    }
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
  }
}
