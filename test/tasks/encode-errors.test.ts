// Values that cannot be encoded, through a real broker and worker: a result its serializer cannot
// carry ends FAILURE at once with EncodeError (never PENDING until a timeout), in every pool; bad
// arguments are refused before anything is sent; a follow-up that cannot be built, or a finish the
// broker refuses, fails its task; and an early-acked task whose finish a dropped socket cut off
// still gets its result (and its follow-ups, once) after the reconnect.
import t, { type Test } from 'tap';
import net from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chain, connect, type AsyncResult, type Celeriac, type Task } from '../../client/index.js';
import type { CeleriacError } from '../../shared/errors.js';
import type { Broker } from '../../server/index.js';
import { api, queuePath } from '../helpers/http.js';
import { until, untilAsync } from '../helpers/wait.js';
import { captureLog, taskEnv } from './task-helpers.js';

const APP_MODULE = fileURLToPath(new URL('../fixtures/task-apps/encode-app.mjs', import.meta.url));
// Runners load the plain-JS app: keep tap's TypeScript loader out of them (it only slows their start).
process.env['TAP_TYPE_STRIP_ONLY'] = '1';

/** Long enough that a result left PENDING shows as ERR_RESULT_TIMEOUT, not as a slow FAILURE. */
const GET = { timeout: 10_000 };
let counter = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;

/**
 * The coded error `p` rejects with (fails the test when it resolves). Matched by its code, not its
 * class: an app module loaded from dist/ (the threads test) has a CeleriacError class of its own.
 */
async function rejection(p: Promise<unknown>): Promise<CeleriacError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Error && typeof (err as { code?: unknown }).code === 'string') return err as CeleriacError;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** A queue as the management API lists it (ready and unacked counted apart). */
async function queueStats(broker: Broker, queue: string): Promise<{ messages: number; unacked: number }> {
  return (await api<{ messages: number; unacked: number }>(broker, queuePath(queue))).body;
}

/** Expects `r` to have ended FAILURE with EncodeError naming its task, its id and `path`. */
async function expectEncodeFailure(t: Test, r: AsyncResult<unknown>, task: string, path: string): Promise<void> {
  const err = await rejection(r.get(GET));
  t.equal(err.code, 'ERR_TASK_FAILED', `${task}: FAILURE at once (not ERR_RESULT_TIMEOUT)`);
  t.match(err.details, { remoteName: 'EncodeError', remoteCode: 'ERR_ENCODE' }, `${task}: Celery's EncodeError`);
  const message = String(err.details?.['remoteMessage']);
  t.ok(message.includes(`the result of task ${task}[${r.id}]`), `${task}: names the task and its id (${message})`);
  t.ok(message.includes(path), `${task}: names the path '${path}'`);
  t.equal(await r.state, 'FAILURE', `${task}: stored FAILURE`);
}

type AnyTask = Task<unknown[], unknown>;

t.test('json results: NaN, Infinity, BigInt, circular and function values end FAILURE with their path', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const queue = unique('enc-json');
  const task = (name: string, fn: () => unknown): AnyTask => app.task(`${queue}.${name}`, fn, { queue }) as AnyTask;
  const cases: Array<[AnyTask, string]> = [
    [task('nan', () => ({ items: [0, 1, { x: NaN }] })), 'result.items[2].x is NaN'],
    [task('inf', () => [Infinity]), 'result[0] is Infinity'],
    [task('bigint', () => ({ n: 5n })), 'result.n is a BigInt'],
    [task('circular', () => {
      const o: Record<string, unknown> = { name: 'loop' };
      o.self = o;
      return o;
    }), 'result.self is circular'],
    [task('function', () => ({ f: () => 1 })), 'result.f is a function'],
  ];
  const fine = task('fine', () => 'fine');
  await startWorker(app, { queues: [queue] });
  await Promise.all(cases.map(async ([tk, path]) => expectEncodeFailure(t, await tk.delay(), tk.name, path)));
  t.equal(await (await fine.delay()).get(GET), 'fine', 'the worker goes on');
});

