// The task benchmark's figures as text tables (one per shape), as one markdown table for the
// README (--markdown), and the issue 13 targets marked met / NOT MET.
import { fmt, mb, table } from './harness.js';
import { machineLine } from './machine.js';
import { BULLMQ_SIDES, TASK_SIDES, TASK_TARGETS, THROUGHPUT_SHAPES } from './tasks-sides.js';

const SIDE_LABELS = Object.fromEntries(TASK_SIDES.map((s) => [s.id, s.label]));
const SIDES = TASK_SIDES.map((s) => s.id);
const BULLMQ = BULLMQ_SIDES;
const THROUGHPUT = THROUGHPUT_SHAPES;
const TARGETS = TASK_TARGETS;

const LATENCY_OF = { window: 'send → result', 'fire-and-forget': 'send → confirm', batch: 'chunk sent → result' };

const lat = (l, d = 2) => (l ? `${fmt(l.p50, d)} / ${fmt(l.p99, d)} / ${fmt(l.max, d)}` : '-');
const cpu = (c) => (c ? `${fmt(c.server)} / ${fmt(c.worker)} / ${fmt(c.producer)}` : '-');
const shapeOf = (results, side, shape) => results?.sides[side]?.shapes[shape];

/** The BullMQ side with the higher best tasks/s in `shape` (the stricter comparison), or undefined. */
function betterBullmq(results, shape) {
  return BULLMQ.filter((id) => shapeOf(results, id, shape)).sort((a, b) => shapeOf(results, b, shape).best.rate - shapeOf(results, a, shape).best.rate)[0];
}

/** The BullMQ side with the lower round trip p50 (its median run), or undefined. */
function betterBullmqRoundTrip(results) {
  const p50 = (id) => shapeOf(results, id, 'round-trip').median.latency.p50;
  return BULLMQ.filter((id) => shapeOf(results, id, 'round-trip')).sort((a, b) => p50(a) - p50(b))[0];
}

/** One progress line for a shape just measured on a side. */
export function logShape(log, sideId, shape, r) {
  if (shape === 'round-trip') {
    log(`${sideId.padEnd(18)} round trip p50 / p99 / max ms: best run ${lat(r.best.latency, 3)}, median run ${lat(r.median.latency, 3)}`);
  } else {
    log(`${sideId.padEnd(18)} ${shape.padEnd(15)} ${fmt(r.best.rate).padStart(7)} tasks/s best, ${fmt(r.median.rate).padStart(7)} median ` +
      `(${fmt(r.count)} tasks; ${LATENCY_OF[shape]} p50/p99/max ${lat(r.best.latency)} ms; CPU µs/task srv/wrk/prod ${cpu(r.best.cpuUs)})`);
  }
}

