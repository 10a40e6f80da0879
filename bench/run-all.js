// `npm run bench`: runs every bench script against celeriac (and RabbitMQ, BullMQ on redis
// when installed), prints one table per question, then the issues' targets marked met / not met.
//
// Targets are printed, never enforced: the exit code is non-zero only when a bench crashed.
// Options: --quick (smaller counts), --only celeriac|celeriac-amqp|rabbitmq[,...], --window N, --repeat N,
// --shape NAME[,...] (the task shapes, see tasks.js), --json.
import { cpus, loadavg, totalmem } from 'node:os';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from './e2e-throughput.js';
import * as latency from './latency.js';
import * as deep from './deep-queue.js';
import * as tasks from './tasks.js';
import { ROOT, fmt, mb, parseArgs, rabbitInstalled, startRabbit, table, wants, withBroker } from './harness.js';
import { redisInstalled } from './redis-server.js';

/** The targets of issue 2 (bench/), checked against this run's figures. */
const TARGETS = {
  e2eVsRabbit: 2,        // durable end-to-end ≥ 2× RabbitMQ's, same run
  e2eRate: 60_000,       // durable end-to-end msgs/s
  p99Ms: 2,              // publish → deliver p99 at low load
  deepSeconds: 10,       // enqueue 1,000,000 messages
  deepRss: 300e6,        // broker RSS while holding them
};

const opts = parseArgs();
const counts = {
  e2e: opts.quick ? e2e.E2E_DEFAULTS.quickCount : e2e.E2E_DEFAULTS.count,
  latency: opts.quick ? latency.LATENCY_DEFAULTS.quickCount : latency.LATENCY_DEFAULTS.count,
  deep: opts.count ?? (opts.quick ? deep.DEEP_DEFAULTS.quickCount : deep.DEEP_DEFAULTS.count),
  // Half of tasks.js's own counts (its five shapes × 3 runs × 5 sides take 10–20 minutes alone on
  // the 2-core machine), so the whole of `npm run bench` stays near 20 minutes; the README's task
  // figures come from `node bench/tasks.js`, full counts.
  tasks: opts.quick ? tasks.TASKS_DEFAULTS.quickCount : tasks.TASKS_DEFAULTS.count / 2,
  taskCalls: opts.quick ? tasks.TASKS_DEFAULTS.quickCalls : tasks.TASKS_DEFAULTS.calls / 2,
  taskLoadCalls: opts.quick ? tasks.TASKS_DEFAULTS.quickLoadCalls : tasks.TASKS_DEFAULTS.loadCalls / 2,
  taskRepeat: opts.repeat ?? (opts.quick ? tasks.TASKS_DEFAULTS.quickRepeat : tasks.TASKS_DEFAULTS.repeat),
};
const wantRabbit = wants(opts.only, 'rabbitmq');

/** The installed RabbitMQ's version, from the Debian package's folder name. */
function rabbitVersion() {
  try {
    const dir = readdirSync('/usr/lib/rabbitmq/lib').find((d) => d.startsWith('rabbitmq_server-'));
    return dir?.slice('rabbitmq_server-'.length);
  } catch {
    return undefined;
  }
}

