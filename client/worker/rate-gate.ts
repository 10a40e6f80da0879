// Rate limits held across all workers: before a rate-limited task may start, the broker hands out
// the next free slot of that task's bucket (rateAcquire) and the worker waits until then.
import type { RateLimit } from '../app/rate-limit.js';
import { parseRateLimit } from '../app/rate-limit.js';
import type { Connection } from '../connection.js';

export class RateGate {
  constructor(private readonly conn: Connection) {}

  /** Resolves when a task of `name` may start under `limit` (the broker may hold a changed rate for it). */
  async wait(name: string, limit: RateLimit): Promise<void> {
    const { count, intervalMs } = parseRateLimit(limit, `rateLimit of ${name}`);
    const delay = await this.conn.rateAcquire(name, { count, intervalMs });
    if (delay > 0) await new Promise<void>((resolve) => setTimeout(resolve, delay).unref());
  }
}
