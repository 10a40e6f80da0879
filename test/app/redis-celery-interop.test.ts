// Celery's Redis key layout shared both ways, with Debian's Python Celery 5.2 on one RabbitMQ and
// one Redis: a Python worker stores the results of tasks celeriac sent (json, and msgpack read by
// a json app through sniffing) and celeriac's get() reads them; a celeriac worker stores the
// results of tasks Python sent, and celeriac's revoke its REVOKED, and Python reads them.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Celeriac } from '../../client/index.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { startRedis } from '../helpers/redis.js';
import { runPython, startCeleryWorker } from '../helpers/celery.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;
const [rabbit, redis] = await Promise.all([startRabbit(t), startRedis(t)]);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);

t.test("results a Python Celery worker stores (json, msgpack) are read by celeriac's get()", async (t) => {
  const queue = unique('py-worker');
  const packed = unique('py-worker-msgpack');
  // Two Python workers: one writing json results, one msgpack (the fixture reads its serializers from the environment).
  await Promise.all([
    startCeleryWorker(t, { broker: rabbit.url, backend: redis.url, app: 'celery_app.tasks', queues: [queue] }),
    startCeleryWorker(t, { broker: rabbit.url, backend: redis.url, app: 'celery_app.tasks', queues: [packed], env: { CELERY_RESULT_SERIALIZER: 'msgpack' } }),
  ]);
  const app = new Celeriac({ broker: rabbit.url, resultBackend: redis.url, resultAcceptContent: ['json', 'msgpack'] });
  t.teardown(() => app.close());
  const sum = await app.sendTask<number>('tasks.add', [2, 3], { queue });
  t.equal(await sum.get({ timeout: 20_000 }), 5);
  const echoed = await app.sendTask('tasks.echo', [{ a: [1, 'x'] }], { queue: packed });
  t.same(await echoed.get({ timeout: 20_000 }), { a: [1, 'x'] }, 'a msgpack result, read by a json app');
  t.equal((await (await app.backend()).getResult(echoed.id))?.contentType, 'application/x-msgpack');
  const failed = await app.sendTask('tasks.fail', ['from python'], { queue });
  const err = await failed.get({ timeout: 20_000 }).then(() => null, (e: unknown) => e as { code: string; details: Record<string, unknown> });
  t.equal(err?.code, 'ERR_TASK_FAILED');
  t.match(err?.details, { remoteName: 'ValueError', remoteMessage: 'from python' });
  t.match(await failed.traceback, /Traceback \(most recent call last\)/, "Python's traceback");
});

t.test("results a celeriac worker stores are read by Python's AsyncResult.get()", async (t) => {
  const queue = unique('ts-worker');
  const app = new Celeriac({ broker: rabbit.url, resultBackend: redis.url, taskDefaultQueue: queue });
  t.teardown(() => app.close());
  app.task('tasks.add', (a: number, b: number) => a + b);
  app.task('tasks.fail', (message: string) => {
    throw new Error(message);
  });
  const worker = app.worker({ log: () => undefined });
  t.teardown(() => worker.close({ force: true }));
  await worker.start();
  const q = JSON.stringify(queue);
  // A revoke writes REVOKED itself (no worker): Python reads Celery's TaskRevokedError from it.
  const revoked = unique('revoked');
  await app.control.revoke(revoked);
  const out = await runPython(t, [
    'import json',
    'from celery_app.tasks import app',
    `r = app.send_task("tasks.add", (20, 22), queue=${q})`,
    `f = app.send_task("tasks.fail", ("from celeriac",), queue=${q})`,
    'value = r.get(timeout=20)',
    'f.get(timeout=20, propagate=False)',
    `v = app.AsyncResult(${JSON.stringify(revoked)})`,
    'print(json.dumps({"value": value, "state": r.state, "failed": f.state, "traceback": f.traceback,',
    '                  "revoked": [v.state, type(v.result).__name__]}))',
  ].join('\n'), { CELERY_BROKER_URL: rabbit.url, CELERY_RESULT_BACKEND: redis.url });
  const got = JSON.parse(out.trim().split('\n').pop()!) as { value: number; state: string; failed: string; traceback: string; revoked: [string, string] };
  t.equal(got.value, 42, 'Python read the sum celeriac stored');
  t.equal(got.state, 'SUCCESS');
  t.equal(got.failed, 'FAILURE');
  t.match(got.traceback, /Error: from celeriac/, "celeriac's stack as the traceback");
  t.same(got.revoked, ['REVOKED', 'TaskRevokedError'], 'a revoke celeriac stored reads as Celery\'s own');
});
