// The worker process of the task benchmark: starts one side's worker (celeriac or BullMQ) and
// keeps it running until SIGTERM, so producer, broker and worker each have their own process.
//
// Usage (spawned by tasks.js): node bench/tasks-worker.js <celeriac|bullmq> <url> <queue> <concurrency> [events] [settings=JSON]
// `events`: the celeriac worker sends task events (`celery worker -E`), which the broker stores.
// `settings=JSON`: more settings for the celeriac app (the resultBackend of an amqp:// broker).
// Prints "ready" on stdout once consuming; on SIGTERM closes the worker and exits 0. Spawned with an
// IPC channel, it answers the message 'runs' with { runs }: the tasks it has run (the completion
// count of the fire-and-forget shape where the server cannot count them: RabbitMQ without its
// management plugin).
import { startBullmqWorker } from './bullmq-adapter.js';
import { startCeleriacWorker } from './celeriac-task-adapter.js';

const [kind, url, queue, concurrencyArg, ...flags] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const events = flags.includes('events');
const settingsFlag = flags.find((f) => f.startsWith('settings='));
const settings = settingsFlag === undefined ? {} : JSON.parse(settingsFlag.slice('settings='.length));
if (!['celeriac', 'bullmq'].includes(kind) || !url || !queue || !(concurrency > 0) || flags.some((f) => f !== 'events' && f !== settingsFlag)) {
  console.error('usage: node bench/tasks-worker.js <celeriac|bullmq> <url> <queue> <concurrency> [events] [settings=JSON]');
  process.exit(2);
}

const worker = kind === 'bullmq'
  ? await startBullmqWorker(url, queue, { concurrency })
  : await startCeleriacWorker(url, { concurrency, events, settings });
let closing = false;
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    if (closing) process.exit(1);
    closing = true;
    worker.close().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
  });
}
process.on('message', (m) => {
  if (m === 'runs') process.send?.({ runs: worker.runs() });
});
console.log('ready');