t.test('msgpack results: NaN travels; BigInt, circular and Map values end FAILURE', async (t) => {
  const { app, startWorker } = await taskEnv(t, { resultSerializer: 'msgpack', taskSerializer: 'msgpack', acceptContent: ['json', 'msgpack'] });
  const queue = unique('enc-msgpack');
  const task = (name: string, fn: () => unknown): AnyTask => app.task(`${queue}.${name}`, fn, { queue }) as AnyTask;
  const nan = task('nan', () => ({ items: [0, 1, { x: NaN }] }));
  const cases: Array<[AnyTask, string]> = [
    [task('bigint', () => [1, 2n]), 'result[1] is a BigInt'],
    [task('circular', () => {
      const list: unknown[] = [];
      list.push({ back: list });
      return list;
    }), 'result[0].back is circular'],
    [task('map', () => ({ m: new Map([['a', 1]]) })), 'result.m is a Map'],
  ];
  await startWorker(app, { queues: [queue] });
  t.same(await (await nan.delay()).get(GET), { items: [0, 1, { x: NaN }] }, 'msgpack carries NaN');
  await Promise.all(cases.map(async ([tk, path]) => expectEncodeFailure(t, await tk.delay(), tk.name, path)));
});

t.test('late acks: the FAILURE is stored and the delivery acked with it', async (t) => {
  const { app, broker, startWorker } = await taskEnv(t);
  const queue = unique('enc-late');
  const nan = app.task(`${queue}.nan`, () => ({ x: NaN }), { queue, acksLate: true });
  await startWorker(app, { queues: [queue] });
  await expectEncodeFailure(t, await nan.delay(), nan.name, 'result.x is NaN');
  await untilAsync(async () => (await queueStats(broker, queue)).unacked === 0, 10_000, 'the delivery acked');
  t.match(await queueStats(broker, queue), { messages: 0, unacked: 0 });
});

t.test('arguments that cannot be encoded: delay, applyAsync and sendTask reject with ERR_ENCODE, nothing is sent', async (t) => {
  const { app, broker, newApp } = await taskEnv(t);
  const queue = unique('enc-args');
  const add = app.task(`${queue}.add`, (a: number, b: unknown) => [a, b], { queue });
  const conn = await connect(broker.url);
  t.teardown(() => conn.close());
  const count = async (): Promise<number> => (await conn.checkQueue(queue)).messageCount;
  await add.delay(1, 2); // declares the queue; no worker consumes it
  t.equal(await count(), 1);

  const nan = await rejection(add.delay(1, { x: NaN }));
  t.equal(nan.code, 'ERR_ENCODE');
  t.equal(nan.name, 'EncodeError');
  t.match(nan.message, new RegExp(`^cannot encode the arguments of task ${queue}\\.add\\[[0-9a-f-]{36}\\] as json: args\\[1\\]\\.x is NaN`));
  t.match(nan.details, { task: add.name, path: 'args[1].x', serializer: 'json' });
  t.match(await rejection(add.applyAsync([1, 2], { kwargs: { n: 10n } })), { code: 'ERR_ENCODE', details: { path: 'kwargs.n' } });
  const loop: unknown[] = [];
  loop.push(loop);
  t.match(await rejection(app.sendTask(add.name, [1, loop])), { code: 'ERR_ENCODE', details: { path: 'args[1][0]' } });
  t.match(await rejection(add.applyAsync([1, 2], { link: add.s(Symbol('s')) })), { code: 'ERR_ENCODE', details: { path: 'callbacks[0].args[0]' } });
  t.equal(await count(), 1, 'none of the refused calls reached the queue');

  const packed = newApp({ taskSerializer: 'msgpack' });
  await packed.sendTask(add.name, [1, { x: NaN }], { queue });
  t.equal(await count(), 2, 'msgpack carries NaN');
  t.match(await rejection(packed.sendTask(add.name, [1, 2n], { queue })), { code: 'ERR_ENCODE', message: /as msgpack: args\[1\] is a BigInt/ });
  t.equal(await count(), 2);
});

