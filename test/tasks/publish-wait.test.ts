// delay() + get() through a tap that reads what the producer sends: the publish registers the
// result wait, so get() sends nothing; a result pushed before get() is kept for it; after a
// reconnect get() asks the broker itself; fire-and-forget publishing stays within the broker's
// maxResultWaits, leaving room for waits of the app's own.
import t, { type Test } from 'tap';
import { Celeriac } from '../../client/index.js';
import { OP } from '../../shared/opcodes.js';
import { startFrameTap } from '../helpers/frame-tap.js';
import { until, untilAsync } from '../helpers/wait.js';
import { taskEnv } from './task-helpers.js';

let n = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid}-${++n}`;
const count = (ops: readonly number[], op: number): number => ops.filter((o) => o === op).length;

/** A producer app reaching the broker through a frame tap, closed at teardown. */
async function tappedProducer(t: Test, port: number, queue: string): Promise<{ app: Celeriac; ops: number[]; cut: () => void }> {
  const tap = await startFrameTap(t, port);
  const app = new Celeriac({ broker: `ws://127.0.0.1:${tap.port}`, taskDefaultQueue: queue, brokerConnectionRetry: true });
  t.teardown(() => app.close());
  return { app, ops: tap.opcodes, cut: () => tap.cut() };
}

t.test('delay() + get() sends one frame per task: the publish, no resultWait', async (t) => {
  const queue = unique('pw-one');
  const { broker, newApp, startWorker } = await taskEnv(t, { taskDefaultQueue: queue });
  const name = unique('tasks.add');
  const workerApp = newApp();
  workerApp.task(name, (a: number, b: number) => a + b);
  await startWorker(workerApp);
  const { app, ops } = await tappedProducer(t, broker.port, queue);
  const add = app.task(name, (a: number, b: number) => a + b);
  await (await add.delay(0, 0)).get({ timeout: 10_000 }); // connection and queue declared
  const before = ops.length;
  for (let i = 1; i <= 20; i++) t.equal(await (await add.delay(i, 1)).get({ timeout: 10_000 }), i + 1);
  const sent = ops.slice(before);
  t.equal(count(sent, OP.publish), 20);
  t.equal(count(sent, OP.resultWait), 0, 'no resultWait: each publish carried its wait');
  t.equal(sent.length, 20, `one frame per task (sent: ${sent.join(',')})`);
});

t.test('a result pushed before get() is kept for it', async (t) => {
  const queue = unique('pw-early');
  const { broker, newApp, startWorker } = await taskEnv(t, { taskDefaultQueue: queue });
  const name = unique('tasks.mul');
  const workerApp = newApp();
  workerApp.task(name, (a: number, b: number) => a * b);
  await startWorker(workerApp);
  const { app, ops } = await tappedProducer(t, broker.port, queue);
  const mul = app.task(name, (a: number, b: number) => a * b);
  const r = await mul.delay(6, 7);
  await untilAsync(async () => (await r.state) === 'SUCCESS', 10_000, 'the task finished');
  const before = ops.length;
  t.equal(await r.get({ timeout: 10_000 }), 42);
  t.equal(ops.length, before, 'get() sent nothing: the pushed record was kept');
  // A second get() asks the broker (the kept record went to the first): still the result.
  t.equal(await r.get({ timeout: 10_000 }), 42);
  t.equal(count(ops.slice(before), OP.resultWait), 1);
});

t.test('a reconnect between publish and get() still gets the result', async (t) => {
  const queue = unique('pw-reconnect');
  const { broker, newApp, startWorker } = await taskEnv(t, { taskDefaultQueue: queue });
  const name = unique('tasks.echo');
  const { app, ops, cut } = await tappedProducer(t, broker.port, queue);
  const echo = app.task(name, (v: string) => v);
  const r = await echo.delay('back');
  const conn = await app.connection();
  let reconnected = false;
  conn.on('reconnected', () => { reconnected = true; });
  // The wait registered with the publish ends with its connection on the broker.
  cut();
  await until(() => reconnected, 10_000, 'the producer reconnected');
  const workerApp = newApp();
  workerApp.task(name, (v: string) => v);
  await startWorker(workerApp);
  const before = ops.length;
  t.equal(await r.get({ timeout: 10_000 }), 'back');
  t.equal(count(ops.slice(before), OP.resultWait), 1, 'get() asked the broker itself');
});

t.test('fire-and-forget beyond maxResultWaits: publishes and waits of the app are not refused', async (t) => {
  const queue = unique('pw-many');
  const { app, newApp, startWorker } = await taskEnv(t, { taskDefaultQueue: queue }, { limits: { maxResultWaits: 6 } });
  const name = unique('tasks.inc');
  const inc = app.task(name, (v: number) => v + 1);
  // Nobody runs them yet: every wait the publishes registered stays registered.
  const results = [];
  for (let i = 0; i < 20; i++) results.push(await inc.delay(i));
  // Room is left for a wait of the app's own (the publishes took at most half of maxResultWaits).
  const other = app.asyncResult(results[19]!.id);
  const waits = Array.from({ length: 3 }, () => other.get({ timeout: 100 }));
  for (const w of waits) await t.rejects(w, { code: 'ERR_RESULT_TIMEOUT' });
  const workerApp = newApp();
  workerApp.task(name, (v: number) => v + 1);
  await startWorker(workerApp);
  for (let i = 0; i < 20; i++) t.equal(await results[i]!.get({ timeout: 10_000 }), i + 1);
});
