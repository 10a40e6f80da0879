// celeriac's side of the task benchmark: a producer app and a worker app running the bench's
// tasks through the public task API (Celeriac, app.task, delay, AsyncResult.get, app.worker).
//
// Three tasks, the same on both sides (bullmq-adapter.js): `tasks.add(a, b)`; `tasks.add_quiet(a,
// b)`, declared with `ignoreResult: true` (a Python-style producer that never reads results: no
// result stored, nothing sent back); `tasks.stamp(sent)`, which returns how long after `sent` (a
// wall-clock time in ms, see wallNow) it started in the worker: publish → deliver.
// The producer's shapes are in tasks-shapes.js's terms: each resolves with per-task latencies (ms).
// Settings are the defaults (durability is the broker's, `full`), plus what the caller adds: a
// `resultBackend` (redis://) for an amqp:// broker.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, now, wallNow } from './harness.js';
import { STAMP_BUDGET_MS, STAMP_TIMEOUT_MS, checkSum, paced, runLanes } from './task-shapes-common.js';

const importClient = () => import(pathToFileURL(join(ROOT, 'dist/client/index.js')).href);

/** True when the built client exports the task layer's `Celeriac` (issue 3). */
export async function celeriacTasksBuilt() {
  try {
    return typeof (await importClient()).Celeriac === 'function';
  } catch {
    return false;
  }
}

/** The app both processes build; `onRun` is called at each task run (the worker counts runs). */
async function makeApp(brokerUrl, settings = {}, onRun = () => {}) {
  const { Celeriac } = await importClient();
  const app = new Celeriac({ broker: brokerUrl, ...settings });
  const add = app.task('tasks.add', (a, b) => { onRun(); return a + b; });
  const addQuiet = app.task('tasks.add_quiet', (a, b) => { onRun(); return a + b; }, { ignoreResult: true });
  const stamp = app.task('tasks.stamp', (sent) => { const started = wallNow(); onRun(); return started - sent; });
  return { app, add, addQuiet, stamp };
}

/**
 * Opens the producer side; `settings` are added to the app's (e.g. { resultBackend }). Returns the
 * shapes { batch, window, fireAndForget, roundTrips, stampCalls, background } and close().
 */
export async function openCeleriacProducer(brokerUrl, settings = {}) {
  const { app, add, addQuiet, stamp } = await makeApp(brokerUrl, settings);
  return {
    name: 'celeriac',
    /**
     * `count` add(i, 1), `chunk` delay() calls in flight at a time, awaited together, then each
     * AsyncResult's get() asked at once; chunk after chunk. Resolves with send → result latencies
     * once every result is back; rejects when their sum is wrong.
     */
    async batch(count, { chunk }) {
      const latencies = new Float64Array(count);
      const values = [];
      for (let i = 0; i < count; i += chunk) {
        const n = Math.min(chunk, count - i);
        const t0 = now();
        const sends = new Array(n);
        for (let j = 0; j < n; j++) sends[j] = add.delay(i + j, 1);
        const results = await Promise.all(sends);
        for (let j = 0; j < n; j++) {
          values.push(results[j].get({ timeout: 120_000 }).then((v) => { latencies[i + j] = now() - t0; return v; }));
        }
      }
      checkSum('celeriac', await Promise.all(values), count);
      return latencies;
    },
    /** `lanes` loops, each `await (await add.delay(i, 1)).get()` one task after the other. */
    async window(count, { lanes }) {
      const values = new Array(count);
      const latencies = await runLanes(count, lanes, async (i) => {
        values[i] = await (await add.delay(i, 1)).get({ timeout: 120_000 });
      });
      checkSum('celeriac', values, count);
      return latencies;
    },
    /** `lanes` loops, each `await addQuiet.delay(i, 1)` (the broker's confirm), results never read. */
    fireAndForget(count, { lanes }) {
      return runLanes(count, lanes, (i) => addQuiet.delay(i, 1));
    },
    /** `calls` sequential `await (await add.delay(i, 1)).get()`: the round trip of each. */
    async roundTrips(calls) {
      const latencies = new Float64Array(calls);
      for (let i = 0; i < calls; i++) {
        const t = now();
        const v = await (await add.delay(i, 1)).get({ timeout: 10_000 });
        latencies[i] = now() - t;
        if (v !== i + 1) throw new Error(`celeriac: add(${i}, 1) returned ${v}`);
      }
      return latencies;
    },
    /** Up to `calls` sequential stamp tasks (fewer when STAMP_BUDGET_MS is spent): publish → deliver (the task's result) and the round trip. */
    async stampCalls(calls) {
      const deliver = new Float64Array(calls), total = new Float64Array(calls);
      const deadline = now() + STAMP_BUDGET_MS;
      let i = 0;
      for (; i < calls && now() < deadline; i++) {
        const t = now();
        deliver[i] = await (await stamp.delay(wallNow())).get({ timeout: STAMP_TIMEOUT_MS });
        total[i] = now() - t;
      }
      return { deliver: deliver.subarray(0, i), total: total.subarray(0, i) };
    },
    /** A paced background producer of add_quiet tasks at `rate` per second (see paced()). */
    background: (rate) => paced(rate, (i) => addQuiet.delay(i, 1)),
    close: () => app.close(),
  };
}

/**
 * Starts a celeriac worker (async pool) on the default queue with `concurrency`
 * (prefetch = concurrency × the default multiplier); `events` turns its task events on (`-E`);
 * `settings` are added to the app's, as for the producer. Returns { runs(), close() }: runs() is
 * how many tasks it has run.
 */
export async function startCeleriacWorker(brokerUrl, { concurrency, events = false, settings = {} }) {
  let runs = 0;
  const { app } = await makeApp(brokerUrl, settings, () => { runs++; });
  const worker = app.worker({ queues: ['default'], concurrency, pool: 'async', sendEvents: events });
  await worker.start();
  return {
    runs: () => runs,
    async close() {
      await worker.close();
      await app.close();
    },
  };
}
