// A counting semaphore for password hashing: at most `limit` scrypt runs at once, so logins can
// never take more than that many of libuv's threads (nor scrypt's 16 MiB each). Extra logins wait.

/** Gives a slot back; calling it twice is harmless. */
export type Release = () => void;

interface Waiter {
  readonly grant: (release: Release) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/**
 * Slots handed out in two lines: logins from addresses with recent failures (`suspect`) wait
 * behind every other login, so a flood of bad logins cannot starve a good peer of its hash.
 * Invariant: a waiter is queued only while every slot is taken.
 */
export class HashSlots {
  private active = 0;
  private readonly clean: Waiter[] = [];
  private readonly suspect: Waiter[] = [];

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`hash slots: limit must be an integer >= 1, got ${limit}`);
  }

  /** Hashes running now. */
  get running(): number {
    return this.active;
  }

  /** Logins waiting for a slot. */
  get waiting(): number {
    return this.clean.length + this.suspect.length;
  }

  /**
   * Resolves with a release once a slot is free. An aborted signal (the connection closed while it
   * waited) rejects with the signal's reason and frees the place in line.
   */
  acquire(opts: { suspect?: boolean; signal?: AbortSignal } = {}): Promise<Release> {
    const { signal } = opts;
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise<Release>((resolve, reject) => {
      const line = opts.suspect === true ? this.suspect : this.clean;
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', waiter.onAbort);
          resolve(release);
        },
        signal,
        onAbort: () => {
          const at = line.indexOf(waiter);
          if (at >= 0) line.splice(at, 1);
          reject(signal!.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      line.push(waiter);
    });
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Hand the slot straight to the next waiter (active stays the same), else free it.
      const next = this.clean.shift() ?? this.suspect.shift();
      if (next === undefined) this.active--;
      else next.grant(this.releaser());
    };
  }
}