/** The installed BullMQ's version, or undefined when it is not installed. */
function bullmqVersion() {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules/bullmq/package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
console.log(`celeriac ${pkg.version} bench — node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${fmt(totalmem() / 2 ** 30, 0)} GiB`);
console.log(`mode: ${opts.quick ? 'quick' : 'full'}; RabbitMQ: ${wantRabbit ? (rabbitInstalled() ? `${rabbitVersion() ?? '?'}, started on loopback for the comparison` : 'not installed') : 'not requested'}`);
// Other work on a 2-core machine moves every figure: the load average says whether it was quiet.
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const wantBullmq = opts.only === 'rabbitmq' || wants(opts.only, 'bullmq');
console.log(`BullMQ: ${wantBullmq ? (redisInstalled() && bullmqVersion() ? `${bullmqVersion()}, on a private redis-server on loopback` : 'not installed (needs redis-server and the bullmq dev dependency)') : 'not requested'}`);
console.log(`load average at start: ${load()}`);
console.log();

const results = {};
let crashed = false;
async function section(name, fn) {
  try {
    results[name] = await fn();
  } catch (err) {
    crashed = true;
    console.log(`${name}: FAILED — ${err?.stack ?? err}`);
  }
}

const startR = () => (wantRabbit ? startRabbit() : undefined);

// e2e and latency share one RabbitMQ node; the deep queue gets a fresh one so its RSS is its own.
await withBroker(startR, async (rabbit) => {
  // Latency first: it is the figure most easily disturbed by the disk writes of a run before.
  await section('latency', () => latency.run({ count: counts.latency, rabbit, only: opts.only }));
  await section('e2e', () => e2e.run({ count: counts.e2e, window: opts.window, repeat: opts.repeat ?? (opts.quick ? 1 : 2), rabbit, only: opts.only }));
}).catch((err) => { crashed = true; console.log(`rabbitmq: failed to start — ${err.message}`); });
// The task layer (issue 3) against BullMQ; its brokers (celeriac, redis) are started inside.
// tasks.js knows celeriac and bullmq: a lone `--only rabbitmq` has always meant the peers (BullMQ
// here); in a list, bullmq is named. The AMQP side has no task benchmark.
const taskSides = { celeriac: wants(opts.only, 'celeriac'), peer: opts.only === 'rabbitmq' || wants(opts.only, 'bullmq') };
if (taskSides.celeriac || taskSides.peer) {
  const tasksOnly = taskSides.celeriac && taskSides.peer ? undefined : taskSides.celeriac ? 'celeriac' : 'bullmq';
  const shapes = opts.shape?.split(',') ?? tasks.TASK_SHAPES;
  await section('tasks', () => tasks.run({ count: counts.tasks, calls: counts.taskCalls, loadCalls: counts.taskLoadCalls, repeat: counts.taskRepeat, shapes, only: tasksOnly, events: opts.events }));
}
// The deep queue starts its own brokers, a fresh RabbitMQ node per run, so each RSS is its own.
await section('deep', () => deep.run({ count: counts.deep, window: opts.window, repeat: opts.repeat ?? 1, newRabbit: startR, only: opts.only }));

if (opts.json) {
  console.log(JSON.stringify(results, null, 2));
} else {
  console.log();
  if (results.e2e) console.log(`${e2e.formatResults(results.e2e)}\n`);
  if (results.latency) console.log(`${latency.formatResults(results.latency)}\n`);
  if (results.deep) console.log(`${deep.formatResults(results.deep)}\n`);
  if (results.tasks) console.log(`${tasks.formatResults(results.tasks)}\n`);
}

// ---------------------------------------------------------------- targets

const verdict = (ok) => (ok === undefined ? 'not measured' : ok ? 'met' : 'NOT MET');
const durable = results.e2e?.celeriac?.['durable-full'];
const rabbitDurable = results.e2e?.rabbitmq?.durable;
const lat = results.latency?.celeriac;
const dq = results.deep?.celeriac;
const scaled = counts.deep !== 1_000_000 ? ` (measured at ${fmt(counts.deep)} msgs, not 1,000,000)` : '';
const rows = [
  ['durable e2e ≥ 2× RabbitMQ', `${durable && rabbitDurable ? fmt(durable.rate / rabbitDurable.rate, 2) : '-'}x (${fmt(durable?.rate)} vs ${fmt(rabbitDurable?.rate)})`,
    verdict(durable && rabbitDurable ? durable.rate >= TARGETS.e2eVsRabbit * rabbitDurable.rate : undefined)],
  ['durable e2e ≥ 60,000 msgs/s', `${fmt(durable?.rate)} msgs/s`, verdict(durable ? durable.rate >= TARGETS.e2eRate : undefined)],
  ['publish → deliver p99 ≤ 2 ms', `${fmt(lat?.deliver.p99, 3)} ms`, verdict(lat ? lat.deliver.p99 <= TARGETS.p99Ms : undefined)],
  ['1,000,000 enqueued ≤ 10 s', `${fmt(dq?.seconds, 1)} s${scaled}`, verdict(dq && !scaled ? dq.seconds <= TARGETS.deepSeconds : undefined)],
  ['broker RSS ≤ 300 MB (deep queue)', `${mb(dq?.peakRss)} peak, ${mb(dq?.endRss)} end${scaled}`, verdict(dq && !scaled ? dq.peakRss <= TARGETS.deepRss : undefined)],
];
console.log(`load average at the end: ${load()} (figures from a busy machine are low and noisy)`);
console.log('Targets (issue 2, this 2-core machine)');
console.log(table(['target', 'this run', 'verdict'], rows));
console.log('Reference figures from the issue: RabbitMQ 3.10 ~26,500 msgs/s durable e2e, 5,900 with prefetch 1;');
console.log('1M enqueue: RabbitMQ 47 s / 3.3 GB, BullMQ 23 s / 740 MB.');
console.log();
console.log('Targets (issue 13, tasks: celeriac on broker-server, durability full)');
console.log(table(['target', 'this run', 'verdict'], tasks.targetRows(results.tasks)));
console.log();
console.log('Targets (issue 12, AMQP front-end: amqplib on broker-server, durability full, vs amqplib on RabbitMQ)');
console.log(table(['target', 'this run', 'verdict'], [...e2e.amqpTargetRows(results.e2e), ...latency.amqpTargetRows(results.latency), ...deep.amqpTargetRows(results.deep)]));
if (crashed) process.exitCode = 1;
