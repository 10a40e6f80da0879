// Shared bits of the pool tests: fixture paths, a job builder and a bounded wait on a run.
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PoolJob, PoolOutcome } from '../../client/worker/pool-types.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'pool-apps');
export const TASKS_APP = join(FIXTURES, 'tasks.mjs');

/** A job for `taskName`, with fresh ids and no limits unless given. */
export function job(taskName: string, args: unknown[] = [], over: Partial<PoolJob> & { retries?: number } = {}): PoolJob {
  const id = randomUUID();
  const { retries = 0, ...rest } = over;
  return {
    taskName,
    args,
    kwargs: {},
    timeLimit: null,
    softTimeLimit: null,
    request: {
      id, task: taskName, retries, rootId: id, parentId: null, groupId: null, groupIndex: null, eta: null, expires: null,
      hostname: 'test@localhost', deliveryInfo: { exchange: 'tasks', routingKey: 'task.default', redelivered: false, priority: null },
      origin: null, timeLimit: over.timeLimit ?? null, softTimeLimit: over.softTimeLimit ?? null, headers: {},
    },
    ...rest,
  };
}

/** The promise's value, or a rejection after `ms` (default 10 s) so a broken pool fails instead of hanging. */
export function within<T>(p: Promise<T>, ms = 10_000, what = 'the run'): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms); }),
  ]);
}

/** The value of a success outcome; throws with the outcome when it is anything else. */
export function valueOf(o: PoolOutcome): unknown {
  if (o.status !== 'success') throw new Error(`expected success, got ${JSON.stringify(o)}`);
  return o.value;
}
