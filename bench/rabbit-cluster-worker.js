// A worker process of the cluster bench (bench/rabbit-cluster.js), forked with an IPC channel: a
// celeriac worker on RabbitMQ + Redis running `bench.add(i, b)` and counting how often it ran each
// `i`, so the bench can tell tasks run twice (at-least-once) from tasks never run.
//
// argv[2] is JSON: { broker, resultBackend, queue, concurrency, acksLate }. Sends { type: 'ready',
// url } once consuming; answers 'report' with { type: 'report', runs: [[i, count], ...], url,
// problems: [log lines at warn and error] }; on SIGTERM closes the worker (warm) and exits 0.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './harness.js';
import { benchApp } from './rabbit-cluster-app.js';

const config = JSON.parse(process.argv[2] ?? '{}');
const { Celeriac } = await import(pathToFileURL(join(ROOT, 'dist/client/index.js')).href);
const runs = new Map();
const problems = [];
const app = new Celeriac(benchApp(config));
app.task('bench.add', (i, b) => {
  runs.set(i, (runs.get(i) ?? 0) + 1);
  return i + b;
});
const worker = app.worker({
  queues: [config.queue], concurrency: config.concurrency, pool: 'async',
  log: (level, message) => { if (level === 'warn' || level === 'error') problems.push(`${new Date().toISOString()} ${level}: ${message}`); },
});
await worker.start();

/** The RabbitMQ node the worker's link is on now (the AMQP transport's url, password masked). */
const url = () => worker.connection.url;

process.on('message', (m) => {
  if (m === 'report') process.send({ type: 'report', runs: [...runs], url: url(), problems: problems.splice(0) });
});
let closing = false;
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    if (closing) process.exit(1);
    closing = true;
    worker.close().then(() => app.close()).then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
  });
}
process.send({ type: 'ready', url: url() });
