// A celeriac app on the seed's production pair, RabbitMQ + Redis, changed only in its two URLs:
// delay().get(), a failing task's traceback, a chord whose body runs once across two workers, a
// revoked task (held by RabbitMQ's delay queue, so the worker has to ask Redis) that never runs, a
// rate limit shared by two workers through Redis, Redis going away while a task runs (the task
// goes back to RabbitMQ and finishes once Redis is back), and beat with its store in Redis. One
// RabbitMQ for the file.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { Celeriac, chord, fromCeleryConfig, type SettingsInput, type TaskContext, type Worker } from '../../client/index.js';
import { CeleriacError } from '../../shared/errors.js';
import { scenarioEnv } from '../conformance/conformance-helpers.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { redisCommands, startRedis } from '../helpers/redis.js';
import { until, untilAsync } from '../helpers/wait.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;
const [rabbit, redis] = await Promise.all([startRabbit(t), startRedis(t)]);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);

interface Env {
  /** A new app on RabbitMQ + Redis with its own default queue (another worker process, as far as they know). */
  newApp(more?: SettingsInput): Celeriac;
  startWorker(app: Celeriac, options?: Parameters<Celeriac['worker']>[0]): Promise<Worker>;
}

/** Apps of one test share a default queue of their own; workers and apps close at teardown (scenarioEnv's). */
function env(t: Test): Env {
  const queue = unique('q');
  const scenario = scenarioEnv(t, { broker: rabbit.url, resultBackend: redis.url });
  return {
    newApp: (more = {}) => scenario.app({ taskDefaultQueue: queue, ...more }),
    startWorker: (app, options = {}) => scenario.worker(app, options),
  };
}

t.test('delay().get() through RabbitMQ, the result in Celery\'s Redis key; the seed\'s Celery config runs as is', async (t) => {
  const { newApp, startWorker } = env(t);
  const app = newApp();
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  const link = await app.link();
  t.equal(link.atomic, false, 'RabbitMQ + Redis finish a task in ordered steps');
  await t.rejects(app.connection(), { code: 'ERR_TRANSPORT_UNAVAILABLE' }, "no broker-server Connection on RabbitMQ");
  await startWorker(app);
  const r = await add.delay(2, 3);
  t.equal(await r.get({ timeout: 10_000 }), 5);
  const [raw] = await redisCommands(redis.port, [['GET', `celery-task-meta-${r.id}`]]);
  t.match(JSON.parse(raw as string), { status: 'SUCCESS', result: 5, task_id: r.id }, "Celery's key and meta");

  // The upper-case configuration a Celery user already has: BROKER_URL + CELERY_RESULT_BACKEND.
  const seed = newApp(fromCeleryConfig({ BROKER_URL: rabbit.url, CELERY_RESULT_BACKEND: redis.url, CELERY_DEFAULT_QUEUE: unique('seed'), CELERY_RESULT_SERIALIZER: 'msgpack', CELERY_ACCEPT_CONTENT: ['json', 'msgpack'] }));
  const mul = seed.task('tasks.mul', (a: number, b: number) => a * b);
  await startWorker(seed);
  const m = await mul.delay(6, 7);
  t.equal(await m.get({ timeout: 10_000 }), 42, 'msgpack results through Redis');
  t.equal((await (await seed.backend()).getResult(m.id))?.contentType, 'application/x-msgpack');
});

t.test("a failing task: get() rejects ERR_TASK_FAILED with the task's traceback", async (t) => {
  const { newApp, startWorker } = env(t);
  const app = newApp();
  const boom = app.task('tasks.boom', function explodes(): number {
    throw new RangeError('out of range on purpose');
  });
  await startWorker(app);
  const r = await boom.delay();
  const err = await r.get({ timeout: 10_000 }).then(() => null, (e: unknown) => e);
  t.ok(err instanceof CeleriacError && err.code === 'ERR_TASK_FAILED', String(err));
  t.match((err as CeleriacError).details, { remoteName: 'RangeError', remoteMessage: 'out of range on purpose' });
  t.match(await r.traceback, /RangeError: out of range on purpose\n\s+at (Object\.)?explodes/, 'the remote stack');
  t.equal(await r.state, 'FAILURE');
});

t.test('a chord across two workers: every header result counted in Redis, the body published once through RabbitMQ', async (t) => {
  const { newApp, startWorker } = env(t);
  const bodies: number[][] = [];
  const make = () => {
    const a = newApp();
    const add = a.task('tasks.add', async (x: number, y: number) => {
      await new Promise((r) => setTimeout(r, (x * 13) % 30));
      return x + y;
    });
    const sum = a.task('tasks.sum', (xs: number[]) => {
      bodies.push(xs);
      return xs.reduce((p, q) => p + q, 0);
    });
    return { app: a, add, sum };
  };
  const { app, add, sum } = make();
  await Promise.all([startWorker(app), startWorker(make().app)]);
  const r = await chord(Array.from({ length: 12 }, (_, i) => add.s(i, i)), sum.s()).delay();
  t.equal(await r.get({ timeout: 15_000 }), 132);
  t.same(bodies, [Array.from({ length: 12 }, (_, i) => 2 * i)], 'the body ran once, with the results in header order');
  t.equal((await (await app.backend()).getGroup(r.header.id))?.done, 12);
});

