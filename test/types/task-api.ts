// Type tests of the task layer (`Celeriac`, tasks, AsyncResult, canvas): what a task returns is the
// type get() resolves to, arguments are checked against the function, settings and options are
// checked by name. Compiled by `tsc -p test/types/tsconfig.json` in `npm test`; never run.
import {
  Celeriac, chain, chord, group, fromCeleryConfig,
  type AsyncResult, type GroupResult, type Task, type TaskContext, type Worker,
} from '../../client/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function exact<T>() {
  return <V>(_value: V, ..._proof: Equal<V, T> extends true ? [] : [never]): void => {};
}

export async function taskSurface(url: string): Promise<void> {
  const app = new Celeriac({ broker: url, workerConcurrency: 4, taskAcksLate: true, resultExpires: 60_000 });
  // @ts-expect-error an unknown setting
  new Celeriac({ workerConcurency: 4 });
  // @ts-expect-error a setting of the wrong type
  new Celeriac({ taskAcksLate: 'yes' });
  new Celeriac(fromCeleryConfig({ BROKER_URL: url, CELERYD_CONCURRENCY: 4 }));

  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  exact<Task<[a: number, b: number], number>>()(add);
  const fetchText = app.task('tasks.fetch', async function (this: TaskContext, path: string) {
    this.signal.throwIfAborted();
    return path.length > 0 ? path : null;
  }, { rateLimit: '10/s', autoretryFor: [TypeError], retryBackoff: true, maxRetries: 5 });
  const bound = app.task('tasks.bound', (ctx: TaskContext, n: number) => `${ctx.id}:${n}`, { bind: true });
  // @ts-expect-error an unknown task option
  app.task('tasks.bad', () => 1, { maxRetry: 3 });

  const r = await add.delay(2, 3);
  exact<AsyncResult<number>>()(r);
  exact<number>()(await r.get({ timeout: 1_000 }));
  exact<string | null>()(await (await fetchText.delay('x')).get());
  exact<string>()(await (await bound.delay(1)).get());
  // @ts-expect-error a string where the task takes a number
  await add.delay('2', 3);
  // @ts-expect-error too few arguments
  await add.delay(2);
  await add.applyAsync([2, 3], { countdown: 1_000, expires: 60_000, priority: 5, queue: 'web_tasks', routingKey: 'web.add' });
  // @ts-expect-error countdown is a number of ms
  await add.applyAsync([2, 3], { countdown: '10s' });
  exact<AsyncResult<unknown>>()(await app.sendTask('tasks.add', [2, 3]));
  exact<AsyncResult<number>>()(await app.sendTask<number>('tasks.add', [2, 3]));

  const sum = app.task('tasks.sum', (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  exact<number>()(await (await chain(add.s(1, 1), add.s(2)).delay()).get());
  exact<number>()(await (await chord([add.s(1, 1), add.s(2, 2)], sum.s()).delay()).get());
  // A task another worker runs (a Python one), by name: typed by the caller.
  exact<string>()(await (await chain(add.s(1, 1), app.signature<string>('py.format', [], { queue: 'py', kwargs: { width: 3 } })).delay()).get());
  // @ts-expect-error args are a list
  app.signature('py.format', 'x');
  const g = await group(add.s(1, 1), add.s(2, 2)).delay();
  exact<GroupResult<[number, number]>>()(g);

  const worker: Worker = app.worker({ queues: ['web_tasks'], concurrency: 4, pool: 'async' });
  // @ts-expect-error an unknown pool
  app.worker({ pool: 'gevent' });
  await worker.start();
  await worker.close({ force: true });
  await app.close();
}
