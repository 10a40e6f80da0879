// RabbitMQ stopped and booted again (its data kept) under a celeriac worker on RabbitMQ + Redis that
// holds unacked late-ack tasks, two running and four prefetched: none is lost (the running ones are
// redelivered and run again, their first runs not recorded), and the same worker resumes by itself.
// One RabbitMQ boot and one restart: this file holds nothing else.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Celeriac, type TaskContext } from '../../client/index.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { startRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const [rabbit, redis] = await Promise.all([startRabbit(t), startRedis(t)]);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);

t.test('RabbitMQ goes away under a worker holding unacked late-ack tasks: none is lost, the worker resumes by itself', async (t) => {
  // Concurrency 2 × multiplier 3: two tasks running and four prefetched, all unacked (late acks).
  const app = new Celeriac({
    broker: rabbit.url, resultBackend: redis.url, taskDefaultQueue: `restart-${randomBytes(4).toString('hex')}`,
    taskAcksLate: true, workerConcurrency: 2, workerPrefetchMultiplier: 3,
  });
  t.teardown(() => app.close());
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => { release = r; });
  const runs: { n: number; redelivered: boolean }[] = [];
  const held = app.task('tasks.held', async function (this: TaskContext, n: number) {
    runs.push({ n, redelivered: this.request.deliveryInfo.redelivered });
    await gate;
    return n * 10;
  });
  const lines: string[] = [];
  const w = app.worker({ log: (level, message) => lines.push(`${level}: ${message}`) });
  t.teardown(() => w.close({ force: true }));
  await w.start();
  const results = await Promise.all(Array.from({ length: 8 }, (_, n) => held.delay(n)));
  await until(() => runs.length === 2 && w.reservedJobs().length === 4, 15_000, 'two tasks running, four prefetched');

  const reconnected = new Promise<void>((resolve) => w.connection.once('reconnected', () => resolve()));
  const down = Date.now();
  await rabbit.restart();
  const up = Date.now();
  t.ok(lines.some((l) => /connection to the broker lost/.test(l)), 'the worker saw RabbitMQ go');
  await reconnected;
  t.comment(`RabbitMQ restarted in ${up - down} ms; the worker reconnected ${Date.now() - up} ms later`);
  release();
  const values = await Promise.all(results.map((r) => r.get({ timeout: 30_000 })));
  t.same(values, Array.from({ length: 8 }, (_, n) => n * 10), 'every task finished, results in Redis');
  const first = runs.slice(0, 2).map((r) => r.n);
  for (const n of first) {
    t.ok(runs.some((r) => r.n === n && r.redelivered), `task ${n}, running when RabbitMQ went, was redelivered and run again`);
  }
  t.ok(w.running, 'the same worker, still running');
});
