// Bad input and outages for an app on RabbitMQ + Redis, through the public API (issue 11, item 7):
// a wrong password in the amqp:// URL fails a worker's start and a send at once with
// ERR_ACCESS_REFUSED (no retry, password not shown); a send to a RabbitMQ out of reach gives up
// with ERR_PUBLISH_FAILED; a Redis out of reach is ERR_CONNECTION_CLOSED, retried at a worker's
// start, which then goes on once Redis is up; a wrong Redis password is ERR_ACCESS_REFUSED.
// RabbitMQ going away mid-run is rabbit-restart.test.ts (a restart costs a second boot).
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { Celeriac, type SettingsInput, type Worker } from '../../client/index.js';
import { CeleriacError } from '../../shared/errors.js';
import { freePort } from '../helpers/ports.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { startRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;
const [rabbit, redis] = await Promise.all([startRabbit(t), startRedis(t)]);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);

function newApp(t: Test, settings: SettingsInput): Celeriac {
  const app = new Celeriac({ broker: rabbit.url, resultBackend: redis.url, taskDefaultQueue: unique('q'), ...settings });
  t.teardown(() => app.close());
  return app;
}

function newWorker(t: Test, app: Celeriac, lines: string[] = []): Worker {
  const w = app.worker({ log: (level, message) => lines.push(`${level}: ${message}`) });
  t.teardown(() => w.close({ force: true }));
  return w;
}

const codeOf = (err: unknown): string | undefined => (err instanceof CeleriacError ? err.code : undefined);

t.test('a wrong password in the amqp:// URL: the worker start and a send fail at once with ERR_ACCESS_REFUSED, without the password', async (t) => {
  const app = newApp(t, { broker: rabbit.url.replace('guest:guest@', 'guest:wr0ng-pw@') });
  app.task('tasks.never', () => 1);
  const lines: string[] = [];
  const started = Date.now();
  const err = await newWorker(t, app, lines).start().then(() => null, (e: unknown) => e);
  t.equal(codeOf(err), 'ERR_ACCESS_REFUSED', String(err));
  t.notMatch(String(err), /wr0ng-pw/, 'the password is not in the message');
  t.notOk(lines.some((l) => /Trying again/.test(l)), 'not retried: no retry can fix a password');
  t.ok(Date.now() - started < 20_000, 'it failed at once, not after the start-up retries');
  const sent = await app.sendTask('tasks.never', []).then(() => null, (e: unknown) => e);
  t.equal(codeOf(sent), 'ERR_ACCESS_REFUSED', String(sent));
  t.notMatch(String(sent), /wr0ng-pw/);
});

t.test('RabbitMQ out of reach: a send gives up with ERR_PUBLISH_FAILED naming the broker, its password masked', async (t) => {
  const app = newApp(t, { broker: `amqp://guest:s3cret-pw@127.0.0.1:${await freePort()}`, taskPublishRetryPolicy: { maxRetries: 1, intervalStart: 0 } });
  const err = await app.sendTask('tasks.any', []).then(() => null, (e: unknown) => e);
  t.equal(codeOf(err), 'ERR_PUBLISH_FAILED', String(err));
  t.match(String(err), /cannot send task 'tasks\.any' .*amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+/, 'naming the broker');
  t.notMatch(String(err), /s3cret-pw/, 'the password is not shown');
  t.equal((err as CeleriacError).details?.['retries'], 1);
});

t.test('Redis out of reach: ERR_CONNECTION_CLOSED; a starting worker retries and goes on once Redis is up; a wrong Redis password is ERR_ACCESS_REFUSED', async (t) => {
  const nowhere = `redis://127.0.0.1:${await freePort()}/0`;
  const once = newApp(t, { resultBackend: nowhere, brokerConnectionMaxRetries: 0 });
  const err = await newWorker(t, once).start().then(() => null, (e: unknown) => e);
  t.equal(codeOf(err), 'ERR_CONNECTION_CLOSED', String(err));
  const send = await once.sendTask('tasks.any', []).then(() => null, (e: unknown) => e);
  t.equal(codeOf(send), 'ERR_PUBLISH_FAILED', `a send gives up after taskPublishRetryPolicy: ${String(send)}`);
  t.match(String(send), /connect to Redis at redis:\/\/127\.0\.0\.1:\d+\/0/, 'naming Redis as what is out of reach');
  t.notMatch(String(send), /guest:guest@/, "the broker's password is masked");

  // A worker started while Redis is down waits for it (brokerConnectionRetryOnStartup), then runs tasks.
  const own = await startRedis(t);
  await own.stop();
  const app = newApp(t, { resultBackend: own.url });
  app.task('tasks.add', (a: number, b: number) => a + b);
  const lines: string[] = [];
  const w = newWorker(t, app, lines);
  const starting = w.start();
  await until(() => lines.some((l) => /Trying again in/.test(l)), 10_000, 'a start-up retry');
  t.match(lines.find((l) => /Trying again in/.test(l)), /ERR_CONNECTION_CLOSED|connect|refused|reach/i, `the retry line says why: ${lines[0]}`);
  await own.restart();
  await starting;
  t.ok(w.running, 'started once Redis was up');
  t.equal(await (await app.sendTask<number>('tasks.add', [2, 3])).get({ timeout: 15_000 }), 5);

  const locked = await startRedis(t, { password: 'right-one' });
  const refused = newApp(t, { resultBackend: locked.url.replace(':right-one@', ':s3cret-x@') });
  const denied = await newWorker(t, refused).start().then(() => null, (e: unknown) => e);
  t.equal(codeOf(denied), 'ERR_ACCESS_REFUSED', String(denied));
  t.notMatch(String(denied), /s3cret-x/, 'the password is not shown');
});
