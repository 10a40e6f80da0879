// Python Celery 5.2 (Debian) producing, a celeriac worker consuming, through one RabbitMQ with
// results in one Redis, for each serializer (json, msgpack): app.send_task() by position and by
// keyword with the result read back by Python's AsyncResult.get(); a countdown (Celery writes only
// an eta header: the worker hands the message back to RabbitMQ's delay queues, so it never runs
// early and survives the worker going away); a task that calls this.retry() until it succeeds,
// seen from Python as SUCCESS.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { Celeriac, type TaskContext, type Worker } from '../../client/index.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { startRedis } from '../helpers/redis.js';
import { runPython } from '../helpers/celery.js';
import { until } from '../helpers/wait.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;
const [rabbit, redis] = await Promise.all([startRabbit(t), startRedis(t)]);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);

const SERIALIZERS = ['json', 'msgpack'] as const;
type SerializerName = (typeof SERIALIZERS)[number];

/** When a task started and on which worker. */
interface Clock {
  at: number;
  host: string;
}

/** A celeriac app with the tasks Python calls by name, results in `serializer`, on its own queue. */
function tsApp(t: Test, queue: string, serializer: SerializerName): Celeriac {
  const app = new Celeriac({ broker: rabbit.url, resultBackend: redis.url, taskDefaultQueue: queue, resultSerializer: serializer, acceptContent: ['json', 'msgpack'] });
  t.teardown(() => app.close());
  app.task('ts.add', (a: number, b: number) => a + b);
  // Keyword arguments arrive as one trailing object (JavaScript has no keyword arguments).
  app.task('ts.scale', (value: number, options: { factor: number }) => value * options.factor);
  app.task('ts.clock', function (this: TaskContext): Clock {
    return { at: Date.now(), host: this.request.hostname };
  });
  app.task('ts.flaky', function (this: TaskContext, label: string): string {
    if (this.retries < 2) this.retry({ countdown: 300 });
    return `${label} after ${this.retries} retries`;
  });
  return app;
}

async function startWorker(t: Test, app: Celeriac, lines: string[] = []): Promise<Worker> {
  const w = app.worker({ log: (level, message) => lines.push(`${level}: ${message}`) });
  t.teardown(() => w.close({ force: true }));
  await w.start();
  return w;
}

/**
 * Runs a Python producer script against the file's RabbitMQ and Redis, writing `serializer` task
 * bodies and reading `serializer` results (Celery decodes a result with its own result_serializer:
 * the Redis key carries no content type); its last stdout line, parsed.
 */
async function python<T>(t: Test, serializer: SerializerName, lines: readonly string[]): Promise<T> {
  const out = await runPython(t, lines.join('\n'), {
    CELERY_BROKER_URL: rabbit.url, CELERY_RESULT_BACKEND: redis.url, CELERY_TASK_SERIALIZER: serializer, CELERY_RESULT_SERIALIZER: serializer,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

for (const serializer of SERIALIZERS) {
  t.test(`${serializer}: send_task() by position and keyword, a countdown and a retry, all read back by Python`, async (t) => {
    const queue = unique(`ts-${serializer}`);
    const app = tsApp(t, queue, serializer);
    await startWorker(t, app);
    const q = JSON.stringify(queue);
    const countdown = 1.5;
    const got = await python<{
      ids: string[]; sent: number; plain: number; kw: number; later: Clock; flaky: [string, string]; states: string[];
    }>(t, serializer, [
      'import json, time',
      'from celery_app.tasks import app',
      `plain = app.send_task("ts.add", (2, 3), queue=${q})`,
      `kw = app.send_task("ts.scale", (21,), {"factor": 2}, queue=${q})`,
      'sent = time.time() * 1000',
      `later = app.send_task("ts.clock", queue=${q}, countdown=${countdown})`,
      `flaky = app.send_task("ts.flaky", ("flaky",), queue=${q})`,
      'out = {"ids": [plain.id, kw.id, later.id, flaky.id], "sent": sent, "plain": plain.get(timeout=20), "kw": kw.get(timeout=20),',
      '       "later": later.get(timeout=20), "flaky": [flaky.get(timeout=20), flaky.state]}',
      'out["states"] = [plain.state, kw.state, later.state]',
      'print(json.dumps(out))',
    ]);
    t.equal(got.plain, 5, 'Python read the sum');
    t.equal(got.kw, 42, 'the kwargs arrived as the trailing object');
    t.same(got.states, ['SUCCESS', 'SUCCESS', 'SUCCESS']);
    t.ok(got.later.at >= got.sent + countdown * 1000, `the countdown ran ${got.later.at - got.sent} ms after it was sent, not before ${countdown * 1000} ms`);
    t.same(got.flaky, ['flaky after 2 retries', 'SUCCESS'], 'retried twice through RabbitMQ, then SUCCESS, seen from Python');
    const stored = await (await app.backend()).getResult(got.ids[0]!);
    t.equal(stored?.contentType, serializer === 'json' ? 'application/json' : 'application/x-msgpack', `a ${serializer} result, which Python read`);
  });
}

t.test('a countdown from Python waits in RabbitMQ, not in the worker: the worker goes away, another one runs it when due', async (t) => {
  const queue = unique('ts-handback');
  const lines: string[] = [];
  const first = await startWorker(t, tsApp(t, queue, 'json'), lines);
  const q = JSON.stringify(queue);
  const countdown = 2.5;
  const sent = await python<{ id: string; sent: number }>(t, 'json', [
    'import json, time',
    'from celery_app.tasks import app',
    'sent = time.time() * 1000',
    `r = app.send_task("ts.clock", queue=${q}, countdown=${countdown})`,
    'print(json.dumps({"id": r.id, "sent": sent}))',
  ]);
  await until(() => lines.some((l) => l.includes(sent.id) && /handed back/.test(l)), 10_000, 'the worker to hand the task back until its eta');
  t.same(first.reservedJobs(), [], 'the first worker holds nothing');
  await first.close();
  const second = await startWorker(t, tsApp(t, queue, 'json'));
  const got = await python<Clock>(t, 'json', [
    'import json',
    'from celery_app.tasks import app',
    `print(json.dumps(app.AsyncResult(${JSON.stringify(sent.id)}).get(timeout=20)))`,
  ]);
  t.equal(got.host, second.hostname, 'the second worker ran it');
  t.ok(got.at >= sent.sent + countdown * 1000, `ran ${got.at - sent.sent} ms after it was sent (countdown ${countdown * 1000} ms)`);
});
