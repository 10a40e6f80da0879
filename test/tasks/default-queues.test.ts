// Apps with different taskDefaultQueue on one broker: as in Celery, the default exchange and
// routing key derive from the queue's name, so neither app's queue is bound to the other's key.
import t, { type Test } from 'tap';
import { randomUUID } from 'node:crypto';
import type { Celeriac, Worker } from '../../client/index.js';
import { until } from '../helpers/wait.js';
import { captureLog, taskEnv } from './task-helpers.js';

/** A started worker of `app` that records the task names it received and every rejection. */
async function watchedWorker(t: Test, app: Celeriac): Promise<{ worker: Worker; received: string[]; rejected: string[]; lines: string[] }> {
  const { lines, log } = captureLog();
  const worker = app.worker({ log, concurrency: 2 });
  const received: string[] = [];
  const rejected: string[] = [];
  worker.on('task-received', (e) => received.push(e.name ?? '?'));
  worker.on('task-rejected', (e) => rejected.push(`${e.name ?? '?'}: ${String(e['reason'])}`));
  t.teardown(() => worker.close({ force: true }));
  await worker.start();
  return { worker, received, rejected, lines };
}

t.test('two apps with their own default queues: each task lands in its queue only and runs on its own worker', async (t) => {
  const { app: stock, newApp } = await taskEnv(t);
  const u = randomUUID().slice(0, 8);
  const qa = `qa-${u}`;
  const qb = `qb-${u}`;
  const a = newApp({ taskDefaultQueue: qa });
  const b = newApp({ taskDefaultQueue: qb });
  const nameA = `a.${u}.echo`;
  const nameB = `b.${u}.echo`;
  const ta = a.task(nameA, (x: number) => `a${x}`);
  const tb = b.task(nameB, (x: number) => `b${x}`);

  const ra = [await ta.delay(1), await ta.delay(2)];
  const rb = [await tb.delay(3)];
  const conn = await stock.connection();
  t.equal((await conn.checkQueue(qa)).messageCount, 2, "A's queue holds A's two tasks and nothing of B's");
  t.equal((await conn.checkQueue(qb)).messageCount, 1, "B's queue holds B's task and nothing of A's");

  const wa = await watchedWorker(t, a);
  const wb = await watchedWorker(t, b);
  t.strictSame(await Promise.all(ra.map((r) => r.get({ timeout: 5_000 }))), ['a1', 'a2']);
  t.strictSame(await Promise.all(rb.map((r) => r.get({ timeout: 5_000 }))), ['b3']);

  // A producer with the stock settings sends to A's queue by name: it declares the queue as
  // Celery's missing queue (a direct exchange named after it), the same declaration A derived.
  const rc = await stock.sendTask(nameA, [4], { queue: qa });
  t.equal(await rc.get({ timeout: 5_000 }), 'a4', 'a task sent by queue name from another app reaches A');

  await until(() => wa.received.length + wb.received.length >= 4, 5_000, 'every delivery');
  for (const q of [qa, qb]) t.equal((await conn.checkQueue(q)).messageCount, 0, `${q} drained`);
  t.strictSame(wa.received, [nameA, nameA, nameA], "A's worker received A's tasks only");
  t.strictSame(wb.received, [nameB], "B's worker received B's task only");
  t.strictSame([...wa.rejected, ...wb.rejected], [], 'no task was rejected as unregistered');
  t.notOk([...wa.lines, ...wb.lines].some((l) => /unregistered/.test(l)), 'no "unregistered task" log line');
  for (const r of [...ra, ...rb, rc]) t.equal(await r.state, 'SUCCESS', `${r.id} recorded SUCCESS, never a FAILURE`);
});

t.test('the seed deployment\'s explicit tasks / task.default and the stock app still share the stock queue', async (t) => {
  const { app: stock, newApp } = await taskEnv(t);
  const u = randomUUID().slice(0, 8);
  const explicit = newApp({ taskDefaultQueue: 'default', taskDefaultExchange: 'tasks', taskDefaultRoutingKey: 'task.default' });
  t.strictSame(
    [explicit.settings.taskDefaultExchange, explicit.settings.taskDefaultExchangeType, explicit.settings.taskDefaultRoutingKey],
    [stock.settings.taskDefaultExchange, stock.settings.taskDefaultExchangeType, stock.settings.taskDefaultRoutingKey],
    'given explicitly or left unset, the stock queue routes the same way',
  );
  const name = `s.${u}.echo`;
  stock.task(name, (x: number) => x * 10);
  const r = await explicit.sendTask(name, [7]);
  const w = await watchedWorker(t, stock);
  t.equal(await r.get({ timeout: 5_000 }), 70, 'sent by one, run by the other');
  t.strictSame(w.rejected, []);
});

t.test('resultBackend spelled differently from the broker URL: results come back through the broker', async (t) => {
  const { broker, newApp } = await taskEnv(t);
  const u = randomUUID().slice(0, 8);
  for (const [i, backend] of [`${broker.url}/`, broker.url.replace('ws://', 'WS://'), 'rpc://'].entries()) {
    const app = newApp({ resultBackend: backend, taskDefaultQueue: `rb-${u}-${i}` });
    t.equal(app.settings.resultBackend, broker.url, `${backend} resolves to the broker itself`);
    const add = app.task(`rb.${u}.add.${i}`, (x: number, y: number) => x + y);
    const r = await add.delay(2, 3);
    await watchedWorker(t, app);
    t.equal(await r.get({ timeout: 5_000 }), 5, `get() with resultBackend ${backend}`);
  }
});
