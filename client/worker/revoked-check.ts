// Is this task revoked? Asked of the result backend just before a task starts, when the transport
// does not drop revoked messages itself. broker-server keeps revocations beside its queues and never
// hands a revoked message out; a pair without that shared store (RabbitMQ or broker-server with a
// Redis result backend, whose link is not atomic) delivers it, and the worker must look, as
// Celery's worker looks in its revoked set. Ids asked in the same turn of the event loop go in one
// revokedAmong call.
import type { ResultBackend } from '../result-backend/result-backend.js';

/** Most ids one revokedAmong may name (the contract's limit). */
const MAX_IDS = 10_000;

export class RevokedCheck {
  #pending = new Map<string, Array<(revoked: boolean) => void>>();
  #scheduled = false;

  /** `onError` hears of a check that failed: its tasks run (a revoke is a request, not a guarantee). */
  constructor(private readonly results: ResultBackend, private readonly onError: (err: unknown) => void) {}

  /** True when `taskId` is revoked now; false when it is not or the check failed. */
  isRevoked(taskId: string): Promise<boolean> {
    return new Promise((resolve) => {
      const waiting = this.#pending.get(taskId);
      if (waiting === undefined) this.#pending.set(taskId, [resolve]);
      else waiting.push(resolve);
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => { void this.#flush(); });
    });
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = new Map();
    const ids = [...batch.keys()];
    for (let first = 0; first < ids.length; first += MAX_IDS) {
      const chunk = ids.slice(first, first + MAX_IDS);
      let revoked: Set<string>;
      try {
        revoked = new Set(await this.results.revokedAmong(chunk));
      } catch (err) {
        this.onError(err);
        revoked = new Set();
      }
      for (const id of chunk) for (const resolve of batch.get(id)!) resolve(revoked.has(id));
    }
  }
}
