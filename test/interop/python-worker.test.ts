// celeriac producing, Python Celery 5.2 (Debian) consuming: app.sendTask() through one RabbitMQ,
// results in one Redis, for each serializer (json, msgpack): positional and keyword arguments
// arrive as Python types, a result comes back to get(), a Python exception comes back to get() as
// ERR_TASK_FAILED with its type, message and Python traceback, and a countdown held by RabbitMQ's
// delay queues reaches the Python worker no earlier than its time.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { Celeriac } from '../../client/index.js';
import { CeleriacError } from '../../shared/errors.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { startRedis } from '../helpers/redis.js';
import { startCeleryWorker, type CeleryWorker } from '../helpers/celery.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;
const [rabbit, redis] = await Promise.all([startRabbit(t), startRedis(t)]);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);

const SERIALIZERS = ['json', 'msgpack'] as const;
type SerializerName = (typeof SERIALIZERS)[number];

/** One Python worker per serializer (its results in that serializer), each on its own queue, started together. */
const queues = { json: unique('py-json'), msgpack: unique('py-msgpack') };
const workers = await Promise.all(SERIALIZERS.map((s) => startCeleryWorker(t, {
  broker: rabbit.url, backend: redis.url, app: 'celery_app.tasks', queues: [queues[s]],
  env: { CELERY_TASK_SERIALIZER: s, CELERY_RESULT_SERIALIZER: s },
})));
const workerOf: Record<SerializerName, CeleryWorker> = { json: workers[0]!, msgpack: workers[1]! };

/** A celeriac producer writing `serializer` task bodies to that serializer's Python worker. */
function producer(t: Test, serializer: SerializerName): Celeriac {
  const app = new Celeriac({
    broker: rabbit.url, resultBackend: redis.url, taskDefaultQueue: queues[serializer],
    taskSerializer: serializer, resultSerializer: serializer, acceptContent: ['json', 'msgpack'],
  });
  t.teardown(() => app.close());
  return app;
}

interface Described {
  args: unknown[];
  kwargs: Record<string, unknown>;
  arg_types: string[];
  kwarg_types: Record<string, string>;
}

for (const serializer of SERIALIZERS) {
  t.test(`${serializer}: positional and keyword arguments reach Python as its own types; the result comes back to get()`, async (t) => {
    const app = producer(t, serializer);
    const args = [7, 2.5, 'text', null, true, [1, 'a', [2]], { k: 'v', n: [1, 2] }];
    const kwargs = { count: 3, ratio: 0.25, name: 'ünïcode ✓', flag: false, nothing: null, nested: { list: [{ a: 1 }] } };
    const r = await app.sendTask<Described>('tasks.describe', args, { kwargs });
    const got = await r.get({ timeout: 20_000 });
    t.same(got.args, args, 'the args, as sent');
    t.same(got.kwargs, kwargs, 'the kwargs, as sent');
    t.same(got.arg_types, ['int', 'float', 'str', 'NoneType', 'bool', 'list', 'dict'], 'a whole number is an int, 2.5 a float');
    t.same(got.kwarg_types, { count: 'int', ratio: 'float', name: 'str', flag: 'bool', nothing: 'NoneType', nested: 'dict' });
    t.equal((await (await app.backend()).getResult(r.id))?.contentType, serializer === 'json' ? 'application/json' : 'application/x-msgpack', `the Python worker stored ${serializer}`);

    const sum = await app.sendTask<number>('tasks.add', [], { kwargs: { x: 2, y: 40 } });
    t.equal(await sum.get({ timeout: 20_000 }), 42, 'a Python function called by keyword');
    t.equal(await sum.state, 'SUCCESS');
    t.match(await sum.meta(), { task_id: sum.id, status: 'SUCCESS', result: 42, traceback: null }, "Celery's meta, read by celeriac");
    await workerOf[serializer].logged(new RegExp(`Task tasks\\.add\\[${sum.id}\\] succeeded`), 'the Python worker ran it');
    t.pass('the Python worker ran it');
  });

  t.test(`${serializer}: a Python exception comes back to get() as ERR_TASK_FAILED with its type, message and traceback`, async (t) => {
    const app = producer(t, serializer);
    const r = await app.sendTask('tasks.fail', [`raised for ${serializer}`]);
    const err = await r.get({ timeout: 20_000 }).then(() => null, (e: unknown) => e);
    t.ok(err instanceof CeleriacError && err.code === 'ERR_TASK_FAILED', String(err));
    t.match((err as CeleriacError).details, { taskId: r.id, remoteName: 'ValueError', remoteMessage: `raised for ${serializer}` });
    t.equal(await r.state, 'FAILURE');
    t.match(await r.traceback, /Traceback \(most recent call last\):[\s\S]*raise ValueError\(message\)\nValueError: raised for/, "Python's traceback");
    // Keyword arguments on the failing path too: the message is the kwarg.
    const byKw = await app.sendTask('tasks.fail', [], { kwargs: { message: 'by keyword' } });
    await t.rejects(byKw.get({ timeout: 20_000 }), { code: 'ERR_TASK_FAILED', details: { remoteName: 'ValueError', remoteMessage: 'by keyword' } });
  });
}

t.test('a countdown celeriac sends waits in RabbitMQ and reaches the Python worker no earlier than its time', async (t) => {
  const app = producer(t, 'msgpack');
  const countdown = 1_500;
  const sentAt = Date.now();
  const r = await app.sendTask<number>('tasks.add', [20, 22], { countdown });
  t.equal(await r.get({ timeout: 20_000 }), 42);
  const meta = await r.meta();
  // Celery 5.2 writes date_done as naive UTC ISO (datetime.utcnow().isoformat()).
  const done = Date.parse(`${String(meta?.['date_done']).replace(/Z$|[+-]\d\d:\d\d$/, '')}Z`);
  t.ok(done >= sentAt + countdown, `done ${done - sentAt} ms after sending, countdown ${countdown} ms`);
});
