// Poison messages: a task that keeps losing its worker's connection (here by blocking the event
// loop past two heartbeats, so the broker takes the worker for dead and redelivers) runs at most
// taskQueueDeliveryLimit times, then ends FAILURE (ERR_DELIVERY_LIMIT); the worker warns about
// the blocked loop. Task queues are declared with the limit, and an older queue without it still works.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { Celeriac, connect } from '../../client/index.js';
import { spawnScript } from '../cli/process-helpers.js';
import { until } from '../helpers/wait.js';
import { captureLog, taskEnv } from './task-helpers.js';
// @ts-expect-error a plain-JS fixture without types
import { blockAppSettings } from '../fixtures/task-apps/block-worker.mjs';

const BLOCK_WORKER = fileURLToPath(new URL('../fixtures/task-apps/block-worker.mjs', import.meta.url));
const uniq = (p: string): string => `${p}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

t.test('a task that blocks the event loop past the heartbeat runs 3 times (the limit), then FAILURE ERR_DELIVERY_LIMIT', async (t) => {
  const { broker } = await taskEnv(t);
  const queue = uniq('blocking');
  const producer = new Celeriac((blockAppSettings as (b: string, q: string) => ConstructorParameters<typeof Celeriac>[0])(broker.url, queue));
  t.teardown(() => producer.close());
  const w = spawnScript(t, BLOCK_WORKER, [queue, '2000'], { env: { CELERIAC_BROKER: broker.url }, cwd: process.cwd() });
  await until(() => w.stdout().includes('ready\n'), 15_000, 'the worker process to be ready');
  const r = await producer.sendTask('block.spin', []);
  await t.rejects(r.get({ timeout: 35_000 }), { code: 'ERR_DELIVERY_LIMIT' }, 'FAILURE with the coded error');
  const lines = w.stdout().split('\n');
  t.same(lines.filter((l) => l.startsWith('run ')), ['run 1', 'run 2', 'run 3'], 'run exactly 3 times');
  t.ok(lines.some((l) => l.startsWith('log error') && l.includes('delivered 4 times') && l.includes('delivery limit of 3')), 'the refusal is logged with the count');
  const warn = lines.find((l) => l.startsWith('log warn the event loop was blocked'));
  t.ok(warn, 'the blocked event loop is reported');
  t.match(warn ?? '', /block\.spin ran in the async pool.*heartbeat of 500 ms.*threads or processes pool/, 'naming the task and the way out');
});

t.test('task queues are declared with the delivery limit; a queue declared before without one is used as it is', async (t) => {
  const { app, broker, startWorker } = await taskEnv(t);
  const conn = await connect(broker.url, { reconnect: false });
  t.teardown(() => conn.close());
  const fresh = uniq('fresh');
  await app.declarer.ensure((await app.link()).transport, fresh);
  await t.rejects(conn.assertQueue(fresh, { durable: true }), { code: 'ERR_PRECONDITION_FAILED' }, 'the broker holds a limit: a redeclare without one is refused');
  await conn.assertQueue(fresh, { durable: true, deliveryLimit: 20 });

  const old = uniq('old');
  await conn.assertQueue(old, { durable: true });
  const { lines, log } = captureLog();
  const job = app.task(uniq('tasks.old-queue'), (x: number) => x * 2, { queue: old });
  await startWorker(app, { queues: [old], log });
  t.equal(await (await job.delay(21)).get({ timeout: 5_000 }), 42, 'the older queue works, for workers and producers');
  t.ok(lines.some((l) => l.startsWith('warn:') && l.includes(`queue '${old}'`) && l.includes('delivery limit')), 'the worker says the broker does not hold the limit there');
});
