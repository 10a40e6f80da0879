// Task states, as Celery names them, and the sets derived from them [celery/states.py].
// Both sides use them: the broker's result store knows which states are final.

/** Every state a task result can be in. */
export const TASK_STATES = ['PENDING', 'RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED'] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** Final states: a result in one of these will not change again (AsyncResult.ready()). */
export const READY_STATES: ReadonlySet<TaskState> = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);
/** States that mean the task did not succeed and will not run again. */
export const EXCEPTION_STATES: ReadonlySet<TaskState> = new Set(['FAILURE', 'RETRY', 'REVOKED']);
/** States on the way to a final one. */
export const UNREADY_STATES: ReadonlySet<TaskState> = new Set(['PENDING', 'RECEIVED', 'STARTED', 'RETRY']);

export function isTaskState(s: unknown): s is TaskState {
  return typeof s === 'string' && (TASK_STATES as readonly string[]).includes(s);
}

/**
 * Celery's state precedence [celery/states.py PRECEDENCE], earliest-wins order: SUCCESS first,
 * PENDING last, `null` standing for any state not named (custom ones). An event whose state comes
 * later in this list than the task's current one happened before it (events of one task can arrive
 * out of order from different senders), so it does not change the state.
 */
export const STATE_PRECEDENCE: readonly (string | null)[] = ['SUCCESS', 'FAILURE', null, 'REVOKED', 'STARTED', 'RECEIVED', 'REJECTED', 'RETRY', 'PENDING'];

const PRECEDENCE_INDEX = new Map(STATE_PRECEDENCE.map((s, i) => [s, i]));
const UNKNOWN_PRECEDENCE = PRECEDENCE_INDEX.get(null)!;

/** The index of `state` in STATE_PRECEDENCE (a higher number happened earlier). */
export function statePrecedence(state: string): number {
  return PRECEDENCE_INDEX.get(state) ?? UNKNOWN_PRECEDENCE;
}
