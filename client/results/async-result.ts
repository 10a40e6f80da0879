// AsyncResult: a handle on one task's result in the broker. get() waits for the broker to push
// the final state, never by polling: on broker-server the task's publish registered that wait
// (client/pushed-results.ts), else get() asks with a resultWait; the other reads are one request each.
import { fail } from '../../shared/errors.js';
import type { ResultRecord } from '../../shared/frames.js';
import { READY_STATES, type TaskState } from '../../shared/task-states.js';
import type { ResultBackend } from '../result-backend/result-backend.js';
import type { CompiledAccept } from '../../shared/messages/content-guard.js';
import { remoteFailure } from './remote-error.js';
import { decodeRecord, errorOfMeta, type ResultMeta } from './result-meta.js';

/** What a result handle needs from its app: the result backend and the result whitelist. */
export interface ResultSource {
  backend(): Promise<ResultBackend>;
  readonly resultAccept: CompiledAccept;
}

/** A task state, or UNKNOWN for an id the broker does not know (never sent, expired, forgotten). */
export type ResultState = TaskState | 'UNKNOWN';

/** Options of AsyncResult.get(). */
export interface GetResultOptions {
  /** Give up after this many ms with ERR_RESULT_TIMEOUT; default: wait as long as it takes. */
  timeout?: number;
  /** Reject with the task's error when it failed (default true); false resolves with the error info instead. */
  propagate?: boolean;
}

/** Refuses a get() timeout that is not a number of ms >= 0 (undefined = wait as long as it takes). */
export function checkTimeout(timeout: number | undefined): void {
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout < 0)) throw fail('ERR_INVALID_ARGUMENT', `get timeout must be a number of ms >= 0, got ${String(timeout)}`);
}

/** The longest single wait asked of the broker (it caps waits at 5 minutes); longer waits ask again. */
const WAIT_SLICE = 60_000;

/** A task's result, typed by what the task returns. */
export class AsyncResult<R = unknown> {
  /**
   * The final record get() returned. The broker pushes it to a waiting get() before it is
   * durable, and a read right after could still say PENDING: a final state never goes back, so
   * the kept record answers instead. A broker that no longer knows the id (expired, forgotten)
   * is believed.
   */
  private final: ResultRecord | undefined;

  constructor(readonly id: string, protected readonly source: ResultSource) {}

  /**
   * Waits for the task to finish and resolves with its return value. Rejects with
   * ERR_TASK_FAILED (details: remoteName, remoteMessage, remoteStack) when it failed,
   * ERR_TASK_REVOKED when it was revoked or expired, ERR_UNKNOWN_TASK_ID when the broker does
   * not know the id, ERR_RESULT_TIMEOUT after `timeout` ms.
   */
  async get(options: GetResultOptions = {}): Promise<R> {
    const { timeout, propagate = true } = options;
    checkTimeout(timeout);
    const conn = await this.source.backend();
    const deadline = timeout === undefined ? Infinity : Date.now() + timeout;
    for (;;) {
      const left = deadline - Date.now();
      const rec = await conn.waitResult(this.id, Math.max(0, Math.min(left, WAIT_SLICE)));
      if (rec === null) throw fail('ERR_UNKNOWN_TASK_ID', `no task with id ${this.id} is known to the broker (never sent, expired or forgotten)`, { taskId: this.id });
      if (READY_STATES.has(rec.state as TaskState)) {
        this.final = rec;
        return this.settle(rec, propagate);
      }
      if (Date.now() >= deadline) throw fail('ERR_RESULT_TIMEOUT', `task ${this.id} was not ready within ${timeout} ms (state ${rec.state})`, { taskId: this.id, state: rec.state });
    }
  }

  /** The current state; UNKNOWN when the broker does not know the id. */
  get state(): Promise<ResultState> {
    return this.record().then((r) => (r === null ? 'UNKNOWN' : (r.state as TaskState)));
  }

  /** True once the task succeeded, failed or was revoked. */
  async ready(): Promise<boolean> {
    const r = await this.record();
    return r !== null && READY_STATES.has(r.state as TaskState);
  }

  /** True when it succeeded. */
  async successful(): Promise<boolean> {
    return (await this.state) === 'SUCCESS';
  }

  /** True when it failed. */
  async failed(): Promise<boolean> {
    return (await this.state) === 'FAILURE';
  }

  /** The return value once SUCCESS, the error info for FAILURE/RETRY/REVOKED, null before. */
  get result(): Promise<R | Record<string, unknown> | null> {
    return this.meta().then((m) => (m === null ? null : (m.result as R | Record<string, unknown> | null)));
  }

  /** The remote stack of a failed task, null otherwise. */
  get traceback(): Promise<string | null> {
    return this.meta().then((m) => m?.traceback ?? null);
  }

  /** The stored meta as Celery writes it (status, result, traceback, date_done, ...), null when unknown. */
  async meta(): Promise<ResultMeta | null> {
    const rec = await this.record();
    return rec === null ? null : decodeRecord(rec, this.source.resultAccept);
  }

  /** Forgets the result in the broker; afterwards the id is unknown. */
  async forget(): Promise<void> {
    await (await this.source.backend()).forgetResult(this.id);
  }

  toString(): string {
    return this.id;
  }

  toJSON(): string {
    return this.id;
  }

  private async record(): Promise<ResultRecord | null> {
    const rec = await (await this.source.backend()).getResult(this.id);
    if (rec !== null && this.final !== undefined && !READY_STATES.has(rec.state as TaskState)) return this.final;
    return rec;
  }

  private settle(rec: ResultRecord, propagate: boolean): R {
    const meta = decodeRecord(rec, this.source.resultAccept);
    if (meta.status === 'SUCCESS') return meta.result as R;
    if (!propagate) return meta.result as R;
    if (meta.status === 'REVOKED') {
      const why = errorOfMeta(meta).message || 'revoked';
      throw fail('ERR_TASK_REVOKED', `task ${this.id} was revoked (${why})`, { taskId: this.id });
    }
    throw remoteFailure(this.id, errorOfMeta(meta));
  }
}