t.test('a follow-up whose arguments cannot be encoded fails its task with EncodeError; errbacks still run', async (t) => {
  // Results as msgpack (NaN is fine there), task messages as JSON: the result stores, the next step cannot be sent.
  const { app, startWorker } = await taskEnv(t, { resultSerializer: 'msgpack', acceptContent: ['json', 'msgpack'] });
  const queue = unique('enc-follow');
  const ran: unknown[] = [];
  const errored: string[] = [];
  const first = app.task(`${queue}.first`, () => NaN, { queue });
  const second = app.task(`${queue}.second`, (x: unknown) => { ran.push(x); return x; }, { queue });
  const onError = app.task(`${queue}.on-error`, (id: string) => { errored.push(id); }, { queue });
  await startWorker(app, { queues: [queue] });

  const linked = await first.applyAsync([], { link: second.s(), linkError: onError.s() });
  const err = await rejection(linked.get(GET));
  t.equal(err.code, 'ERR_TASK_FAILED');
  t.match(err.details, { remoteName: 'EncodeError', remoteCode: 'ERR_ENCODE' });
  t.match(String(err.details?.['remoteMessage']), `task ${first.name}[${linked.id}] succeeded, but its callback ${second.name} could not be sent: cannot encode the arguments of task ${second.name}[`);
  t.match(String(err.details?.['remoteMessage']), 'as json: args[0] is NaN');
  t.equal(await linked.state, 'FAILURE');
  await until(() => errored.length === 1, 5_000, 'the errback');
  t.same(errored, [linked.id], "the errback got the failed task's id");

  const chained = await chain(first.s(), second.s()).delay();
  const chainErr = await rejection(chained.get(GET));
  t.equal(chainErr.code, 'ERR_TASK_FAILED', "the chain fails with its first step's error");
  t.match(String(chainErr.details?.['remoteMessage']), `succeeded, but the next step of its chain (${second.name}) could not be sent`);
  t.same(ran, [], 'the step that could not be sent never ran');
});

t.test('a finish the broker refuses (a follow-up over maxBodySize) ends the task FAILURE instead of PENDING', async (t) => {
  const { app, startWorker } = await taskEnv(t, {}, { limits: { maxBodySize: 4_096 } });
  const queue = unique('enc-refused');
  const big = app.task(`${queue}.big`, () => 'x'.repeat(8_000), { queue });
  const next = app.task(`${queue}.next`, (s: string) => s.length, { queue });
  await startWorker(app, { queues: [queue] });
  const r = await big.applyAsync([], { link: next.s() });
  const err = await rejection(r.get(GET));
  t.equal(err.code, 'ERR_TASK_FAILED', 'FAILURE at once (not ERR_RESULT_TIMEOUT)');
  t.match(err.details, { remoteName: 'MessageTooLargeError', remoteCode: 'ERR_MESSAGE_TOO_LARGE' });
  t.equal(await r.state, 'FAILURE');
});

