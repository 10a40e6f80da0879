// Reconnect delays: exponential growth with a ceiling and jitter, as a pure function.
// Jitter keeps many clients of a restarted broker from reconnecting in lockstep.

/** Bounds of the reconnect delay, in milliseconds. */
export interface BackoffOptions {
  /** Delay ceiling of the first attempt. */
  initial: number;
  /** Largest delay ever waited. */
  max: number;
}

/** Defaults: the first retry within 100 ms, never waiting more than 10 s. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ initial: 100, max: 10_000 });

/**
 * Delay before reconnect attempt `attempt` (0-based): a ceiling of `initial * 2^attempt` capped
 * at `max`, then "equal jitter" — uniformly in [ceiling/2, ceiling] — so the delay still grows
 * while two clients rarely collide. `random` is injectable for tests.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const initial = Math.max(1, options.initial);
  const max = Math.max(initial, options.max);
  const ceiling = Math.min(max, initial * 2 ** Math.min(Math.max(0, attempt), 40));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
