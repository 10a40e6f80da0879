// BullMQ's side of the task benchmark: a producer (Queue, and a QueueEvents reader for the shapes
// that read results) and a worker (Worker), running the same three tasks as celeriac's adapter:
// `tasks.add` {a, b}, `tasks.add_quiet` {a, b} (its result never read: BullMQ has no ignoreResult,
// the worker stores the return value in the job as always) and `tasks.stamp` {sent}, which returns
// start − sent (publish → deliver). Completed jobs are kept (BullMQ's default), so each result
// stays stored, as celeriac's does.
//
// A QueueEvents reader costs redis and the producer CPU for every event, so it runs only during
// the shapes that read results (batch, window, round trips, stamp calls); fire-and-forget counts
// completions on the server instead (getJobCounts, see completedOnServer).
import { now, wallNow } from './harness.js';
import { STAMP_BUDGET_MS, STAMP_TIMEOUT_MS, checkSum, paced, runLanes } from './task-shapes-common.js';

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

const connectionOf = (redisUrl) => {
  const u = new URL(redisUrl);
  return { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null };
};

/**
 * Opens the producer side on queue `queueName` of the redis at `redisUrl`: a Queue (its meta,
 * with the events cap, is written before any worker starts). Returns the shapes { batch, window,
 * fireAndForget, roundTrips, stampCalls, background }, completedOnServer() and close().
 */
