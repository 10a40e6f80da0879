// The result of a chain: the last step's AsyncResult, which also knows the earlier steps, so a
// failed step fails get() at once instead of leaving the caller waiting on a step that never runs.
import { AsyncResult, checkTimeout, type GetResultOptions, type ResultSource } from './async-result.js';

/** The AsyncResult of a chain's last step; `parents` are the earlier steps whose results are stored. */
export class ChainResult<R = unknown> extends AsyncResult<R> {
  constructor(
    id: string,
    source: ResultSource,
    /** Earlier steps (execution order) that store a result; a failure of one fails the chain. */
    readonly parents: readonly AsyncResult[],
  ) {
    super(id, source);
  }

  /** The step before the last (Celery's `result.parent`), or null for a one-step chain. */
  get parent(): AsyncResult | null {
    return this.parents[this.parents.length - 1] ?? null;
  }

  /**
   * Waits for the last step. Like Celery, checks the earlier steps on the way: one that failed
   * or was revoked rejects the chain with that step's error (its later steps never ran).
   */
  override async get(options: GetResultOptions = {}): Promise<R> {
    const { timeout, propagate = true } = options;
    if (!propagate || this.parents.length === 0) return super.get(options);
    checkTimeout(timeout);
    const deadline = timeout === undefined ? undefined : Date.now() + timeout;
    const left = (): GetResultOptions => (deadline === undefined ? {} : { timeout: Math.max(0, deadline - Date.now()) });
    // In order: a step is final before the next one is sent, so each wait is as long as that step.
    for (const p of this.parents) await p.get(left());
    return super.get(left());
  }
}
