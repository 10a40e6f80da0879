// BullMQ's side of the task benchmark: a producer (Queue + QueueEvents) and a worker (Worker)
// running `add(a, b)`, behind the same small interface as celeriac's task adapter.
//
// Producer: runBatch(count, chunk) sends with addBulk in chunks and resolves once QueueEvents
// has reported every 'completed' (the result is stored in redis and known to the producer);
// call(a, b) is one queue.add + job.waitUntilFinished(queueEvents). Completed jobs are kept
// (BullMQ's default), so each result stays stored, as celeriac's does.

/**
 * The events stream's approximate cap. BullMQ's default (10,000) is smaller than the events a
 * 20,000-task batch writes (added, waiting, active, completed: about 4 per task); a QueueEvents
 * reader that falls further behind than the cap silently misses completions, so the bench
 * raises it. Trimming stays on (XADD MAXLEN ~), so the per-event cost is BullMQ's usual one.
 */
export const EVENTS_MAX_LEN = 500_000;

/** True when the bullmq package (a dev dependency) can be loaded. */
export async function bullmqInstalled() {
  try {
    await import('bullmq');
    return true;
  } catch {
    return false;
  }
}

/** The processor both sides run: add(a, b) = a + b. */
const add = async (job) => job.data.a + job.data.b;

const connectionOf = (redisUrl) => {
  const u = new URL(redisUrl);
  return { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null };
};

/**
 * Opens the producer side on queue `queueName` of the redis at `redisUrl`: a Queue (its meta,
 * with the events cap, is written before any worker starts) and a QueueEvents reader, ready.
 * Returns { name, runBatch(count, { chunk }), call(a, b), close() }.
 */
export async function openBullmqProducer(redisUrl, queueName) {
  const { Queue, QueueEvents } = await import('bullmq');
  const connection = connectionOf(redisUrl);
  const queue = new Queue(queueName, { connection, streams: { events: { maxLen: EVENTS_MAX_LEN } } });
  const events = new QueueEvents(queueName, { connection, autorun: true });
  queue.on('error', () => { /* surfaced through the pending promises */ });
  events.on('error', () => { /* idem */ });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  // getVersion() waits for the queue's meta (with the events cap) to be written, so a worker
  // started next trims the stream with this cap, not the default.
  await queue.getVersion();

  return {
    name: 'bullmq',
    /**
     * Sends `count` add(i, 1) tasks with addBulk, `chunk` per call, one call after the other,
     * and resolves when every one is reported completed by QueueEvents. Rejects when a
     * result is wrong (the sum of the returned values is checked).
     */
    async runBatch(count, { chunk = 1_000 } = {}) {
      let completed = 0, sum = 0, failed = 0;
      const expected = (count * (count - 1)) / 2 + count;
      let resolve, reject;
      const all = new Promise((res, rej) => { resolve = res; reject = rej; });
      const onCompleted = ({ returnvalue }) => {
        sum += Number(returnvalue);
        if (++completed === count) {
          if (sum === expected) resolve();
          else reject(new Error(`bullmq: results sum to ${sum}, expected ${expected}`));
        }
      };
      const onFailed = ({ jobId, failedReason }) => {
        if (++failed === 1) reject(new Error(`bullmq: job ${jobId} failed: ${failedReason}`));
      };
      events.on('completed', onCompleted);
      events.on('failed', onFailed);
      try {
        for (let i = 0; i < count; i += chunk) {
          const n = Math.min(chunk, count - i);
          const jobs = new Array(n);
          for (let j = 0; j < n; j++) jobs[j] = { name: 'tasks.add', data: { a: i + j, b: 1 } };
          await queue.addBulk(jobs);
        }
        await all;
      } finally {
        events.off('completed', onCompleted);
        events.off('failed', onFailed);
      }
    },
    /** One task, sent and awaited: queue.add, then job.waitUntilFinished through QueueEvents. */
    async call(a, b) {
      const job = await queue.add('tasks.add', { a, b });
      return job.waitUntilFinished(events, 10_000);
    },
    async close() {
      await Promise.allSettled([events.close(), queue.close()]);
    },
  };
}

/**
 * Starts a BullMQ Worker on `queueName` with `concurrency` (the figure the issue cites uses 50)
 * running add(a, b). Returns { close() }.
 */
export async function startBullmqWorker(redisUrl, queueName, { concurrency }) {
  const { Worker } = await import('bullmq');
  const worker = new Worker(queueName, add, { connection: connectionOf(redisUrl), concurrency });
  worker.on('error', (err) => console.error(`bullmq worker: ${err?.message ?? err}`));
  await worker.waitUntilReady();
  return { close: () => worker.close() };
}
