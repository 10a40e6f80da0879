// The task layer end to end, in the shapes applications use it (issue 13), on every side:
// celeriac on broker-server (durability full; again with process, not a target), the same app on
// RabbitMQ + Redis, and BullMQ on redis without persistence and with AOF everysec.
//
// Shapes (bench/README.md, the tasks.js row): `window` (100 lanes, each `await (await
// add.delay(i, 1)).get()` one task after another; BullMQ: 100 lanes of `await queue.add()`,
// completions read by QueueEvents), `round-trip` (one task at a time), `fire-and-forget` (100 lanes
// of `await addQuiet.delay(i, 1)`, a task declared `ignoreResult: true`, results never read,
// completions counted by the server), `batch` (1,000 sends awaited together; addBulk) and `load`
// (tasks-load.js: latency while a background producer keeps the side at half its rate).
//
// Three processes a side: this one (the producer), the server and the worker (bench/tasks-worker.js).
// Run alone: node bench/tasks.js [--quick] [--count N] [--repeat N] [--shape NAME[,NAME...]]
//   [--only celeriac|rabbitmq|bullmq[,...]] [--events] [--json] [--markdown]
// (--only celeriac: the broker-server rows; a lone rabbitmq: the RabbitMQ + Redis row and BullMQ's)
import { bullmqInstalled, openBullmqProducer } from './bullmq-adapter.js';
import { celeriacTasksBuilt, openCeleriacProducer } from './celeriac-task-adapter.js';
import {
  RABBIT_SKIPPED, isMain, now, parseArgs, peakRss, rabbitInstalled, startBrokerProcess, startRabbit, table, uniqueName, wants, withBroker,
  withTimeout,
} from './harness.js';
import { machineInfo, machineLine } from './machine.js';
import { REDIS_SKIPPED, redisInstalled, startRedis } from './redis-server.js';
import { measureLoad } from './tasks-load.js';
import { cpuMs, measureRoundTrips, measureThroughput, startWorkerProcess, waitForCount } from './tasks-measure.js';
import { formatMarkdown, formatResults, formatTargetsMarkdown, logShape, targetRows } from './tasks-report.js';
import { TASK_SHAPES, TASK_SIDES } from './tasks-sides.js';

export { formatMarkdown, formatResults, formatTargetsMarkdown, targetRows };
export { TASK_SHAPES, TASK_SIDES, TASK_TARGETS, THROUGHPUT_SHAPES } from './tasks-sides.js';

/** Counts used by default and by --quick. */
export const TASKS_DEFAULTS = {
  count: 20_000, quickCount: 5_000,      // tasks per throughput run
  calls: 2_000, quickCalls: 500,         // sequential round trips per run
  loadCalls: 2_000, quickLoadCalls: 300, // foreground calls of the load shape
  repeat: 3, quickRepeat: 1,             // runs of each shape (best and median shown)
  warmupTasks: 2_000, warmupCalls: 200,  // unreported, before the measured runs
  chunk: 1_000,                          // batch: tasks per addBulk / per Promise.all of delay()
  lanes: 100,                            // window, fire-and-forget: sends in flight, each awaited on its own
  concurrency: 50,                       // the worker's, both sides (the BullMQ figure)
};

/** broker-server's acked deliveries, read from its /metrics (started with --metrics-open). */
function brokerAcked(wsUrl) {
  const metrics = `http://${new URL(wsUrl).host}/metrics`;
  return async () => {
    const text = await (await fetch(metrics)).text();
    const m = /^celeriac_messages_acked_total (\d+)/m.exec(text);
    if (!m) throw new Error(`no celeriac_messages_acked_total in ${metrics}`);
    return Number(m[1]);
  };
}

/**
 * Measures the `shapes` of one side against a running server (`serverPid` for its CPU and RSS; an
 * array of pids for a pair such as RabbitMQ + redis, summed) after a warm-up. `settings` go to
 * both celeriac apps (a resultBackend). Returns { shapes: { name → figures }, serverRss, workerRss }.
 */
