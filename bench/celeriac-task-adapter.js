// celeriac's side of the task benchmark: a producer app and a worker app running `add(a, b)`
// through the public task API (Celeriac, app.task, delay, AsyncResult.get, app.worker).
//
// Producer: runBatch(count, chunk) calls delay() `chunk` at a time (all in flight, awaited
// together, as BullMQ's addBulk), asks each AsyncResult for its value at once, and resolves
// when every value is back (stored by the broker and pushed to the producer); call(a, b) is
// one delay() + get(). Settings are the defaults (durability is the broker's, `full`), plus what
// the caller adds: a `resultBackend` (redis://) for an amqp:// broker.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './harness.js';

const importClient = () => import(pathToFileURL(join(ROOT, 'dist/client/index.js')).href);

/** True when the built client exports the task layer's `Celeriac` (issue 3). */
export async function celeriacTasksBuilt() {
  try {
    return typeof (await importClient()).Celeriac === 'function';
  } catch {
    return false;
  }
}

/** The app both processes build: one task, `tasks.add`, on the default queue. */
async function makeApp(brokerUrl, settings = {}) {
  const { Celeriac } = await importClient();
  const app = new Celeriac({ broker: brokerUrl, ...settings });
  const add = app.task('tasks.add', (a, b) => a + b);
  return { app, add };
}

/**
 * Opens the producer side; `settings` are added to the app's (e.g. { resultBackend }). Returns
 * { name, runBatch(count, { chunk }), call(a, b), close() }.
 */
export async function openCeleriacProducer(brokerUrl, settings = {}) {
  const { app, add } = await makeApp(brokerUrl, settings);
  return {
    name: 'celeriac',
    /**
     * Sends `count` add(i, 1) tasks, `chunk` delay() calls in flight at a time, and resolves
     * when every result has come back. Rejects when a result is wrong (their sum is checked).
     */
    async runBatch(count, { chunk = 1_000 } = {}) {
      const values = [];
      for (let i = 0; i < count; i += chunk) {
        const n = Math.min(chunk, count - i);
        const sends = new Array(n);
        for (let j = 0; j < n; j++) sends[j] = add.delay(i + j, 1);
        for (const result of await Promise.all(sends)) values.push(result.get({ timeout: 120_000 }));
      }
      let sum = 0;
      for (const v of await Promise.all(values)) sum += v;
      const expected = (count * (count - 1)) / 2 + count;
      if (sum !== expected) throw new Error(`celeriac: results sum to ${sum}, expected ${expected}`);
    },
    /** One task, sent and awaited: delay() (confirmed by the broker), then get(). */
    async call(a, b) {
      const result = await add.delay(a, b);
      return result.get({ timeout: 10_000 });
    },
    close: () => app.close(),
  };
}

/**
 * Starts a celeriac worker (async pool) on the default queue with `concurrency`
 * (prefetch = concurrency × the default multiplier); `events` turns its task events on (`-E`);
 * `settings` are added to the app's, as for the producer. Returns { close() }.
 */
export async function startCeleriacWorker(brokerUrl, { concurrency, events = false, settings = {} }) {
  const { app } = await makeApp(brokerUrl, settings);
  const worker = app.worker({ queues: ['default'], concurrency, pool: 'async', sendEvents: events });
  await worker.start();
  return {
    async close() {
      await worker.close();
      await app.close();
    },
  };
}
