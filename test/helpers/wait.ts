// Bounded waits for tests: every wait has a timeout, so a broken feature fails instead of hanging.

/** Resolves once `cond` holds (checked every 5 ms); rejects after `ms`. */
export async function until(cond: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Resolves once the async probe answers true (a request to the broker: queue stats, a result);
 * probes one at a time, 20 ms apart, and rejects after `ms`.
 */
export async function untilAsync(probe: () => Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A fixed pause: only for negative checks (giving a thing the chance to happen) and simulated work. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