export async function measureSide(side, url, serverPid, o) {
  const { shapes, count, calls, loadCalls, repeat, chunk, lanes, concurrency, events = false, settings, log } = o;
  const queue = uniqueName('bench-tasks');
  const producer = side.kind === 'bullmq' ? await openBullmqProducer(url, queue) : await openCeleriacProducer(url, settings);
  const serverPids = [serverPid].flat();
  const procs = { server: () => serverPids.reduce((sum, pid) => sum + (cpuMs(pid) ?? NaN), 0), worker: () => cpuMs(worker.pid) };
  const timeout = Math.max(120_000, count * 10);
  let worker;
  try {
    worker = await startWorkerProcess(side.kind, url, queue, concurrency, events && side.kind === 'celeriac', settings);
    const completed = side.counter === 'metrics' ? brokerAcked(url) : side.counter === 'bullmq' ? producer.completedOnServer : worker.runs;
    /** One fire-and-forget run: the sends (latency = send → confirm), then the server's count. */
    const fireAndForget = async (n, t0) => {
      const base = await completed();
      const latencies = await producer.fireAndForget(n, { lanes });
      await waitForCount(completed, base, n, t0, timeout);
      return latencies;
    };
    const warm = TASKS_DEFAULTS.warmupTasks;
    await withTimeout(producer.window(warm, { lanes }), timeout, `${side.id} warm-up window`);
    await withTimeout(fireAndForget(warm, now()), timeout, `${side.id} warm-up fire-and-forget`);
    await withTimeout(producer.roundTrips(TASKS_DEFAULTS.warmupCalls), timeout, `${side.id} warm-up calls`);

    const out = {};
    const errors = {};
    for (const shape of TASK_SHAPES.filter((s) => shapes.includes(s))) {
      const label = `${side.id} ${shape}`;
      // A shape that fails (a timeout on a machine too busy) is reported, and the others still run.
      try {
        if (shape === 'round-trip') {
          out[shape] = await withTimeout(measureRoundTrips(producer.roundTrips, calls, repeat), timeout * repeat, label);
        } else if (shape === 'load') {
          // The median run's rate: on a shared machine the best run's can be more than the side sustains later.
          let maxRate = out['fire-and-forget']?.median.rate;
          if (maxRate === undefined) {
            maxRate = (await measureThroughput((t0) => fireAndForget(count, t0), count, 1, procs)).best.rate;
            log(`${side.id.padEnd(18)} fire-and-forget rate for the load shape: ${Math.round(maxRate)} tasks/s`);
          }
          out[shape] = await measureLoad(producer, maxRate, loadCalls, side.id, log);
          continue;
        } else {
          const once = shape === 'window' ? () => producer.window(count, { lanes })
            : shape === 'batch' ? () => producer.batch(count, { chunk })
              : (t0) => fireAndForget(count, t0);
          out[shape] = await withTimeout(measureThroughput(once, count, repeat, procs), timeout * repeat, label);
        }
        logShape(log, side.id, shape, out[shape]);
      } catch (err) {
        errors[shape] = String(err?.message ?? err);
        log(`${side.id.padEnd(18)} ${shape}: FAILED — ${errors[shape]}`);
      }
    }
    const serverRss = serverPids.reduce((sum, pid) => sum + (peakRss(pid).peak ?? NaN), 0);
    return { shapes: out, errors, serverRss, workerRss: peakRss(worker.pid).peak };
  } finally {
    await worker?.stop();
    await producer.close();
  }
}

/**
 * Runs every side `only` asks for (all when undefined): celeriac on broker-server ('celeriac'),
 * celeriac on RabbitMQ + Redis ('rabbitmq'; skipped with a line when rabbitmq-server or
 * redis-server is not installed) and BullMQ on both redis modes ('bullmq', or a lone 'rabbitmq';
 * skipped with a line when redis-server is not installed). Returns { ...counts, machine, sides: { id → result } }.
 */