/** The figures as text: a table per shape, the memory, the latency under load. */
export function formatResults(results) {
  const present = SIDES.filter((id) => results.sides[id]);
  const out = [
    `Tasks (issue 13): ${machineLine(results.machine)}`,
    `${fmt(results.count)} tasks per throughput run, ${fmt(results.calls)} round trips per run, each shape ${results.repeat}× per side ` +
      `(best = highest tasks/s / lowest p99; median = the median run, its own CPU); worker concurrency ${results.concurrency}` +
      `${results.events ? '; celeriac worker sends task events' : ''}`,
    'CPU µs/task = CPU time (user + system, /proc) of server / worker / producer over the run, per task' +
      `${results.sides['celeriac-rabbitmq'] ? ' (server = RabbitMQ + redis summed for the RabbitMQ row)' : ''}`,
  ];
  for (const shape of THROUGHPUT) {
    if (!present.some((id) => shapeOf(results, id, shape))) continue;
    const peer = betterBullmq(results, shape);
    const rows = present.filter((id) => shapeOf(results, id, shape)).map((id) => {
      const r = shapeOf(results, id, shape);
      const vs = BULLMQ.includes(id) || !peer ? '' : `${fmt(r.best.rate / shapeOf(results, peer, shape).best.rate, 2)}x`;
      return [SIDE_LABELS[id], fmt(r.best.rate), fmt(r.median.rate), lat(r.best.latency), cpu(r.best.cpuUs), cpu(r.median.cpuUs), vs];
    });
    out.push('', `${shape} (${shapeLine(shape, results)}); vs ${peer ? SIDE_LABELS[peer] : 'BullMQ'} (the better BullMQ row), best against best`,
      table(['side', 'tasks/s best', 'median', `${LATENCY_OF[shape]} p50/p99/max ms (best)`, 'CPU µs/task srv/wrk/prod (best)', '(median run)', 'vs BullMQ'], rows));
  }
  if (present.some((id) => shapeOf(results, id, 'round-trip'))) {
    const rows = present.filter((id) => shapeOf(results, id, 'round-trip')).map((id) => {
      const r = shapeOf(results, id, 'round-trip');
      return [SIDE_LABELS[id], lat(r.best.latency, 3), lat(r.median.latency, 3)];
    });
    out.push('', `round-trip (${shapeLine('round-trip', results)})`, table(['side', 'p50/p99/max ms (best run)', '(median run)'], rows));
  }
  if (present.some((id) => shapeOf(results, id, 'load'))) {
    out.push('', `load (${shapeLine('load', results)})`, table(['side', 'max tasks/s', 'background tasks/s', 'publish → deliver p50/p99/max ms', 'round trip p50/p99/max ms'], loadRows(results, present)));
  }
  for (const id of present) {
    for (const [shape, message] of Object.entries(results.sides[id].errors ?? {})) out.push('', `${SIDE_LABELS[id]}, ${shape}: FAILED — ${message}`);
  }
  out.push('', table(['side', 'server peak RSS', 'worker peak RSS'], present.map((id) => [SIDE_LABELS[id], mb(results.sides[id].serverRss), mb(results.sides[id].workerRss)])));
  return out.join('\n');
}

function loadRows(results, present) {
  return present.filter((id) => shapeOf(results, id, 'load')).map((id) => {
    const r = shapeOf(results, id, 'load');
    const done = r.calls !== undefined && r.calls < results.loadCalls ? ` (${fmt(r.calls)} calls in 60 s)` : '';
    return [`${SIDE_LABELS[id]}${done}`, fmt(r.maxRate), `${fmt(r.background.rate)}${r.background.behind ? ` (${fmt(r.background.behind)} behind)` : ''}`, lat(r.deliver), lat(r.roundTrip)];
  });
}

/** What a shape sends, in one line. */
function shapeLine(shape, results) {
  switch (shape) {
    case 'window': return `${results.lanes} lanes, each awaiting delay() then get() one task after another; BullMQ: await queue.add(), completions from QueueEvents`;
    case 'fire-and-forget': return `${results.lanes} lanes of await delay() of an ignoreResult task, results never read; completions counted by the server (broker /metrics acked, redis completed set; RabbitMQ: the worker's count)`;
    case 'batch': return `${fmt(results.chunk)} delay() awaited together, then their get(); BullMQ addBulk of ${fmt(results.chunk)}`;
    case 'round-trip': return `${fmt(results.calls)} sequential await (await add.delay(i, 1)).get(); BullMQ queue.add + waitUntilFinished`;
    case 'load': return `${fmt(results.loadCalls)} sequential stamp tasks while a paced producer sends ignoreResult tasks at 50 % of the side's fire-and-forget tasks/s (its median run)`;
    default: return shape;
  }
}