t.test('revoke: a task held by RabbitMQ (countdown) is revoked in Redis and never runs; its get() rejects ERR_TASK_REVOKED', async (t) => {
  const { newApp, startWorker } = env(t);
  const app = newApp();
  const ran: string[] = [];
  const job = app.task('tasks.job', (name: string) => {
    ran.push(name);
    return name;
  });
  const w = await startWorker(app);
  const later = await job.applyAsync(['revoked'], { countdown: 1_000 });
  const kept = await job.applyAsync(['kept'], { countdown: 1_000 });
  t.same(await app.control.revoke(later.id), { revoked: 1 });
  t.equal(await later.state, 'REVOKED', 'REVOKED at once, in Redis');
  t.equal(await kept.get({ timeout: 15_000 }), 'kept', 'the other one runs when due');
  await t.rejects(later.get({ timeout: 5_000 }), { code: 'ERR_TASK_REVOKED' });
  await until(() => w.activeJobs().length === 0, 5_000, 'the worker to be idle');
  t.same(ran, ['kept'], 'the revoked task was delivered by RabbitMQ but did not run');
});

t.test('revoke with terminate: pushed through Redis to the worker running the task, which stops it', async (t) => {
  const { newApp, startWorker } = env(t);
  const app = newApp();
  const forever = app.task('tasks.until-aborted', function (this: TaskContext) {
    return new Promise((resolve) => this.signal.addEventListener('abort', () => resolve('aborted')));
  });
  const w = await startWorker(app);
  const r = await forever.delay();
  await until(() => w.activeJobs().length === 1, 10_000, 'the task to start');
  await app.control.revoke(r.id, { terminate: true });
  await t.rejects(r.get({ timeout: 10_000 }), { code: 'ERR_TASK_REVOKED' });
  await until(() => w.activeJobs().length === 0, 10_000, 'the worker to let go of it');
});

t.test('a rate limit holds across two workers together: the slots come from one bucket in Redis', async (t) => {
  const { newApp, startWorker } = env(t);
  const starts: number[] = [];
  const make = (): Celeriac => {
    const a = newApp();
    a.task('tasks.limited', () => starts.push(Date.now()), { rateLimit: '20/s' });
    return a;
  };
  const app = make();
  await Promise.all([startWorker(app, { concurrency: 4, prefetchMultiplier: 1 }), startWorker(make(), { concurrency: 4, prefetchMultiplier: 1 })]);
  const results = await Promise.all(Array.from({ length: 12 }, () => app.sendTask('tasks.limited', [])));
  await Promise.all(results.map((r) => r.get({ timeout: 15_000 })));
  starts.sort((a, b) => a - b);
  // 20/s = one slot per 50 ms for both workers together; a start is at its slot or later, so a
  // 200 ms window holds the 4-5 slots in it plus some delayed into it: at most 7. Without the
  // shared bucket all 12 would start together.
  const most = Math.max(...starts.map((s) => starts.filter((x) => x >= s && x < s + 200).length));
  t.ok(most <= 7, `at most 7 starts in any 200 ms (got ${most}; offsets ${starts.map((s) => s - starts[0]!).join(', ')} ms)`);
  t.equal(starts.length, 12);
});

t.test('Redis goes away while a late-acked task runs: its finish times out, the task goes back to RabbitMQ and finishes once Redis is back', async (t) => {
  const own = await startRedis(t);
  const { newApp, startWorker } = env(t);
  const app = newApp({ resultBackend: own.url, redisSocketTimeout: 500, taskAcksLate: true });
  let runs = 0;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => { release = r; });
  const slow = app.task('tasks.slow', async () => {
    runs++;
    await gate;
    return 'done';
  });
  const lines: string[] = [];
  await startWorker(app, { log: (level, message) => lines.push(`${level}: ${message}`) });
  const r = await slow.delay();
  await until(() => runs === 1, 10_000, 'the task to start');
  await own.stop();
  release();
  await until(() => runs >= 2, 15_000, 'the task to run again: its result could not be stored, its delivery was given back');
  t.ok(lines.some((l) => /cut off .*requeued to run again/.test(l)), `the worker says why: ${lines.join(' | ')}`);
  await own.restart(); // empty: the test's Redis saves nothing
  const key = `celery-task-meta-${r.id}`;
  await untilAsync(async () => (await redisCommands(own.port, [['GET', key]]))[0] !== null, 20_000, 'the result stored once Redis is back');
  // Read by an app with the default socket timeout: the 500 ms above is only there to cut the
  // finish short while Redis is away, and a loaded machine may take longer to answer a fresh client.
  const reader = newApp({ resultBackend: own.url });
  t.equal(await reader.asyncResult(r.id).get({ timeout: 10_000 }), 'done', 'nothing lost');
});

t.test('beat runs on this pair: entries and lease in Redis, its tasks through RabbitMQ; app.schedules reads the same store', async (t) => {
  const { newApp, startWorker } = env(t);
  const name = unique('add-every-300ms');
  const app = newApp({ beatSchedule: { [name]: { task: 'tasks.add', schedule: 300, args: [20, 22] } } });
  app.task('tasks.add', (a: number, b: number) => a + b);
  await startWorker(app);
  const beat = app.beat({ lease: unique('lease'), log: () => undefined });
  t.teardown(() => beat.close());
  const ids: string[] = [];
  beat.on('fired', (f) => ids.push(f.id));
  await beat.start();
  await until(() => ids.length >= 2, 10_000, 'two fires');
  t.same(await Promise.all(ids.slice(0, 2).map((id) => app.asyncResult(id).get({ timeout: 10_000 }))), [42, 42], 'each run landed in Redis');
  const entry = (await app.schedules.list()).entries.find((e) => e.name === name);
  t.ok(entry !== undefined && entry.runCount >= 2, 'app.schedules lists the entry with its runs');
  const [runs] = await redisCommands(redis.port, [['HGET', `celeriac-beat-entry-${name}`, 'runCount']]);
  t.ok(Number(runs) >= 2, 'kept in celeriac-beat-entry-<name>');
  await beat.close();
  await app.schedules.remove(name);
});