t.test('a result over maxBodySize is refused by the broker: FAILURE naming the sizes, nothing else stored, the worker goes on', async (t) => {
  const { app, startWorker } = await taskEnv(t, {}, { limits: { maxBodySize: 4_096 } });
  const queue = unique('enc-result-body');
  const big = app.task(`${queue}.big`, () => 'x'.repeat(8_000), { queue });
  const small = app.task(`${queue}.small`, (n: number) => n + 1, { queue });
  await startWorker(app, { queues: [queue] });
  const r = await big.delay();
  const err = await rejection(r.get(GET));
  t.equal(err.code, 'ERR_TASK_FAILED', 'FAILURE at once (not ERR_RESULT_TIMEOUT)');
  t.match(err.details, { remoteName: 'MessageTooLargeError', remoteCode: 'ERR_MESSAGE_TOO_LARGE', remoteMessage: new RegExp(`the result of task ${r.id} is \\d+ bytes, more than maxBodySize 4096`) });
  t.equal(await r.state, 'FAILURE', 'the FAILURE is what is stored');
  t.equal(await (await small.delay(1)).get(GET), 2, 'the worker and its connection go on');

  // A FAILURE whose exception alone is over the limit is stored cut short, once, early ack or late.
  let runs = 0;
  const loud = app.task(`${queue}.loud`, () => { runs++; throw new Error('y'.repeat(8_000)); }, { queue });
  const loudLate = app.task(`${queue}.loud-late`, () => { runs++; throw new Error('z'.repeat(8_000)); }, { queue, acksLate: true });
  for (const [task, letter] of [[loud, 'y'], [loudLate, 'z']] as const) {
    runs = 0;
    const failed = await task.delay();
    const cut = await rejection(failed.get(GET));
    t.equal(cut.code, 'ERR_TASK_FAILED', `${letter}: FAILURE, not ERR_RESULT_TIMEOUT`);
    const text = String(cut.details?.['remoteMessage']);
    t.match(text, new RegExp(`^${letter}{256}… \\[7744 characters cut: the record was over the broker's limit of 4096 bytes\\]$`), `${letter}: the message is cut short and says so`);
    t.equal(await failed.state, 'FAILURE', `${letter}: stored`);
    t.equal(runs, 1, `${letter}: the task ran once`);
  }
  const conn = await connect(app.settings.broker);
  t.teardown(() => conn.close());
  const stored = await rejection(conn.storeResult(`${queue}-direct`, 'SUCCESS', Buffer.alloc(5_000)));
  t.equal(stored.code, 'ERR_MESSAGE_TOO_LARGE', 'a result store over maxBodySize is refused alike');
  t.equal(await conn.getResult(`${queue}-direct`), null, 'and nothing was stored');
});

