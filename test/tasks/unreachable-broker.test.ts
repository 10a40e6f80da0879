// Sending a task while the broker cannot be reached settles within taskPublishRetryPolicy:
// ERR_PUBLISH_FAILED naming the broker, never a promise left pending. A drop shorter than the
// policy still delivers the held task; bad credentials are not retried, for a worker either.
import t, { type Test } from 'tap';
import { Celeriac, type CeleriacError, type SettingsInput } from '../../client/index.js';
import { startBroker, type Broker } from '../../server/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { closedPort } from '../cli/celeriac-helpers.js';
import { until } from '../helpers/wait.js';
import { captureLog } from './task-helpers.js';

let n = 0;
const unique = (p: string): string => `${p}-${process.pid}-${++n}`;

function newApp(t: Test, settings: SettingsInput): Celeriac {
  const app = new Celeriac(settings);
  t.teardown(() => app.close());
  return app;
}

/** The error `p` rejects with (fails the test if it resolves). */
async function rejection(t: Test, p: Promise<unknown>): Promise<CeleriacError> {
  try {
    await p;
  } catch (err) {
    return err as CeleriacError;
  }
  t.fail('expected a rejection');
  throw new Error('resolved');
}

t.test('delay() with no broker at all rejects with ERR_PUBLISH_FAILED after the policy\'s retries', async (t) => {
  const port = await closedPort();
  const app = newApp(t, { broker: `ws://127.0.0.1:${port}` });
  const add = app.task(unique('t.add'), (a: number, b: number) => a + b);
  const err = await rejection(t, add.delay(1, 2));
  t.equal(err.code, 'ERR_PUBLISH_FAILED');
  t.match(err.message, `cannot send task '${add.name}'`);
  t.match(err.message, `ws://127.0.0.1:${port}/`, 'names the broker');
  t.match(err.message, '(gave up after 3 retries: taskPublishRetryPolicy)', "Celery's default: 3 retries");
  t.match(err.cause, { code: 'ERR_CONNECTION_CLOSED' }, 'the last connection error is the cause');

  const noRetry = newApp(t, { broker: `ws://127.0.0.1:${port}`, taskPublishRetry: false });
  const once = await rejection(t, noRetry.sendTask('t.any', []));
  t.equal(once.code, 'ERR_PUBLISH_FAILED', 'taskPublishRetry false: one try, the same code');
  t.notMatch(once.message, 'gave up after');
});

t.test('delay() after the broker went down rejects with ERR_PUBLISH_FAILED', async (t) => {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', dataFile: ':memory:' });
  let up = true;
  t.teardown(() => (up ? broker.close() : undefined));
  const app = newApp(t, { broker: broker.url, taskPublishRetryPolicy: { maxRetries: 2, intervalStart: 100, intervalStep: 100 } });
  const add = app.task(unique('t.add'), (a: number, b: number) => a + b);
  await add.delay(1, 2);
  const conn = await app.connection();
  await broker.close();
  up = false;
  const err = await rejection(t, add.delay(3, 4));
  t.equal(err.code, 'ERR_PUBLISH_FAILED');
  t.match(err.message, `cannot send task '${add.name}'`);
  t.match(err.message, broker.url.replace(/\/?$/, '/'), 'names the broker');
  t.match(err.message, /the connection was down for \d+ ms \(offlinePublishTimeout 300 ms\)/, 'the policy\'s waits (100 + 200 ms) bound the hold');
  t.equal(conn.connected, false, 'the connection is still trying to reconnect');
});

t.test('a drop shorter than the policy allows: the held task is sent after the reconnect', async (t) => {
  const first = await startBroker({ port: 0, host: '127.0.0.1', dataFile: ':memory:' });
  const port = Number(new URL(first.url).port);
  // ~37 s of waits: far longer than the restart takes.
  const app = new Celeriac({ broker: first.url, taskPublishRetryPolicy: { maxRetries: 40 } });
  const worker = app.worker({ log: () => undefined, concurrency: 1 });
  let second: Broker | undefined;
  t.teardown(async () => {
    await worker.close({ force: true });
    await app.close();
    await second?.close();
  });
  const add = app.task(unique('t.add'), (a: number, b: number) => a + b);
  await add.delay(1, 2);
  await first.close();
  const held = add.delay(5, 6);
  second = await startBroker({ port, host: '127.0.0.1', dataFile: ':memory:' });
  const r = await held;
  await worker.start();
  t.equal(await r.get({ timeout: 10_000 }), 11, 'the task held across the restart ran');
});

t.test('wrong credentials are not retried: delay() and a starting worker fail at once', async (t) => {
  const broker = await startTestBroker(t, { users: [{ user: 'app', password: 'right' }] });
  const url = broker.url.replace('ws://', 'ws://app:wrong@');
  const app = newApp(t, { broker: url, taskPublishRetryPolicy: { maxRetries: null } });
  const err = await rejection(t, app.sendTask('t.any', []));
  t.equal(err.code, 'ERR_ACCESS_REFUSED', 'the broker\'s refusal, not a retry for ever');
  const { lines, log } = captureLog();
  const worker = app.worker({ log, concurrency: 1 });
  const started = await rejection(t, worker.start());
  t.equal(started.code, 'ERR_ACCESS_REFUSED');
  t.strictSame(lines.filter((l) => l.includes('Trying again')), [], 'no start-up retry');
});

t.test('a worker started before its broker waits for it, logging each try', async (t) => {
  const port = await closedPort();
  const app = new Celeriac({ broker: `ws://127.0.0.1:${port}` });
  const add = app.task(unique('t.add'), (a: number, b: number) => a + b);
  const { lines, log } = captureLog();
  const worker = app.worker({ log, concurrency: 1 });
  let broker: Broker | undefined;
  // Worker and app first: closed after the broker, they would wait on a dead connection.
  t.teardown(async () => {
    await worker.close({ force: true });
    await app.close();
    await broker?.close();
  });
  const starting = worker.start();
  const tried = (): number => lines.filter((l) => / Trying again in \d+\.\d\d seconds\.\.\. \(\d+\/100\)$/.test(l)).length;
  await until(() => tried() >= 2, 10_000, 'two logged retries');
  t.match(lines[0], `error: consumer: cannot connect to ws://127.0.0.1:${port}/`);
  broker = await startBroker({ port, host: '127.0.0.1', dataFile: ':memory:' });
  await starting;
  t.equal(await (await add.delay(2, 2)).get({ timeout: 10_000 }), 4);
});

t.test('worker.close() while the broker is down ends at once instead of waiting out each request', async (t) => {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', dataFile: ':memory:' });
  const app = newApp(t, { broker: broker.url });
  app.task(unique('t.noop'), () => 1);
  const worker = app.worker({ queues: [unique('q-a'), unique('q-b')], log: () => undefined });
  await worker.start();
  const lost = new Promise<void>((resolve) => worker.connection.once('reconnecting', () => resolve()));
  await broker.close();
  await lost;
  // Two consumers, the control mailbox and worker-offline: four requests of requestTimeout (30 s) each before.
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    worker.close().then(() => 'closed'),
    new Promise<string>((resolve) => { timer = setTimeout(() => resolve('still closing'), 10_000); }),
  ]);
  clearTimeout(timer);
  t.equal(outcome, 'closed');
  t.notOk(worker.running);
});