export async function openBullmqProducer(redisUrl, queueName) {
  const { Queue, QueueEvents } = await import('bullmq');
  const connection = connectionOf(redisUrl);
  const queue = new Queue(queueName, { connection, streams: { events: { maxLen: EVENTS_MAX_LEN } } });
  queue.on('error', () => { /* surfaced through the pending promises */ });
  await queue.waitUntilReady();
  // getVersion() waits for the queue's meta (with the events cap) to be written, so a worker
  // started next trims the stream with this cap, not the default.
  await queue.getVersion();

  /**
   * Runs `body(events)` with a QueueEvents reader that reads every event from now on. It starts
   * from the stream's current last id, not '$': with '$' the events written between its start
   * and its first XREAD would be missed (a completion never seen).
   */
  async function withEvents(body) {
    const client = await queue.getBackend().client;
    const [last] = await client.xrevrange(queue.keys.events, '+', '-', 'COUNT', 1);
    const events = new QueueEvents(queueName, { connection, autorun: true, lastEventId: last?.[0] ?? '0-0' });
    events.on('error', () => { /* idem */ });
    try {
      await events.waitUntilReady();
      return await body(events);
    } finally {
      await events.close();
    }
  }

  /**
   * Resolves once `count` jobs sent through `send(i, onSent)` are reported completed, with each
   * one's send → completed latency (onSent(jobId, i, t) records a send started at t).
   */
  function completions(count, send) {
    return withEvents(async (events) => {
      const sentAt = new Map();
      const latencies = new Float64Array(count);
      const values = [];
      let failed;
      let resolve, reject;
      const all = new Promise((res, rej) => { resolve = res; reject = rej; });
      // A completion read before its add() resolved here waits in `early` for its send record.
      const early = new Map();
      const complete = (s, returnvalue, at) => {
        latencies[s.i] = at - s.t;
        values.push(returnvalue);
        if (values.length === count) resolve();
      };
      events.on('completed', ({ jobId, returnvalue }) => {
        const s = sentAt.get(jobId);
        if (s === undefined) { early.set(jobId, { returnvalue, at: now() }); return; }
        sentAt.delete(jobId);
        complete(s, returnvalue, now());
      });
      const record = (jobId, i, t) => {
        const e = early.get(jobId);
        if (e === undefined) sentAt.set(jobId, { i, t });
        else { early.delete(jobId); complete({ i, t }, e.returnvalue, e.at); }
      };
      events.on('failed', ({ jobId, failedReason }) => { failed ??= `job ${jobId} failed: ${failedReason}`; reject(new Error(`bullmq: ${failed}`)); });
      await send(record);
      await all;
      checkSum('bullmq', values, count);
      return latencies;
    });
  }

  return {
    name: 'bullmq',
    /** `count` add(i, 1) with addBulk, `chunk` per call, one call after the other; send → completed. */
    batch: (count, { chunk }) => completions(count, async (onSent) => {
      for (let i = 0; i < count; i += chunk) {
        const n = Math.min(chunk, count - i);
        const jobs = new Array(n);
        for (let j = 0; j < n; j++) jobs[j] = { name: 'tasks.add', data: { a: i + j, b: 1 } };
        const t = now();
        const added = await queue.addBulk(jobs);
        added.forEach((job, j) => onSent(job.id, i + j, t));
      }
    }),
    /** `lanes` loops, each `await queue.add(...)` one after the other; send → completed. */
    window: (count, { lanes }) => completions(count, (onSent) => runLanes(count, lanes, async (i) => {
      const t = now();
      const job = await queue.add('tasks.add', { a: i, b: 1 });
      onSent(job.id, i, t);
    })),
    /** `lanes` loops, each `await queue.add(...)` of add_quiet (redis's answer), results never read. */
    fireAndForget: (count, { lanes }) => runLanes(count, lanes, (i) => queue.add('tasks.add_quiet', { a: i, b: 1 })),
    /** `calls` sequential queue.add + job.waitUntilFinished(queueEvents): the round trip of each. */
    roundTrips: (calls) => withEvents(async (events) => {
      const latencies = new Float64Array(calls);
      for (let i = 0; i < calls; i++) {
        const t = now();
        const v = await (await queue.add('tasks.add', { a: i, b: 1 })).waitUntilFinished(events, 10_000);
        latencies[i] = now() - t;
        if (v !== i + 1) throw new Error(`bullmq: add(${i}, 1) returned ${v}`);
      }
      return latencies;
    }),
    /** Up to `calls` sequential stamp jobs (fewer when STAMP_BUDGET_MS is spent): publish → deliver (the job's return value) and the round trip. */
    stampCalls: (calls) => withEvents(async (events) => {
      const deliver = new Float64Array(calls), total = new Float64Array(calls);
      const deadline = now() + STAMP_BUDGET_MS;
      let i = 0;
      for (; i < calls && now() < deadline; i++) {
        const t = now();
        deliver[i] = await (await queue.add('tasks.stamp', { sent: wallNow() })).waitUntilFinished(events, STAMP_TIMEOUT_MS);
        total[i] = now() - t;
      }
      return { deliver: deliver.subarray(0, i), total: total.subarray(0, i) };
    }),
    /** A paced background producer of add_quiet jobs at `rate` per second (see paced()). */
    background: (rate) => paced(rate, (i) => queue.add('tasks.add_quiet', { a: i, b: 1 })),
    /** Completed jobs as redis counts them (the completed set): a server-side count. */
    completedOnServer: async () => (await queue.getJobCounts('completed')).completed,
    close: () => queue.close(),
  };
}

/**
 * Starts a BullMQ Worker on `queueName` with `concurrency` (the figure the issue cites uses 50)
 * running the three tasks. Returns { runs(), close() }: runs() is how many jobs it has run.
 */
export async function startBullmqWorker(redisUrl, queueName, { concurrency }) {
  const { Worker } = await import('bullmq');
  let runs = 0;
  const processor = async (job) => {
    const started = wallNow();
    runs++;
    return job.name === 'tasks.stamp' ? started - job.data.sent : job.data.a + job.data.b;
  };
  const worker = new Worker(queueName, processor, { connection: connectionOf(redisUrl), concurrency });
  worker.on('error', (err) => console.error(`bullmq worker: ${err?.message ?? err}`));
  await worker.waitUntilReady();
  return { runs: () => runs, close: () => worker.close() };
}
