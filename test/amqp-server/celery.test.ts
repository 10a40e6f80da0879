// Python Celery 5.2 (Debian's python3-celery, py-amqp underneath) on broker-server's AMQP listener,
// unchanged: a worker and producers with the rpc:// result backend (reply queues declared by the
// producer, replies through the default exchange). ping and inspect over the pidbox fanout,
// delay().get() in json and msgpack, a failure, 200 tasks, a countdown, self.retry. The seed's
// configuration and Celery beat: celery-seed.test.ts.
import t from 'tap';
import { runPython, startCeleryWorker } from '../helpers/celery.js';
import { startAmqpBroker } from './amqp-helpers.js';

const broker = await startAmqpBroker(t);
// kombu reads the vhost from the URL's path: '//' is '/'.
const url = `${broker.amqpUrl.replace('amqp://', 'amqp://guest:guest@')}//`;
const env = { CELERY_BROKER_URL: url, CELERY_RESULT_BACKEND: 'rpc://' };
const worker = await startCeleryWorker(t, { broker: url, backend: 'rpc://', app: 'celery_app.tasks', env });

t.test('ping and inspect reach the worker over the pidbox fanout, replies over rpc reply queues', async (t) => {
  const out = await runPython(t, `
from celery_app.tasks import app
print('ping', app.control.ping(timeout=3))
queues = app.control.inspect(timeout=3).active_queues()
print('queues', sorted(q['name'] for q in queues['${worker.hostname}']))
`, env);
  t.match(out, `ping [{'${worker.hostname}': {'ok': 'pong'}}]`);
  t.match(out, "queues ['celery']");
});

t.test('delay().get() with rpc://, json and msgpack; a failure comes back as the exception', async (t) => {
  for (const serializer of ['json', 'msgpack']) {
    const out = await runPython(t, `
from celery_app.tasks import add, echo, fail
print('add', add.delay(2, 3).get(timeout=15))
print('echo', echo.delay({'a': [1, 'two', None]}).get(timeout=15))
try:
    fail.delay('boom').get(timeout=15)
except ValueError as e:
    print('fail', e)
`, { ...env, CELERY_TASK_SERIALIZER: serializer, CELERY_RESULT_SERIALIZER: serializer });
    t.match(out, 'add 5', serializer);
    t.match(out, "echo {'a': [1, 'two', None]}", serializer);
    t.match(out, 'fail boom', serializer);
  }
});

t.test('200 tasks and a countdown', async (t) => {
  const out = await runPython(t, `
import time
from celery_app.tasks import add
results = [add.delay(i, i) for i in range(200)]
print('sum', sum(r.get(timeout=30) for r in results))
start = time.time()
print('countdown', add.apply_async((20, 22), countdown=1).get(timeout=15), time.time() - start >= 0.9)
`, env);
  t.match(out, 'sum 39800');
  t.match(out, 'countdown 42 True');
  await worker.logged(/Task tasks\.add\[[0-9a-f-]+\] succeeded/, 'the worker to log an add');
});

t.test('self.retry: the task comes back (with its countdown) until it succeeds', async (t) => {
  const out = await runPython(t, `
from celery_app.tasks import retry_until
r = retry_until.delay(2)
print('retries', r.get(timeout=20))
`, env);
  t.match(out, 'retries 2');
  const id = /Task tasks\.retry_until\[([0-9a-f-]+)\] retry/.exec(worker.output())?.[1];
  t.ok(id, 'the worker logged the retry');
  t.equal(worker.output().match(new RegExp(`Task tasks\\.retry_until\\[${id}\\] retry`, 'g'))?.length, 2, 'retried twice');
  await worker.logged(new RegExp(`Task tasks\\.retry_until\\[${id}\\] succeeded in [0-9.e-]+s: 2`), 'the worker to log retry_until succeeded');
  t.pass('it succeeded on the third run');
});