/** The figures as markdown (the README's performance section): a table of every shape, then the load table. */
export function formatMarkdown(results) {
  const present = SIDES.filter((id) => results.sides[id]);
  const md = (headers, rows) => [`| ${headers.join(' | ')} |`, `|${headers.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const rows = [];
  for (const shape of [...THROUGHPUT, 'round-trip']) {
    const peer = shape === 'round-trip' ? betterBullmqRoundTrip(results) : betterBullmq(results, shape);
    for (const id of present) {
      const r = shapeOf(results, id, shape);
      if (!r) continue;
      if (shape === 'round-trip') {
        rows.push([shape, SIDE_LABELS[id], '-', lat(r.median.latency), '-', '-']);
      } else {
        const vs = BULLMQ.includes(id) || !peer ? '' : `${fmt(r.best.rate / shapeOf(results, peer, shape).best.rate, 2)}x`;
        rows.push([shape, SIDE_LABELS[id], `${fmt(r.best.rate)} (${fmt(r.median.rate)})`, lat(r.best.latency), cpu(r.best.cpuUs), vs]);
      }
    }
  }
  const out = [
    `Run: ${machineLine(results.machine)}${results.machine.loadAtEnd ? ` (at the end: ${results.machine.loadAtEnd})` : ''}; ` +
      `${fmt(results.count)} tasks per throughput run, ${fmt(results.calls)} round trips, each shape ${results.repeat}× per side.`,
    '',
    md(['shape', 'side', 'tasks/s best (median)', 'latency p50 / p99 / max ms', 'CPU µs/task server / worker / producer', 'vs better BullMQ'], rows),
  ];
  for (const id of present) {
    for (const [shape, message] of Object.entries(results.sides[id].errors ?? {})) out.push('', `${SIDE_LABELS[id]}, ${shape}: failed — ${message}`);
  }
  if (present.some((id) => shapeOf(results, id, 'load'))) {
    out.push('', md(['under load', 'max tasks/s', 'background tasks/s', 'publish → deliver p50 / p99 / max ms', 'round trip p50 / p99 / max ms'], loadRows(results, present)));
  }
  return out.join('\n');
}

/** The issue 13 targets as [target, this run, verdict] rows (celeriac = broker-server, durability full). */
export function targetRows(results) {
  const verdict = (ok) => (ok === undefined ? 'not measured' : ok ? 'met' : 'NOT MET');
  const rows = [];
  for (const shape of THROUGHPUT) {
    const c = shapeOf(results, 'celeriac', shape);
    const peer = betterBullmq(results, shape);
    const b = peer && shapeOf(results, peer, shape);
    if (!c && !b) continue;
    rows.push([`${shape}: tasks/s ≥ ${TARGETS.vsBullmq}× BullMQ (vs ${peer ? SIDE_LABELS[peer] : 'BullMQ'}, best of runs)`,
      `${c && b ? fmt(c.best.rate / b.best.rate, 2) : '-'}x (${fmt(c?.best.rate)} vs ${fmt(b?.best.rate)}; medians ${c && b ? fmt(c.median.rate / b.median.rate, 2) : '-'}x)`,
      verdict(c && b ? c.best.rate >= TARGETS.vsBullmq * b.best.rate : undefined)]);
  }
  const rt = shapeOf(results, 'celeriac', 'round-trip');
  const rtPeerId = betterBullmqRoundTrip(results);
  const rtPeer = rtPeerId && shapeOf(results, rtPeerId, 'round-trip');
  if (rt || rtPeer) {
    rows.push([`round trip p50 ≤ BullMQ's (vs ${rtPeerId ? SIDE_LABELS[rtPeerId] : 'BullMQ'}, median runs)`,
      `${fmt(rt?.median.latency.p50, 3)} vs ${fmt(rtPeer?.median.latency.p50, 3)} ms`,
      verdict(rt && rtPeer ? rt.median.latency.p50 <= rtPeer.median.latency.p50 : undefined)]);
    rows.push([`round trip p99 ≤ ${TARGETS.p99Ms} ms (median run)`, `${fmt(rt?.median.latency.p99, 3)} ms (best run ${fmt(rt?.best.latency.p99, 3)})`,
      verdict(rt ? rt.median.latency.p99 <= TARGETS.p99Ms : undefined)]);
  }
  for (const shape of THROUGHPUT) {
    const c = shapeOf(results, 'celeriac', shape);
    if (!c) continue;
    rows.push([`${shape}: broker CPU ≤ ${TARGETS.brokerCpuUs} µs/task (best run)`, `${fmt(c.best.cpuUs.server)} µs (median run ${fmt(c.median.cpuUs.server)})`,
      verdict(c.best.cpuUs.server <= TARGETS.brokerCpuUs)]);
  }
  return rows;
}

/** The targets as a markdown table (printed after --markdown's figures). */
export function formatTargetsMarkdown(results) {
  const rows = targetRows(results).map((r) => `| ${r.join(' | ')} |`);
  return ['| target (celeriac on broker-server, durability full) | this run | verdict |', '|---|---|---|', ...rows].join('\n');
}
