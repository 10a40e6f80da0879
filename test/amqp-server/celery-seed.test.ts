// Python Celery 5.2 on broker-server's AMQP listener with the seed deployment's configuration
// (test/fixtures/celery_app/seedconfig.py: topic exchange `tasks`, queues `default` (task.#) and
// `web_tasks` (web.#), the projq.tasks.add route, msgpack, zlib, late acks) and the rpc:// backend:
// the messages as they wait in the queues, a Python worker running them, and Celery beat firing an
// interval entry into the same worker.
import t from 'tap';
import { inflateSync } from 'node:zlib';
import { decode } from '@msgpack/msgpack';
import type { GetMessage } from 'amqplib';
import { runPython, startCeleryBeat, startCeleryWorker, type CeleryWorker } from '../helpers/celery.js';
import { api } from '../helpers/http.js';
import { until, untilAsync } from '../helpers/wait.js';
import { channel, open, startAmqpBroker } from './amqp-helpers.js';

const broker = await startAmqpBroker(t);
// kombu reads the vhost from the URL's path: '//' is '/'.
const url = `${broker.amqpUrl.replace('amqp://', 'amqp://guest:guest@')}//`;
const env = { CELERY_BROKER_URL: url, CELERY_RESULT_BACKEND: 'rpc://' };
const conn = await open(t, broker.amqpUrl);

/** The seed's worker, on both of its queues; started by the first test, stopped with the file. */
let worker: CeleryWorker | undefined;
const startWorker = async (): Promise<CeleryWorker> =>
  (worker ??= await startCeleryWorker(t, { broker: url, backend: 'rpc://', app: 'celery_app.seed', queues: ['web_tasks', 'default'], env }));

/** Ready messages in `queue`, 0 while it does not exist (a probe's 404 closes only its own channel). */
async function ready(queue: string): Promise<number> {
  const ch = await channel(conn);
  try {
    return (await ch.checkQueue(queue)).messageCount;
  } catch {
    return 0;
  } finally {
    await ch.close().catch(() => undefined);
  }
}

t.test('the seed configuration: routed through the topic exchange, msgpack and zlib on the wire, run by a worker, acked', async (t) => {
  // The producer publishes before any worker runs, so its messages can be read where they wait.
  const produced = runPython(t, [
    'import json',
    'from celery_app.seed import add, mul',
    'a = add.delay(20, 22)',
    'm = mul.delay(6, 7)',
    // Celery 5.2 compresses by result_compression, not CELERY_MESSAGE_COMPRESSION (celery/celery#4838):
    // asked per call, as test/interop/seed-config.test.ts does on RabbitMQ.
    'z = mul.apply_async((3, 14), compression="zlib")',
    'print(json.dumps({"add": a.get(timeout=30), "mul": m.get(timeout=30), "zlib": z.get(timeout=30), "acks_late": add.acks_late}))',
  ].join('\n'), env);
  await untilAsync(async () => (await ready('web_tasks')) === 1 && (await ready('default')) === 2, 20_000, 'the three task messages queued');
  const ch = await channel(conn);
  const got: GetMessage[] = [];
  for (const queue of ['web_tasks', 'default', 'default']) {
    const m = await ch.get(queue);
    if (m === false) throw new Error(`nothing in ${queue}`);
    got.push(m);
  }
  const seen = got.map((m) => {
    const compressed = m.properties.headers?.['compression'] === 'application/x-gzip';
    const body = decode(compressed ? inflateSync(m.content) : m.content) as [unknown[], unknown, unknown];
    return { task: m.properties.headers?.['task'], exchange: m.fields.exchange, routingKey: m.fields.routingKey, contentType: m.properties.contentType, compressed, args: body[0] };
  });
  t.same(seen.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [
    { task: 'projq.tasks.add', exchange: 'tasks', routingKey: 'web.add', contentType: 'application/x-msgpack', compressed: false, args: [20, 22] },
    // Celery publishes a task routed to a queue of CELERY_QUEUES with that queue's binding key.
    { task: 'projq.tasks.mul', exchange: 'tasks', routingKey: 'task.#', contentType: 'application/x-msgpack', compressed: false, args: [6, 7] },
    { task: 'projq.tasks.mul', exchange: 'tasks', routingKey: 'task.#', contentType: 'application/x-msgpack', compressed: true, args: [3, 14] },
  ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), 'add by its route to web_tasks, mul to default; msgpack, one zlib-compressed');
  for (const m of got) ch.nack(m, false, true);
  await ch.close();

  const w = await startWorker();
  const out = JSON.parse((await produced).trim().split('\n').pop()!) as Record<string, unknown>;
  t.same(out, { add: 42, mul: 42, zlib: 42, acks_late: true }, 'results over rpc://; late acks on');
  t.match(w.output(), /\.> default\s+exchange=tasks\(topic\) key=task\.#/, "the worker consumes the seed's queues");
  t.match(w.output(), /\.> web_tasks\s+exchange=tasks\(topic\) key=web\.#/);
  // Acked (late: after each ran), none left outstanding: the broker's own counts.
  const stats = async (queue: string): Promise<{ messages: number; unacked: number; counters: { acked: number } }> =>
    (await api<{ messages: number; unacked: number; counters: { acked: number } }>(broker, `/api/queues/%2F/${queue}`)).body;
  await untilAsync(async () => {
    const [web, dflt] = [await stats('web_tasks'), await stats('default')];
    return web.messages + web.unacked + dflt.messages + dflt.unacked === 0 && web.counters.acked >= 1 && dflt.counters.acked >= 2;
  }, 10_000, 'the three task messages acked');
});

t.test('Celery beat on the seed configuration fires its interval entry into the worker, again and again', async (t) => {
  const w = await startWorker();
  const ran = (): number => w.output().match(/Task projq\.tasks\.add\[[0-9a-f-]+\] succeeded in [0-9.e-]+s: 101/g)?.length ?? 0;
  const before = ran();
  const beat = await startCeleryBeat(t, { broker: url, app: 'celery_app.seed_beat', env: { ...env, CELERY_BEAT_EVERY: '0.5' } });
  await until(() => ran() >= before + 2, 30_000, 'two runs of the beat entry');
  t.match(beat.output(), /Sending due task seed-add \(projq\.tasks\.add\)/, 'beat sent its entry');
  t.ok(ran() >= 2, 'the worker ran it at least twice');
});
