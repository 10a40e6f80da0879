// Built-in tasks every app registers (Celery's celery.map / celery.starmap): one task message that
// calls another registered task for each item in turn, in the worker, and returns the list of results.
import { fail } from '../../shared/errors.js';
import type { TaskDefinition } from '../tasks/definition.js';
import type { TaskContext, TaskFunction, TaskOptions } from '../tasks/types.js';

/** Names of the built-in tasks, as Celery names them (a Celery producer can send them too). */
export const BUILTIN_TASKS = { map: 'celery.map', starmap: 'celery.starmap' } as const;

/** What registering a built-in needs from the app. */
export interface BuiltinHost {
  task<A extends unknown[], R>(name: string, fn: TaskFunction<A, R>, options?: TaskOptions & { bind?: false }): unknown;
  getTask(name: string): TaskDefinition | undefined;
}

/** Calls `def` as the worker would, with a context of the running built-in renamed to it. */
async function callTask(def: TaskDefinition, ctx: TaskContext, args: readonly unknown[]): Promise<unknown> {
  const fn = def.fn as (...a: unknown[]) => unknown;
  const inner: TaskContext = { id: ctx.id, name: def.name, retries: ctx.retries, signal: ctx.signal, request: ctx.request, retry: ctx.retry };
  return def.options.bind ? fn.call(undefined, inner, ...args) : fn.apply(inner, [...args]);
}

function lookup(host: BuiltinHost, builtin: string, name: unknown, items: unknown): TaskDefinition {
  if (typeof name !== 'string') throw fail('ERR_INVALID_ARGUMENT', `${builtin} takes a task name and a list of items`);
  if (!Array.isArray(items)) throw fail('ERR_INVALID_ARGUMENT', `${builtin}(${name}) takes a list of items, got ${typeof items}`);
  const def = host.getTask(name);
  if (def === undefined) throw fail('ERR_UNKNOWN_TASK', `${builtin}: no task named '${name}' is registered in this worker`);
  return def;
}

/** Registers celery.map and celery.starmap on `app` (the Celeriac constructor calls this). */
export function registerBuiltins(app: BuiltinHost): void {
  app.task(BUILTIN_TASKS.map, async function map(this: TaskContext, name: string, items: unknown[]): Promise<unknown[]> {
    const def = lookup(app, BUILTIN_TASKS.map, name, items);
    const out: unknown[] = [];
    // One after the other, as Celery does: the items share this task's run and its limits.
    for (const item of items) out.push(await callTask(def, this, [item]));
    return out;
  });
  app.task(BUILTIN_TASKS.starmap, async function starmap(this: TaskContext, name: string, items: unknown[][]): Promise<unknown[]> {
    const def = lookup(app, BUILTIN_TASKS.starmap, name, items);
    const out: unknown[] = [];
    for (const [i, item] of items.entries()) {
      if (!Array.isArray(item)) throw fail('ERR_INVALID_ARGUMENT', `${BUILTIN_TASKS.starmap}(${name}): item ${i} must be an argument list`);
      out.push(await callTask(def, this, item));
    }
    return out;
  });
}