export async function run({
  count, calls, loadCalls = calls, repeat = 1, shapes = TASK_SHAPES, chunk = TASKS_DEFAULTS.chunk, lanes = TASKS_DEFAULTS.lanes,
  concurrency = TASKS_DEFAULTS.concurrency, only, events = false, log = console.log,
} = {}) {
  const results = { count, calls, loadCalls, repeat, chunk, lanes, concurrency, events, shapes, machine: machineInfo(), sides: {} };
  const opts = { shapes, count, calls, loadCalls, repeat, chunk, lanes, concurrency, events, log };
  const want = { broker: wants(only, 'celeriac'), rabbit: wants(only, 'rabbitmq'), bullmq: only === 'rabbitmq' || wants(only, 'bullmq') };
  log(`machine: ${machineLine(results.machine)}`);
  if (want.broker) {
    if (!(await celeriacTasksBuilt())) log('celeriac: task layer not built (npm run build; needs Celeriac in dist/client), skipped');
    else {
      for (const side of TASK_SIDES.filter((s) => s.kind === 'celeriac' && s.home === undefined)) {
        // --metrics-open: the fire-and-forget shape reads the broker's acked count from /metrics.
        results.sides[side.id] = await withBroker(() => startBrokerProcess({ durability: side.durability, extraArgs: ['--metrics-open'] }),
          (broker) => measureSide(side, broker.url, broker.pid, opts));
      }
    }
  }
  if (want.rabbit) {
    const side = TASK_SIDES.find((s) => s.home === 'rabbitmq');
    if (!rabbitInstalled()) log(`celeriac on ${RABBIT_SKIPPED}`);
    else if (!redisInstalled()) log('celeriac on RabbitMQ + Redis: redis-server not installed (apt-get install redis-server), skipped');
    else if (!(await celeriacTasksBuilt())) log('celeriac on RabbitMQ + Redis: task layer not built (npm run build), skipped');
    else {
      // The app's two URLs: amqp:// to the RabbitMQ node as broker, redis:// as resultBackend.
      results.sides[side.id] = await withBroker(() => startRabbit(), (rabbit) => withBroker(() => startRedis({ persistence: 'none' }),
        (redis) => measureSide(side, rabbit.url, [rabbit.pid, redis.pid], { ...opts, settings: { resultBackend: redis.url } })));
    }
  }
  if (want.bullmq) {
    if (!redisInstalled()) log(REDIS_SKIPPED);
    else if (!(await bullmqInstalled())) log('bullmq: package not installed (npm install, dev dependencies), skipped');
    else {
      for (const side of TASK_SIDES.filter((s) => s.kind === 'bullmq')) {
        // A fresh redis per side: its own persistence mode and its own peak RSS.
        results.sides[side.id] = await withBroker(() => startRedis({ persistence: side.persistence }),
          (redis) => measureSide(side, redis.url, redis.pid, opts));
      }
    }
  }
  return results;
}

if (isMain(import.meta.url)) {
  const opts = parseArgs();
  const shapes = opts.shape?.split(',') ?? TASK_SHAPES;
  const unknown = shapes.filter((s) => !TASK_SHAPES.includes(s));
  if (unknown.length > 0) throw new Error(`--shape: unknown ${unknown.join(', ')} (shapes: ${TASK_SHAPES.join(', ')})`);
  const results = await run({
    count: opts.count ?? (opts.quick ? TASKS_DEFAULTS.quickCount : TASKS_DEFAULTS.count),
    calls: opts.quick ? TASKS_DEFAULTS.quickCalls : TASKS_DEFAULTS.calls,
    loadCalls: opts.quick ? TASKS_DEFAULTS.quickLoadCalls : TASKS_DEFAULTS.loadCalls,
    repeat: opts.repeat ?? (opts.quick ? TASKS_DEFAULTS.quickRepeat : TASKS_DEFAULTS.repeat),
    shapes,
    only: opts.only,
    events: opts.events,
  });
  results.machine.loadAtEnd = machineInfo().load;
  console.log();
  if (opts.json) console.log(JSON.stringify(results, null, 2));
  else {
    console.log(opts.markdown ? formatMarkdown(results) : formatResults(results));
    console.log();
    console.log('Targets (issue 13)');
    console.log(opts.markdown ? formatTargetsMarkdown(results) : table(['target', 'this run', 'verdict'], targetRows(results)));
  }
}
