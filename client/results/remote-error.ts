// Errors crossing process boundaries: a thrown value becomes Celery's exc_type / exc_message /
// traceback, and comes back at the caller as a TaskFailedError carrying the remote name and stack.
import { CeleriacError } from '../../shared/errors.js';
import type { SerializedError } from '../worker/pool-types.js';

/** Turns anything a task threw into plain data (an Error keeps its class name and stack). */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const out: SerializedError = { name: err.name || err.constructor.name || 'Error', message: err.message, stack: err.stack ?? `${err.name}: ${err.message}` };
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') out.code = code;
    return out;
  }
  const message = typeof err === 'string' ? err : safeString(err);
  return { name: 'Error', message, stack: `Error: ${message} (a non-Error value was thrown)` };
}

function safeString(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** The fields of a failure as the caller reads them off a TaskFailedError's details. */
export interface RemoteErrorDetails {
  taskId: string;
  /** The remote error's class name, e.g. 'TypeError' (Celery's exc_type). */
  remoteName: string;
  remoteMessage: string;
  /** The remote stack (Celery's traceback). */
  remoteStack: string;
  remoteCode?: string;
}

/** The error AsyncResult.get() rejects with for a FAILURE: code ERR_TASK_FAILED (or the remote's own code when it is a task-layer one). */
export function remoteFailure(taskId: string, e: SerializedError): CeleriacError {
  const details: RemoteErrorDetails = { taskId, remoteName: e.name, remoteMessage: e.message, remoteStack: e.stack };
  if (e.code !== undefined) details.remoteCode = e.code;
  const code = e.code === 'ERR_TIME_LIMIT' || e.code === 'ERR_WORKER_LOST' || e.code === 'ERR_CHORD_FAILED' || e.code === 'ERR_UNKNOWN_TASK' || e.code === 'ERR_DELIVERY_LIMIT' ? e.code : 'ERR_TASK_FAILED';
  const err = new CeleriacError(code, `task ${taskId} failed: ${e.name}: ${e.message}`, { details: { ...details } });
  // The remote stack first, so a log of this error shows where the task failed.
  err.stack = `${err.name}: ${err.message}\n--- remote ${e.stack}\n--- local\n${(err.stack ?? '').split('\n').slice(1).join('\n')}`;
  return err;
}
