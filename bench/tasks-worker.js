// The worker process of the task benchmark: starts one side's worker (celeriac or BullMQ) and
// keeps it running until SIGTERM, so producer, broker and worker each have their own process.
//
// Usage (spawned by tasks.js): node bench/tasks-worker.js <celeriac|bullmq> <url> <queue> <concurrency> [events]
// `events`: the celeriac worker sends task events (`celery worker -E`), which the broker stores.
// Prints "ready" on stdout once consuming; on SIGTERM closes the worker and exits 0.
import { startBullmqWorker } from './bullmq-adapter.js';
import { startCeleriacWorker } from './celeriac-task-adapter.js';

const [kind, url, queue, concurrencyArg, eventsArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
if (!['celeriac', 'bullmq'].includes(kind) || !url || !queue || !(concurrency > 0)) {
  console.error('usage: node bench/tasks-worker.js <celeriac|bullmq> <url> <queue> <concurrency> [events]');
  process.exit(2);
}

const worker = kind === 'bullmq'
  ? await startBullmqWorker(url, queue, { concurrency })
  : await startCeleriacWorker(url, { concurrency, events: eventsArg === 'events' });
let closing = false;
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    if (closing) process.exit(1);
    closing = true;
    worker.close().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
  });
}
console.log('ready');
