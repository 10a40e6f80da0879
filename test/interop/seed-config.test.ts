// The seed deployment's Celery configuration (test/fixtures/seed-config.ts: topic exchange `tasks`,
// queues `default` and `web_tasks`, a route for projq.tasks.add, msgpack bodies compressed with zlib,
// JSON results kept a day, late acks), given to fromCeleryConfig with nothing changed but its two
// URLs (amqp://, redis://), on one RabbitMQ and one Redis. A celeriac worker runs what a celeriac
// producer and a Python producer on the same configuration send; then a Python worker on that
// configuration (test/fixtures/celery_app/seedconfig.py) runs what celeriac sends. The queues are the
// seed's own names, so the two tests run one after the other on this file's RabbitMQ.
import t, { type Test } from 'tap';
import { Celeriac, fromCeleryConfig, type TaskContext } from '../../client/index.js';
import { seedCeleryConfig } from '../fixtures/seed-config.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { startRedis } from '../helpers/redis.js';
import { runPython, startCeleryWorker } from '../helpers/celery.js';

const [rabbit, redis] = await Promise.all([startRabbit(t), startRedis(t)]);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);

/** The seed's upper-case configuration with its two URLs pointed at this file's servers. */
const seed = (): Record<string, unknown> => ({ ...seedCeleryConfig(rabbit.url), CELERY_RESULT_BACKEND: redis.url });
const pythonEnv = { CELERY_BROKER_URL: rabbit.url, CELERY_RESULT_BACKEND: redis.url };

/** How a message reached a celeriac task. */
interface Arrival {
  task: string;
  exchange: string;
  routingKey: string;
  compression: unknown;
  lang: unknown;
}

function seedApp(t: Test, arrivals?: Arrival[]): Celeriac {
  const app = new Celeriac(fromCeleryConfig(seed()));
  t.teardown(() => app.close());
  const note = (ctx: TaskContext): void => {
    const { exchange, routingKey } = ctx.request.deliveryInfo;
    arrivals?.push({ task: ctx.name, exchange, routingKey, compression: ctx.request.headers['compression'], lang: ctx.request.headers['lang'] });
  };
  app.task('projq.tasks.add', function (this: TaskContext, a: number, b: number) {
    note(this);
    return a + b;
  });
  app.task('projq.tasks.mul', function (this: TaskContext, a: number, b: number) {
    note(this);
    return a * b;
  });
  return app;
}

t.test('a celeriac worker on the seed configuration runs what celeriac and Python producers on it send', async (t) => {
  const arrivals: Arrival[] = [];
  const app = seedApp(t, arrivals);
  t.equal(app.settings.taskAcksLate, true, 'late acks');
  t.equal(app.settings.messageCompression, 'zlib');
  const worker = app.worker({ queues: ['web_tasks', 'default'], log: () => undefined });
  t.teardown(() => worker.close({ force: true }));
  await worker.start();

  const add = app.getTask('projq.tasks.add')!;
  t.equal(add.options.acksLate, true);
  const sum = await app.sendTask<number>('projq.tasks.add', [2, 3]);
  const product = await app.sendTask<number>('projq.tasks.mul', [4, 5]);
  t.equal(await sum.get({ timeout: 15_000 }), 5);
  t.equal(await product.get({ timeout: 15_000 }), 20);
  t.equal((await (await app.backend()).getResult(sum.id))?.contentType, 'application/json', 'JSON results');

  const got = JSON.parse((await runPython(t, [
    'import json',
    'from celery_app.seed import add, mul',
    'a = add.delay(20, 22)',
    'm = mul.delay(6, 7)',
    // Celery 5.2 compresses task messages by result_compression, not CELERY_MESSAGE_COMPRESSION
    // (celery/celery#4838, fixed in 5.3 by #7470): asked per call, zlib reaches celeriac too.
    'z = mul.apply_async((3, 14), compression="zlib")',
    'print(json.dumps({"add": a.get(timeout=20), "mul": m.get(timeout=20), "zlib": z.get(timeout=20)}))',
  ].join('\n'), pythonEnv)).trim().split('\n').pop()!) as { add: number; mul: number; zlib: number };
  t.same(got, { add: 42, mul: 42, zlib: 42 }, 'Python read the results celeriac stored');

  const seen = (task: string, lang: string, compression?: string): Arrival | undefined =>
    arrivals.find((a) => a.task === task && a.lang === lang && a.compression === compression);
  t.match(seen('projq.tasks.add', 'ts', 'application/x-gzip'), { exchange: 'tasks', routingKey: 'web.add' }, "celeriac's add: routed to web_tasks by the seed's route, zlib-compressed");
  t.match(seen('projq.tasks.mul', 'ts', 'application/x-gzip'), { exchange: 'tasks', routingKey: 'task.default' }, "celeriac's mul: the default queue's key");
  t.match(seen('projq.tasks.add', 'py'), { exchange: 'tasks', routingKey: 'web.add' }, "Python's add: the same route");
  // Celery publishes a task routed to a queue of CELERY_QUEUES with that queue's binding key.
  t.match(seen('projq.tasks.mul', 'py'), { exchange: 'tasks', routingKey: 'task.#' }, "Python's mul: to the default queue, by its binding key");
  t.match(seen('projq.tasks.mul', 'py', 'application/x-gzip'), { exchange: 'tasks' }, "Python's zlib-compressed message, decompressed by celeriac");
  await worker.close();
});

t.test('a Python worker on the same configuration runs what celeriac sends; celeriac reads the results', async (t) => {
  const python = await startCeleryWorker(t, { broker: rabbit.url, backend: redis.url, app: 'celery_app.seed', queues: ['web_tasks', 'default'], env: pythonEnv });
  const app = seedApp(t);
  const sum = await app.sendTask<number>('projq.tasks.add', [2, 3]);
  const product = await app.sendTask<number>('projq.tasks.mul', [4, 5]);
  t.equal(await sum.get({ timeout: 20_000 }), 5);
  t.equal(await product.get({ timeout: 20_000 }), 20);
  t.match(await sum.meta(), { status: 'SUCCESS', result: 5, task_id: sum.id }, "the Python worker's JSON meta");
  const succeeded = new RegExp(`Task projq\\.tasks\\.mul\\[${product.id}\\] succeeded`);
  await python.logged(succeeded, "the Python worker's log of mul");
  const log = python.output();
  t.match(log, new RegExp(`Task projq\\.tasks\\.add\\[${sum.id}\\] received`), 'the Python worker took add (from web_tasks)');
  t.match(log, succeeded, 'and mul (from default)');
  t.match(log, /\.> default\s+exchange=tasks\(topic\) key=task\.#/, "it consumes the seed's queues as celeriac declared them");
  t.match(log, /\.> web_tasks\s+exchange=tasks\(topic\) key=web\.#/);
});
