// Task.call(): runs a task function in this process as a worker would (context, retries by the
// same rules) but without a broker: a retry request or failure surfaces as the thrown error.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { fail } from '../../shared/errors.js';
import { remoteFailure } from '../results/remote-error.js';
import { LazyAbort } from '../worker/lazy-abort.js';
import { runTask } from '../worker/run-task.js';
import type { TaskDefinition } from './definition.js';

/** Runs `def` with `args` once; resolves with its value, rejects with its error (a retry request is an error here). */
export async function runLocally<R>(def: TaskDefinition, args: readonly unknown[]): Promise<R> {
  const id = randomUUID();
  const outcome = await runTask(def, {
    taskName: def.name, args: [...args], kwargs: {}, timeLimit: null, softTimeLimit: null,
    request: {
      id, task: def.name, retries: 0, rootId: id, parentId: null, groupId: null, groupIndex: null, eta: null, expires: null,
      hostname: hostname(), deliveryInfo: { exchange: '', routingKey: '', redelivered: false, priority: null }, origin: null,
      timeLimit: null, softTimeLimit: null, headers: {},
    },
  }, new LazyAbort());
  if (outcome.status === 'success') return outcome.value as R;
  if (outcome.status === 'retry') throw fail('ERR_INVALID_ARGUMENT', `task ${def.name} asked for a retry while called locally (call() does not retry)`);
  throw remoteFailure(id, outcome.error);
}
