// Worker shutdown and failure acks as Celery defines them: a cold shutdown leaves late-acked tasks
// for redelivery; concurrent closes share one shutdown; acksOnFailureOrTimeout false records the
// failure and rejects the message instead of acking it; a broker-cancelled consumer is resumed.
import t from 'tap';
import { until } from '../helpers/wait.js';
import { taskEnv } from './task-helpers.js';

t.test('a cold shutdown leaves a late-acked running task for another worker', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  let runs = 0;
  const slow = app.task('tasks.slow-late', () => new Promise((r) => setTimeout(() => r(++runs), 300)), { acksLate: true });
  const w = await startWorker(app, { concurrency: 1 });
  const r = await slow.delay();
  await until(() => w.activeJobs().length === 1, 5_000, 'the task to start');
  const warm = w.close();
  const cold = w.close({ force: true });
  await Promise.all([warm, cold]);
  t.equal(w.running, false);
  t.equal(await r.state, 'PENDING', 'not FAILURE: it was cut short, not failed');
  const other = newApp();
  other.task('tasks.slow-late', () => 'second worker', { acksLate: true });
  await startWorker(other);
  t.equal(await r.get({ timeout: 5_000 }), 'second worker', 'redelivered and run to completion elsewhere');
});

t.test('two warm closes at once both resolve, after the running task finished', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const slow = app.task('tasks.slow', () => new Promise((r) => setTimeout(() => r('done'), 200)));
  const w = await startWorker(app, { concurrency: 1 });
  let offline = 0;
  w.on('worker-offline', () => offline++);
  const r = await slow.delay();
  await until(() => w.activeJobs().length === 1, 5_000, 'the task to start');
  await Promise.all([w.close(), w.close()]);
  t.equal(offline, 1, 'one shutdown');
  t.equal(await r.get({ timeout: 5_000 }), 'done');
});

t.test('acksOnFailureOrTimeout false: the failure is recorded and the message rejected to the dead-letter exchange', async (t) => {
  const { app, startWorker } = await taskEnv(t, {
    taskAcksOnFailureOrTimeout: false, taskAcksLate: true,
    taskQueues: [{ name: 'default', routingKey: 'task.#', arguments: { deadLetterExchange: 'dlx' } }],
  });
  const conn = await app.connection();
  await conn.assertExchange('dlx', 'fanout');
  await conn.assertQueue('dead');
  await conn.bindQueue('dead', 'dlx', '');
  let runs = 0;
  const boom = app.task('tasks.fails', () => {
    runs++;
    throw new Error('nope');
  });
  await startWorker(app);
  const r = await boom.delay();
  await t.rejects(r.get({ timeout: 5_000 }), { code: 'ERR_TASK_FAILED' });
  await until(() => runs === 1, 5_000);
  let dead = await conn.get('dead');
  const end = Date.now() + 5_000;
  while (dead === null && Date.now() < end) dead = await conn.get('dead');
  t.equal(dead?.properties.correlationId, r.id, 'the message went to the dead-letter exchange');
  t.equal(runs, 1, 'not requeued to run again');
  t.equal((await conn.checkQueue('default')).messageCount, 0);
});

t.test('a consumer the broker cancels (ack timeout) is consumed again; the dead delivery is never settled', async (t) => {
  const { app, startWorker } = await taskEnv(t, {
    taskAcksLate: true, taskQueues: [{ name: 'default', routingKey: 'task.#', arguments: { consumerTimeout: 200 } }],
  });
  let runs = 0;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => { release = r; });
  const slowOnce = app.task('tasks.slow-once', function (this: import('../../client/index.js').TaskContext) {
    runs++;
    // The first delivery outlives the queue's consumer timeout (checked every second); the
    // redelivery (prefetched while the first runs) waits for the test.
    return this.request.deliveryInfo.redelivered ? gate.then(() => 'again') : new Promise((r) => setTimeout(() => r('first'), 2_500));
  });
  const lines: string[] = [];
  const w = await startWorker(app, { concurrency: 1, log: (level, message) => lines.push(`${level}: ${message}`) });
  const r = await slowOnce.delay();
  await until(() => runs === 2, 10_000, 'the redelivery to start');
  // The first run's end must not make the worker forget the redelivery of the same task id.
  t.same(w.activeJobs().map((j) => j['id']), [r.id], 'the redelivered run is listed as active');
  release();
  // The broker took the first delivery back and gave the message again, so it runs a second time
  // (at least once, as after any timeout). The first run's outcome is not sent (its delivery is
  // dead): the redelivered run owns the result.
  t.equal(await r.get({ timeout: 10_000 }), 'again');
  await until(() => w.activeJobs().length === 0, 10_000, 'the redelivery to end');
  t.ok(lines.some((l) => l.includes("cancelled the consumer of queue 'default'")), 'logged');
  t.ok(lines.some((l) => l.startsWith('warn: ') && l.includes(`[${r.id}]: delivery lost while it ran`)), 'the first run is reported lost, not finished');
  t.equal((await (await app.connection()).checkQueue('default')).messageCount, 0, 'nothing left behind');
  const add = app.task('tasks.after-cancel', (a: number) => a + 1);
  t.equal(await (await add.delay(1)).get({ timeout: 5_000 }), 2, 'the worker consumes the queue again');
  t.equal(w.connection.connected, true, 'no unknown-delivery-tag error closed the connection');
});

t.test('a failed first connection is not remembered: the next call connects', async (t) => {
  const { broker } = await taskEnv(t);
  const { Celeriac } = await import('../../client/index.js');
  const app = new Celeriac({ broker: 'ws://127.0.0.1:1' });
  t.teardown(() => app.close());
  await t.rejects(app.connection(), { code: 'ERR_CONNECTION_CLOSED' });
  app.useBroker(broker.url);
  const conn = await app.connection();
  t.equal(conn.connected, true);
});