t.test('a result over maxMessageSize is not sent (the broker would close the socket): FAILURE, not a resend loop', async (t) => {
  const { app, broker, startWorker } = await taskEnv(t, {}, { limits: { maxMessageSize: 65_536, maxPreAuthSize: 4_096 } });
  const queue = unique('enc-frame');
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  let running = false;
  const huge = app.task(`${queue}.huge`, async () => { running = true; await gate; return 'x'.repeat(100_000); }, { queue });
  await startWorker(app, { queues: [queue] });
  const r = await huge.delay();
  await until(() => running, 5_000, 'the task to start');
  // The early ack must have left in a WebSocket message of its own: the broker drops the whole
  // message that is too large, and a lost ack would bring the task back (a different story).
  await untilAsync(async () => (await queueStats(broker, queue)).unacked === 0, 10_000, 'the early ack to land');
  release();
  const err = await rejection(r.get(GET));
  t.equal(err.code, 'ERR_TASK_FAILED', 'FAILURE at once (not ERR_RESULT_TIMEOUT)');
  t.match(err.details, { remoteCode: 'ERR_MESSAGE_TOO_LARGE', remoteMessage: /larger than the broker's maxMessageSize 65536; not sent/ });
  t.equal(await r.state, 'FAILURE');
});

t.test('a FAILURE cut short keeps its errbacks, and fits maxBodySize when the SDK refused the frame for maxMessageSize', async (t) => {
  const { app, startWorker } = await taskEnv(t, {}, { limits: { maxMessageSize: 65_536, maxPreAuthSize: 4_096, maxBodySize: 16_384 } });
  const queue = unique('enc-cut');
  const errbacks: string[] = [];
  const record = app.task(`${queue}.record`, (_id: string, tag: string) => { errbacks.push(tag); return tag; }, { queue });
  // ASCII over maxBodySize only (the broker refuses the body); 3-byte characters over
  // maxMessageSize (the SDK refuses the frame, whose limit would leave the cut record too large).
  const overBody = app.task(`${queue}.over-body`, () => { throw new Error('y'.repeat(20_000)); }, { queue });
  const overMessage = app.task(`${queue}.over-message`, () => { throw new Error('あ'.repeat(30_000)); }, { queue });
  await startWorker(app, { queues: [queue] });
  for (const [task, tag] of [[overBody, 'over-body'], [overMessage, 'over-message']] as const) {
    const r = await task.applyAsync([], { linkError: record.s(tag) });
    const err = await rejection(r.get(GET));
    t.equal(err.code, 'ERR_TASK_FAILED', `${tag}: FAILURE, not ERR_RESULT_TIMEOUT`);
    t.match(String(err.details?.['remoteMessage']), /characters cut: the record was over the broker's limit of 16384 bytes\]$/, `${tag}: cut to maxBodySize and says so`);
  }
  await until(() => errbacks.length === 2, 10_000, 'both errbacks to run');
  t.same(errbacks.sort(), ['over-body', 'over-message'], 'each failed task\'s errback ran');
});

t.test('a FAILURE the SDK could not send is cut to the smaller limit: maxMessageSize when it is below maxBodySize', async (t) => {
  // startBroker() allows a message limit below the body limit (the CLI does not): the cut must fit it.
  const { app, startWorker } = await taskEnv(t, {}, { limits: { maxMessageSize: 65_536, maxPreAuthSize: 4_096 } });
  const queue = unique('enc-cut-min');
  let runs = 0;
  const loud = app.task(`${queue}.loud`, () => { runs++; throw new Error('あ'.repeat(30_000)); }, { queue, acksLate: true });
  await startWorker(app, { queues: [queue] });
  const r = await loud.delay();
  const err = await rejection(r.get(GET));
  t.equal(err.code, 'ERR_TASK_FAILED', 'FAILURE, not ERR_RESULT_TIMEOUT');
  t.match(String(err.details?.['remoteMessage']), /characters cut: the record was over the broker's limit of 65536 bytes\]$/, 'cut to maxMessageSize');
  t.equal(runs, 1, 'the late-acked task ran once');
});

t.test('threads pool: a result crosses the structured-clone boundary intact and then fails to encode', async (t) => {
  const env = await taskEnv(t);
  process.env['CELERIAC_BROKER'] = env.broker.url;
  const mod = (await import(`${pathToFileURL(APP_MODULE).href}?threads`)) as { app: Celeriac };
  const app = mod.app;
  t.teardown(() => app.close());
  const worker = app.worker({ pool: 'threads', appModule: APP_MODULE, concurrency: 1, log: () => undefined });
  t.teardown(() => worker.close({ force: true }));
  await worker.start();
  const expect = async (name: string, path: string): Promise<void> => expectEncodeFailure(t, await app.sendTask(name), name, path);
  await expect('encode.nan', 'result.items[2].x is NaN');
  await expect('encode.bigint', 'result.n is a BigInt');
  await expect('encode.circular', 'result.self is circular');
  t.equal(await (await app.sendTask('encode.fine', [2, 3])).get(GET), 5);
});

/**
 * A TCP proxy to the broker whose links can be muted one way (bytes dropped and counted) and cut,
 * so a finish can be lost on its way up, or its reply on the way down, before the socket drops.
 */
async function cutProxy(t: Test, port: number): Promise<{ url: string; mute(way: 'up' | 'down'): void; dropped(way: 'up' | 'down'): number; cut(): void }> {
  interface Link { client: net.Socket; upstream: net.Socket; muted: Set<'up' | 'down'>; dropped: { up: number; down: number } }
  let links: Link[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    const link: Link = { client, upstream, muted: new Set(), dropped: { up: 0, down: 0 } };
    links.push(link);
    const pass = (way: 'up' | 'down', to: net.Socket) => (data: Buffer): void => {
      if (link.muted.has(way)) link.dropped[way] += data.length;
      else to.write(data);
    };
    client.on('data', pass('up', upstream));
    upstream.on('data', pass('down', client));
    const close = (): void => { client.destroy(); upstream.destroy(); };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const l of links) { l.client.destroy(); l.upstream.destroy(); }
    server.close(() => resolve());
  }));
  const { port: own } = server.address() as net.AddressInfo;
  return {
    url: `ws://127.0.0.1:${own}`,
    mute: (way) => { for (const l of links) l.muted.add(way); },
    dropped: (way) => links.reduce((sum, l) => sum + l.dropped[way], 0),
    cut: () => {
      for (const l of links) { l.client.destroy(); l.upstream.destroy(); }
      links = [];
    },
  };
}

/**
 * Runs `slow` (early acks) on a worker behind a proxy, mutes `way` while its finish travels, then
 * cuts the link: 'up' loses the finish before the broker sees it, 'down' loses only its reply.
 */
async function cutFinish(t: Test, way: 'up' | 'down', withCallback: boolean): Promise<void> {
  const { app: producer, broker, newApp, startWorker } = await taskEnv(t);
  const proxy = await cutProxy(t, broker.port);
  const workerApp = newApp({ broker: proxy.url });
  const queue = unique(`enc-cut-${way}`);
  const value = 'v'.repeat(5_000);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  let running = false;
  const after: unknown[] = [];
  const slow = workerApp.task(`${queue}.slow`, async () => { running = true; await gate; return value; }, { queue });
  const next = workerApp.task(`${queue}.after`, (v: string) => { after.push(v.length); return v.length; }, { queue });
  const marker = workerApp.task(`${queue}.marker`, () => 'marker', { queue });
  const logged = captureLog();
  const worker = await startWorker(workerApp, { queues: [queue], log: logged.log });

  const r = await producer.sendTask(slow.name, [], withCallback ? { queue, link: next.s() } : { queue });
  await until(() => running, 5_000, 'the task to start');
  await untilAsync(async () => (await queueStats(broker, queue)).unacked === 0, 10_000, 'the early ack to land');
  proxy.mute(way);
  release();
  if (way === 'up') await until(() => proxy.dropped('up') > value.length, 5_000, 'the finish to be written to the muted link');
  else await untilAsync(async () => (await r.state) === 'SUCCESS', 10_000, 'the finish to commit');
  proxy.cut();

  t.equal(await r.get(GET), value, 'the early-acked task has its result');
  // The worker says what it did once its recovery is over (so the teardown does not cut it short).
  const outcome = way === 'down' ? 'after it committed; not sent again' : withCallback ? 'sent again after the reconnect' : 'its result stored again after the reconnect';
  await until(() => logged.lines.some((l) => l.includes(outcome)), 10_000, `the worker's recovery: ${outcome}`);
  if (withCallback) {
    await until(() => after.length >= 1, 10_000, 'the callback');
    // Everything published before the marker ran before it ended (one queue, FIFO): a duplicate would show.
    t.equal(await (await producer.sendTask(marker.name, [], { queue })).get(GET), 'marker');
    await until(() => worker.activeCount === 0, 5_000, 'the worker idle');
    t.same(after, [value.length], 'the callback ran exactly once');
  }
  // Closed while the proxy still runs (its teardown comes first): a worker cut off from its broker waits for it.
  await worker.close();
  await workerApp.close();
}

t.test('a result-only finish lost with its socket after an early ack is stored after the reconnect', async (t) => {
  await cutFinish(t, 'up', false);
});

t.test('a finish with a callback lost on its way up is sent again after the reconnect, once', async (t) => {
  await cutFinish(t, 'up', true);
});

t.test('a finish that committed but whose reply was lost is not sent again', async (t) => {
  await cutFinish(t, 'down', true);
});
