// Chains that cross languages, on one RabbitMQ with results in one Redis: a Python Celery 5.2
// worker and a celeriac worker, each on its own queue, each popping the next step off Celery
// protocol v2's `chain` (remaining steps, reversed) and sending it on with the rest. Python builds
// chain(add | ts.double | mul) and reads the last result and its parents; celeriac builds the same
// shape from app.signature() and task.s() and reads them with its ChainResult.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { Celeriac, chain } from '../../client/index.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { startRedis } from '../helpers/redis.js';
import { runPython, startCeleryWorker } from '../helpers/celery.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;
const [rabbit, redis] = await Promise.all([startRabbit(t), startRedis(t)]);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);

const pyQueue = unique('py');
const tsQueue = unique('ts');
const python = await startCeleryWorker(t, { broker: rabbit.url, backend: redis.url, app: 'celery_app.tasks', queues: [pyQueue] });

/** The celeriac side: `ts.double` and `ts.label` on their own queue; a worker for them. */
const tsLog: string[] = [];
const tsWorkerApp = new Celeriac({ broker: rabbit.url, resultBackend: redis.url, taskDefaultQueue: tsQueue, acceptContent: ['json', 'msgpack'] });
t.teardown(() => tsWorkerApp.close());
tsWorkerApp.task('ts.double', (x: number) => {
  tsLog.push(`double(${x})`);
  return x * 2;
}, { queue: tsQueue });
// Python's kwargs arrive as one trailing object.
tsWorkerApp.task('ts.label', (x: number, options: { prefix: string }) => `${options.prefix}${x}`, { queue: tsQueue });
const tsWorker = tsWorkerApp.worker({ log: () => undefined });
t.teardown(() => tsWorker.close({ force: true }));
await tsWorker.start();

interface PyChain {
  result: unknown;
  parents: unknown[];
  state: string;
}

/** A Python producer script; its last stdout line, parsed. */
async function py<T>(t: Test, lines: readonly string[], serializer = 'json'): Promise<T> {
  const out = await runPython(t, lines.join('\n'), { CELERY_BROKER_URL: rabbit.url, CELERY_RESULT_BACKEND: redis.url, CELERY_TASK_SERIALIZER: serializer });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

const PY_HEAD = [
  'import json',
  'from celery import chain',
  'from celery_app.tasks import app, add, mul',
  `PY, TS = ${JSON.stringify(pyQueue)}, ${JSON.stringify(tsQueue)}`,
  'def parents(r):',
  '    out = []',
  '    while r.parent is not None:',
  '        r = r.parent',
  '        out.append(r.get(timeout=20))',
  '    return out',
];

for (const serializer of ['json', 'msgpack']) {
  t.test(`Python sends chain(add | ts.double | mul) (${serializer}): the Python worker hands step 2 to celeriac, which hands step 3 back`, async (t) => {
    const got = await py<PyChain>(t, [
      ...PY_HEAD,
      'c = chain(add.s(1, 2).set(queue=PY), app.signature("ts.double", queue=TS), mul.s(10).set(queue=PY))',
      'r = c.apply_async()',
      'print(json.dumps({"result": r.get(timeout=20), "parents": parents(r), "state": r.state}))',
    ], serializer);
    t.same(got, { result: 60, parents: [6, 3], state: 'SUCCESS' }, '(1 + 2) * 2 * 10, and each step\'s result on the way');
    t.ok(tsLog.includes('double(3)'), 'celeriac ran the middle step');
  });
}

t.test('Python sends a chain that ends on celeriac, with an immutable step and kwargs: Python reads the last result celeriac stored', async (t) => {
  const got = await py<PyChain>(t, [
    ...PY_HEAD,
    'c = chain(app.signature("ts.double", (4,), queue=TS), add.s(1).set(queue=PY),',
    '          app.signature("ts.label", (7,), {"prefix": "n="}, queue=TS, immutable=True))',
    'r = c.apply_async()',
    'print(json.dumps({"result": r.get(timeout=20), "parents": parents(r), "state": r.state}))',
  ]);
  t.same(got, { result: 'n=7', parents: [9, 8], state: 'SUCCESS' }, 'double(4) = 8, add(8, 1) = 9, then label ignores 9');
});

t.test('celeriac sends a chain whose steps run on the Python worker and the celeriac worker; ChainResult reads them all', async (t) => {
  // A producer with none of the tasks' code: Python's by name, celeriac's through a registered task's s().
  const app = new Celeriac({ broker: rabbit.url, resultBackend: redis.url, taskSerializer: 'msgpack', acceptContent: ['json', 'msgpack'] });
  t.teardown(() => app.close());
  const double = app.task('ts.double', (x: number) => x * 2, { queue: tsQueue });
  const r = await chain(
    app.signature<number>('tasks.add', [1, 2], { queue: pyQueue }),
    double.s(),
    app.signature<number>('tasks.mul', [10], { queue: pyQueue }),
    double.s(),
  ).delay();
  t.equal(await r.get({ timeout: 20_000 }), 120, '((1 + 2) * 2 * 10) * 2');
  t.same(await Promise.all(r.parents.map((p) => p.get({ timeout: 20_000 }))), [3, 6, 60], 'every step stored, in order');
  await python.logged(/Task tasks\.mul\[[0-9a-f-]+\] succeeded in [\d.]+s: 60/, 'the Python worker to log mul(6, 10)');
  t.pass('the Python worker ran mul(6, 10)');
});

t.test('a Python-built chain whose next step is a group: the celeriac step ends FAILURE naming it, instead of sending celery.group as a task', async (t) => {
  const got = await py<{ state: string; error: string }>(t, [
    ...PY_HEAD,
    'from uuid import uuid4',
    'from celery import group',
    'first = str(uuid4())',
    'c = chain(app.signature("ts.double", (2,), queue=TS, task_id=first), group(add.s(1).set(queue=PY), add.s(2).set(queue=PY)))',
    'c.apply_async()',
    'r = app.AsyncResult(first)',
    'r.get(timeout=20, propagate=False)',
    'print(json.dumps({"state": r.state, "error": str(r.result)}))',
  ]);
  t.equal(got.state, 'FAILURE', 'seen from Python');
  t.match(got.error, /the next step of its chain \(celery\.group\) could not be sent: 'celery\.group' is a Celery group signature/, got.error);
});

t.test('callbacks (link) cross too: a Python task links a celeriac task, and a celeriac call links a Python task', async (t) => {
  const got = await py<{ result: number }>(t, [
    ...PY_HEAD,
    'from uuid import uuid4',
    'cb = str(uuid4())',
    'add.apply_async((2, 3), queue=PY, link=app.signature("ts.double", queue=TS, task_id=cb))',
    'print(json.dumps({"result": app.AsyncResult(cb).get(timeout=20)}))',
  ]);
  t.equal(got.result, 10, 'the Python worker sent its result to the celeriac callback; Python read double(5)');

  const app = new Celeriac({ broker: rabbit.url, resultBackend: redis.url, acceptContent: ['json', 'msgpack'] });
  t.teardown(() => app.close());
  const callback = app.signature<number>('tasks.mul', [100], { queue: pyQueue, taskId: `cb-${randomBytes(4).toString('hex')}` });
  const r = await app.sendTask<number>('ts.double', [4], { queue: tsQueue, link: callback });
  t.equal(await r.get({ timeout: 20_000 }), 8);
  t.equal(await app.asyncResult<number>(callback.options.taskId!).get({ timeout: 20_000 }), 800, 'the celeriac worker sent double(4) to the Python callback');
});
