// The ends of a run that a pool decides itself (hard time limit, lost runner, terminate, unknown
// task) as serialized errors, and the abort reasons a running task's signal carries.
import { CeleriacError } from '../../../shared/errors.js';
import { serializeError } from '../../results/remote-error.js';
import type { PoolJob, SerializedError } from '../pool-types.js';

/** Name of the abort reason at the soft time limit (Celery's SoftTimeLimitExceeded). */
export const SOFT_TIME_LIMIT = 'SoftTimeLimitExceeded';
/** Name of the abort reason at the hard time limit (Celery's TimeLimitExceeded); async pool only. */
export const TIME_LIMIT = 'TimeLimitExceeded';
/** Name of the abort reason of a revoke with terminate. */
export const TERMINATED = 'Terminated';
/** Name of the abort reason of abortAll and of a forced close (cold shutdown). */
export const ABORTED = 'AbortError';

/**
 * An Error with a chosen class name, used as an AbortSignal reason. Plain data (name, message)
 * crosses to isolated runners, which rebuild it there so the task sees an Error of its own realm.
 */
export function abortReason(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

/** The soft time limit's abort reason. */
export function softLimitReason(job: PoolJob, limit: number): { name: string; message: string } {
  return { name: SOFT_TIME_LIMIT, message: `task ${job.taskName}[${job.request.id}] passed its soft time limit of ${limit} ms` };
}

/** Outcome error of a run stopped at its hard time limit (code ERR_TIME_LIMIT). */
export function timeLimitError(job: PoolJob, limit: number): SerializedError {
  return coded('ERR_TIME_LIMIT', `task ${job.taskName}[${job.request.id}] passed its hard time limit of ${limit} ms`, job);
}

/** Outcome error of a run whose runner died (code ERR_WORKER_LOST). */
export function workerLostError(job: PoolJob, why: string): SerializedError {
  return coded('ERR_WORKER_LOST', `runner of task ${job.taskName}[${job.request.id}] was lost: ${why}`, job);
}

/** Outcome error of a run stopped by a revoke with terminate (code ERR_TASK_REVOKED). */
export function terminatedError(job: PoolJob, signal: string): SerializedError {
  return coded('ERR_TASK_REVOKED', `task ${job.taskName}[${job.request.id}] was terminated (${signal})`, job);
}

/** Outcome error of a job naming a task the registry does not have (code ERR_UNKNOWN_TASK). */
export function unknownTaskError(job: PoolJob): SerializedError {
  return coded('ERR_UNKNOWN_TASK', `no task named '${job.taskName}' is registered in this app`, job);
}

function coded(code: 'ERR_TIME_LIMIT' | 'ERR_WORKER_LOST' | 'ERR_TASK_REVOKED' | 'ERR_UNKNOWN_TASK', message: string, job: PoolJob): SerializedError {
  return serializeError(new CeleriacError(code, message, { details: { taskId: job.request.id, task: job.taskName } }));
}
