// Picks the pool a worker runs its tasks in: in-process (async) or isolated runners (threads,
// processes) that load the app module themselves and can be killed at the hard time limit.
import { fail } from '../../shared/errors.js';
import type { WorkerPool } from '../app/settings.js';
import type { TaskRegistry } from '../tasks/definition.js';
import type { Pool, PoolOptions } from './pool-types.js';
import { createAsyncPool } from './pools/async-pool.js';
import { createIsolatedPool } from './pools/isolated-pool.js';

export function createPool(kind: WorkerPool, registry: TaskRegistry, options: PoolOptions): Pool {
  if (kind === 'async') return createAsyncPool(registry, options);
  if (options.appModule === undefined) {
    throw fail('ERR_INVALID_ARGUMENT', `the ${kind} pool loads the app in each runner: give the worker appModule (the module whose default export or \`app\` export is the Celeriac app; \`celeriac worker -A\` does)`);
  }
  return createIsolatedPool(kind, options);
}
