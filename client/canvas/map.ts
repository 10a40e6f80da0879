// xmap / xstarmap: Celery's names for a task applied to many items in ONE task message (the
// built-ins celery.map / celery.starmap run them in the worker); same as task.map / task.starmap.
import type { Task } from '../tasks/task.js';
import type { Signature } from './signature.js';

/** `task` called with each item as its one argument, in one task (`task.map(items)`). */
export function xmap<A extends unknown[], R>(task: Task<A, R>, items: readonly A[0][]): Signature<R[]> {
  return task.map(items);
}

/** `task` called with each item as its argument list, in one task (`task.starmap(items)`). */
export function xstarmap<A extends unknown[], R>(task: Task<A, R>, items: readonly A[]): Signature<R[]> {
  return task.starmap(items);
}
