// Conformance, calling and results: delay / applyAsync / sendTask, get, state and ready; results
// in json and msgpack, failures with their type, message and traceback, ignoreResult, forget,
// resultExpires; a task nobody registered; a result its serializer cannot carry. In every home.
import type { TaskContext } from '../../../client/index.js';
import { until, untilAsync } from '../../helpers/wait.js';
import { captureLog, GET, rejection, scenarioEnv, unique } from '../conformance-helpers.js';
import type { Scenario } from '../homes.js';

class BadInput extends Error {
  override name = 'BadInput';
}

/** The scenarios, in the order they run. */
export const scenarios: Readonly<Record<string, Scenario>> = {
  'calling: delay, applyAsync and sendTask; state and ready before and after a worker': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('calling');
    const add = app.task(`${q}.add`, (a: number, b: number) => a + b, { queue: q });
    const a = await add.delay(2, 3);
    t.match(a.id, /^[0-9a-f-]{36}$/, 'a UUID task id');
    t.equal(await a.state, 'PENDING', 'PENDING from the confirm, before any worker');
    t.equal(await a.ready(), false);
    t.equal((await rejection(a.get({ timeout: 100 }))).code, 'ERR_RESULT_TIMEOUT');
    const b = await add.applyAsync([4, 5]);
    // A producer without the code sends by name.
    const producer = env.app();
    const c = await producer.sendTask<number>(add.name, [10, 20], { queue: q });
    const { lines, log } = captureLog();
    await env.worker(app, { queues: [q], log });
    // The producer declared the queue before the worker: their declares agree, nothing to warn of.
    t.same(lines.filter((l) => l.startsWith('warn:') && l.includes(q)), [], 'the worker starts without a warning about its queue');
    t.equal(await a.get(GET), 5);
    t.equal(await b.get(GET), 9);
    t.equal(await c.get(GET), 30, 'sendTask: read through the producer that sent it');
    t.equal(await a.state, 'SUCCESS');
    t.equal(await a.ready(), true);
    t.equal(await a.result, 5);
    t.equal(await a.traceback, null);
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => add.delay(i, i)));
    t.same(await Promise.all(many.map((m) => m.get(GET))), Array.from({ length: 20 }, (_, i) => 2 * i), 'twenty at once');
    const unknown = app.asyncResult(unique('never-sent'));
    t.equal(await unknown.state, 'UNKNOWN', 'an id nobody sent');
    t.equal((await rejection(unknown.get({ timeout: 60_000 }))).code, 'ERR_UNKNOWN_TASK_ID', 'rejects at once, no hang');
  },

  'results: SUCCESS values round-trip in json, with Celery meta': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('json');
    const value = { list: [1, 'two', null, true, 2.5], nested: { s: 'grüße ✓', empty: [] as unknown[] }, neg: -7 };
    const echo = app.task(`${q}.echo`, (v: unknown) => v, { queue: q });
    await env.worker(app, { queues: [q] });
    const r = await echo.delay(value);
    t.same(await r.get(GET), value);
    t.match(await r.meta(), { status: 'SUCCESS', result: value, traceback: null, task_id: r.id, date_done: String }, "Celery's meta fields");
    t.same(await (await echo.delay(null)).get(GET), null, 'null is a result too');
  },

  'results: SUCCESS values round-trip in msgpack, NaN and bytes included': async (t, home) => {
    const env = scenarioEnv(t, home);
    const settings = { taskSerializer: 'msgpack', resultSerializer: 'msgpack', acceptContent: ['json', 'msgpack'] } as const;
    const app = env.app(settings);
    const q = unique('msgpack');
    const make = app.task(`${q}.make`, (n: number) => ({ n, nan: NaN, bytes: new Uint8Array([0, 1, 254, 255]), list: [n, 'x'] }), { queue: q });
    await env.worker(app, { queues: [q] });
    const r = await make.delay(3);
    const v = await r.get(GET);
    t.same({ ...v, bytes: Array.from(v.bytes) }, { n: 3, nan: NaN, bytes: [0, 1, 254, 255], list: [3, 'x'] });
    t.ok(v.bytes instanceof Uint8Array, 'bytes come back as bytes');
    t.match(await r.meta(), { status: 'SUCCESS', task_id: r.id });
  },

  'results: FAILURE carries the exception type, message and traceback': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('failure');
    const boom = app.task(`${q}.boom`, function explode(x: number): number {
      throw new BadInput(`bad ${x}`);
    }, { queue: q });
    await env.worker(app, { queues: [q] });
    const r = await boom.delay(7);
    const err = await rejection(r.get(GET));
    t.equal(err.code, 'ERR_TASK_FAILED');
    t.equal(err.details?.['remoteName'], 'BadInput');
    t.equal(err.details?.['remoteMessage'], 'bad 7');
    t.match(String(err.details?.['remoteStack']), /explode/, 'the remote stack names the task function');
    t.equal(await r.state, 'FAILURE');
    t.equal(await r.ready(), true);
    t.match(await r.traceback, /BadInput: bad 7/);
    t.match(await r.result, { exc_type: 'BadInput', exc_message: ['bad 7'] });
    t.match(await r.get({ ...GET, propagate: false }), { exc_type: 'BadInput' }, 'propagate: false resolves with the error info');
  },

  'results: ignoreResult stores nothing; forget removes a result': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('ignore');
    const runs: string[] = [];
    const quiet = app.task(`${q}.quiet`, function (this: TaskContext) { runs.push(this.id); return 1; }, { queue: q, ignoreResult: true });
    const add = app.task(`${q}.add`, (a: number, b: number) => a + b, { queue: q });
    await env.worker(app, { queues: [q] });
    const ignored = await quiet.delay();
    t.equal(await ignored.state, 'UNKNOWN', 'not even PENDING is stored');
    const perCall = await add.applyAsync([1, 1], { ignoreResult: true });
    const kept = await add.delay(2, 2);
    t.equal(await kept.get(GET), 4);
    await until(() => runs.includes(ignored.id), 10_000, 'the ignored task to run');
    t.equal(await ignored.state, 'UNKNOWN', 'ran, and nothing was stored');
    t.equal(await perCall.state, 'UNKNOWN', 'ignoreResult per call too');
    await kept.forget();
    t.equal(await kept.state, 'UNKNOWN', 'forgotten');
    t.equal((await rejection(kept.get(GET))).code, 'ERR_UNKNOWN_TASK_ID');
  },

  'results: resultExpires drops a stored result after its time': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app({ resultExpires: 1_000 });
    const q = unique('expires');
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const held = app.task(`${q}.held`, () => gate.then(() => 'kept a while'), { queue: q });
    const w = await env.worker(app, { queues: [q] });
    const started = new Set<string>();
    w.on('task-started', (e) => started.add(e.uuid));
    const r = await held.delay();
    await until(() => started.has(r.id), 10_000, 'the task to start');
    // Waiting before the result exists, so its short life cannot run out before get() asks.
    const got = r.get(GET);
    await r.ready();
    release();
    t.equal(await got, 'kept a while', 'stored, and pushed to the waiting get()');
    await untilAsync(async () => (await r.state) === 'UNKNOWN', 15_000, 'the result to expire');
    t.pass('gone after resultExpires');
  },

  'unknown task: a message for a task the worker does not know is rejected and recorded as a failure': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('unknown');
    const known = app.task(`${q}.known`, () => 'known', { queue: q });
    const { lines, log } = captureLog();
    const w = await env.worker(app, { queues: [q], log });
    const rejected: string[] = [];
    w.on('task-rejected', (e) => rejected.push(e.uuid));
    const r = await app.sendTask(`${q}.nobody-registered-this`, [1], { queue: q });
    const err = await rejection(r.get(GET));
    t.equal(err.code, 'ERR_UNKNOWN_TASK');
    t.equal(await r.state, 'FAILURE');
    t.equal(await known.delay().then((k) => k.get(GET)), 'known', 'the queue goes on');
    t.same(rejected, [r.id], 'rejected once: not requeued, not redelivered');
    t.equal(lines.filter((l) => l.startsWith('error:') && l.includes(`unregistered task of type '${q}.nobody-registered-this'`)).length, 1, 'one clear log line');
  },

  'unserializable result: a json result with NaN ends FAILURE with EncodeError naming its path': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('encode');
    const nan = app.task(`${q}.nan`, () => ({ items: [0, { x: NaN }] }), { queue: q });
    const big = app.task(`${q}.bigint`, () => ({ n: 5n }), { queue: q });
    const fine = app.task(`${q}.fine`, () => 'fine', { queue: q });
    await env.worker(app, { queues: [q] });
    for (const [task, path] of [[nan, 'result.items[1].x is NaN'], [big, 'result.n is a BigInt']] as const) {
      const r = await task.delay();
      const err = await rejection(r.get(GET));
      t.equal(err.code, 'ERR_TASK_FAILED', `${task.name}: FAILURE at once (not ERR_RESULT_TIMEOUT)`);
      t.match(err.details, { remoteName: 'EncodeError', remoteCode: 'ERR_ENCODE' }, `${task.name}: Celery's EncodeError`);
      t.ok(String(err.details?.['remoteMessage']).includes(path), `${task.name}: names '${path}'`);
      t.equal(await r.state, 'FAILURE');
    }
    t.equal(await (await fine.delay()).get(GET), 'fine', 'the worker goes on');
  },
};
