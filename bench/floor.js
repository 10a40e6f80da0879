// The floor of the task path in this protocol on this machine: what three Node processes spend to
// carry the frames of a task (publish with its result wait, confirm, deliver, finish with the ack
// in it, finish ok, pushed result) through WebSockets with the project's codec and its batching,
// doing nothing else. The relay stands in for broker-server without routing, queues or SQLite;
// the producer sends one prepared task message again and again; the worker answers each delivery
// with one prepared result. What the real processes spend beyond these figures is routing,
// storage and the task layer; these figures are where any implementation of the protocol in Node
// starts.
//
// Shapes as in bench/tasks.js: window (100 in flight, a result read back per task), ff
// (fire-and-forget: the confirm awaited, the worker acks), rt (one task at a time: the round trip).
// Each twice: with the relay writing each publish's body and each result's to a file and confirming
// them (and answering finishes) only after an fdatasync, a group commit at a time — the floor of
// durability full, without SQLite — and with no disk at all.
//
// And each with the sends batched per turn of the event loop, as celeriac does, and per socket
// read handled (sooner, more messages).
//
//   node bench/floor.js [window,ff,rt] [runs=3] [turn|read]
import { fork } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, now, tempDir } from './harness.js';
import { cpuMs } from './tasks-measure.js';
import { runLanes } from './task-shapes-common.js';

const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);
const { default: WebSocket, WebSocketServer } = await import('ws');
const { FrameCodec } = await dist('shared/codec.js');
const { OP } = await dist('shared/opcodes.js');

/**
 * Frames pushed in one turn leave as one WebSocket message, as both sides of celeriac do
 * (FLOOR_FLUSH=turn: setImmediate); or those pushed while one socket read is handled
 * (FLOOR_FLUSH=read: a microtask), which sends sooner and more often.
 */
function turnOutbox(ws, codec) {
  const later = process.env.FLOOR_FLUSH === 'read' ? queueMicrotask : setImmediate;
  let frames = [];
  let confirms = null;
  let acks = null;
  const flush = () => {
    const batch = frames;
    frames = [];
    confirms = null;
    acks = null;
    if (batch.length > 0 && ws.readyState === WebSocket.OPEN) ws.send(codec.encode(batch));
  };
  return {
    ack(tag) {
      if (acks === null) {
        acks = { op: OP.ack, tag: [] };
        this.push(acks);
      }
      acks.tag.push(tag);
    },
    push(frame) {
      if (frames.length === 0) later(flush);
      frames.push(frame);
    },
    confirm(id) {
      if (confirms === null) {
        confirms = { op: OP.confirm, ids: [] };
        this.push(confirms);
      }
      confirms.ids.push(id);
    },
  };
}

/**
 * What waits for the disk: bodies written and fdatasynced one group at a time (the next group
 * forms while one syncs), then each group's answers sent. Without a file, answered at once.
 */
function groupCommit(file) {
  if (file === undefined) return (_body, answer) => answer();
  const fd = fs.openSync(file, 'a');
  let bodies = [];
  let answers = [];
  let busy = false;
  const commit = () => {
    if (busy || answers.length === 0) return;
    busy = true;
    const [these, done] = [bodies, answers];
    bodies = [];
    answers = [];
    // The write lands in the page cache at once; only the sync waits, on libuv's pool.
    fs.writevSync(fd, these);
    fs.fdatasync(fd, (err) => {
      if (err) throw err;
      for (const answer of done) answer();
      busy = false;
      commit();
    });
  };
  return (body, answer) => {
    if (answers.length === 0) setImmediate(commit);
    bodies.push(body);
    answers.push(answer);
  };
}

/** The relay: publish → confirm + deliver to the worker; finish → ok + the result pushed to the waiting producer. */
function relay(file) {
  const durably = groupCommit(file);
  const codec = new FrameCodec({}, { keepPropsBytes: true });
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  let worker = null;
  let nextTag = 0;
  const waits = new Map(); // delivery tag → { out, wait, taskId }
  wss.on('connection', (ws, req) => {
    const out = turnOutbox(ws, codec);
    if (req.url === '/worker') worker = out;
    ws.on('message', (data) => {
      for (const f of codec.decode(data)) {
        if (f.op === OP.publish) {
          const tag = ++nextTag;
          waits.set(tag, { out, wait: f.track?.wait, taskId: f.track?.taskId });
          worker.push({ op: OP.deliver, consumerTag: 'c1', deliveryTag: tag, redelivered: false, deliveryCount: 1, exchange: f.exchange, routingKey: f.routingKey, body: f.body, props: f.props });
          durably(f.body, () => out.confirm(f.id));
        } else if (f.op === OP.ack) {
          for (const tag of typeof f.tag === 'number' ? [f.tag] : f.tag) waits.delete(tag);
        } else if (f.op === OP.finish) {
          const w = waits.get(f.ack);
          waits.delete(f.ack);
          durably(f.result.body, () => out.push({ op: OP.ok, id: f.id }));
          w.out.push({ op: OP.ok, id: w.wait, result: { taskId: w.taskId, state: f.result.state, body: f.result.body, contentType: 'application/json', dateDone: Date.now() } });
        }
      }
    });
  });
  wss.on('listening', () => process.send({ port: wss.address().port }));
}

/** The worker: each delivery answered by a finish with the prepared result, acking it. */
function worker(url, resultBody, ff) {
  const codec = new FrameCodec();
  const ws = new WebSocket(`${url}/worker`, { perMessageDeflate: false });
  const out = turnOutbox(ws, codec);
  let id = 0;
  ws.on('message', (data) => {
    for (const f of codec.decode(data)) {
      if (f.op !== OP.deliver) continue;
      if (ff) out.ack(f.deliveryTag);
      else out.push({ op: OP.finish, id: ++id, ack: f.deliveryTag, result: { taskId: 'x', state: 'SUCCESS', body: resultBody, options: { contentType: 'application/json' }, task: 'add', runtime: 0.0001 } });
    }
  });
  ws.on('open', () => process.send({ ready: true }));
}

function once(child, pred) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not start within 10 s')), 10_000);
    child.on('message', (m) => { if (pred(m)) { clearTimeout(timer); resolve(m); } });
  });
}

/** One measured shape: relay and worker children, this process the producer. */
async function measure(shape, durable, task, runs) {
  const tasks = shape === 'rt' ? 2_000 : 20_000;
  const lanes = shape === 'rt' ? 1 : 100;
  const ff = shape === 'ff';
  const dir = durable ? tempDir('floor') : undefined;
  const relayChild = fork(new URL(import.meta.url).pathname, ['relay', ...(dir ? [join(dir.path, 'log')] : [])], { stdio: 'inherit' });
  const { port } = await once(relayChild, (m) => m.port !== undefined);
  const url = `ws://127.0.0.1:${port}`;
  const workerChild = fork(new URL(import.meta.url).pathname, ['worker', url, task.resultBody, ff ? 'ff' : 'result'], { stdio: 'inherit' });
  await once(workerChild, (m) => m.ready === true);

  const codec = new FrameCodec();
  const ws = new WebSocket(`${url}/producer`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const out = turnOutbox(ws, codec);
  const pending = new Map();
  let id = 0;
  ws.on('message', (data) => {
    for (const f of codec.decode(data)) {
      if (f.op === OP.confirm) for (const c of f.ids) pending.get(c)?.();
      else if (f.op === OP.ok) pending.get(f.id)?.(f.result);
    }
  });
  const settle = (key) => new Promise((resolve) => pending.set(key, (v) => { pending.delete(key); resolve(v); }));
  const { publish } = task;
  const send = async () => {
    const pid = ++id;
    const confirmed = settle(pid);
    if (ff) {
      out.push({ op: OP.publish, id: pid, exchange: publish.exchange, routingKey: publish.routingKey, body: publish.body, props: publish.props });
      await confirmed;
      return;
    }
    const wait = ++id;
    const result = settle(wait);
    out.push({ op: OP.publish, id: pid, exchange: publish.exchange, routingKey: publish.routingKey, body: publish.body, props: publish.props, track: { ...publish.track, wait } });
    await confirmed;
    const rec = await result;
    if (rec.state !== 'SUCCESS') throw new Error('no result');
  };
  await runLanes(2_000, lanes, send); // warm-up
  const results = [];
  for (let r = 0; r < runs; r++) {
    const c0 = { relay: cpuMs(relayChild.pid), worker: cpuMs(workerChild.pid), producer: process.cpuUsage() };
    const t0 = now();
    const lat = Array.from(await runLanes(tasks, lanes, send)).sort((a, b) => a - b);
    const seconds = (now() - t0) / 1000;
    const p = process.cpuUsage(c0.producer);
    const pct = (q) => lat[Math.min(lat.length - 1, Math.floor(lat.length * q))];
    results.push({
      rate: tasks / seconds, p50: pct(0.5), p99: pct(0.99),
      cpu: [(cpuMs(relayChild.pid) - c0.relay) * 1000 / tasks, (cpuMs(workerChild.pid) - c0.worker) * 1000 / tasks, (p.user + p.system) / tasks],
    });
  }
  ws.close();
  relayChild.kill();
  workerChild.kill();
  dir?.remove();
  // Throughput shapes: the best run, the median in brackets; the round trip: the median run.
  const byRate = [...results].sort((a, b) => b.rate - a.rate);
  const median = byRate[Math.floor(byRate.length / 2)];
  return { shape, durable, best: shape === 'rt' ? median : byRate[0], median };
}

async function main() {
  const only = process.argv[2];
  const shapes = only === undefined ? ['window', 'ff', 'rt'] : only.split(',');
  for (const s of shapes) if (!['window', 'ff', 'rt'].includes(s)) throw new Error(`unknown shape '${s}': window, ff or rt`);
  const runs = Number(process.argv[3] ?? 3);
  // A real task message and result, as the SDK builds them.
  const { Celeriac } = await dist('client/index.js');
  const { prepareTask } = await dist('client/tasks/producer.js');
  const { encodeMeta } = await dist('client/results/result-meta.js');
  const app = new Celeriac({ broker: 'ws://127.0.0.1:1' });
  const { publish } = prepareTask(app.settings, 'add', [1, 2], {}, {});
  const meta = { task_id: publish.track.taskId, status: 'SUCCESS', result: 3, traceback: null, children: [], date_done: new Date().toISOString(), name: 'add', retries: 0 };
  const task = { publish, resultBody: Buffer.from(encodeMeta(meta, { serializer: 'json', compression: null }, true).body).toString('base64') };
  await app.close();
  const flushes = process.argv[4] === undefined ? ['turn', 'read'] : [process.argv[4]];
  console.log(`| shape | relay | sends | tasks/s best (median) | p50 / p99 ms | CPU µs/task relay / worker / producer |`);
  console.log(`|---|---|---|---:|---:|---:|`);
  for (const shape of shapes) {
    for (const flush of flushes) {
      process.env.FLOOR_FLUSH = flush; // read by this process's outbox and the children's
      for (const durable of [true, false]) {
        const { best, median } = await measure(shape, durable, task, runs);
        const rate = shape === 'rt' ? '-' : `${best.rate.toFixed(0)} (${median.rate.toFixed(0)})`;
        console.log(`| ${shape} | ${durable ? 'fdatasync before each confirm' : 'no disk'} | per ${flush} | ${rate} | ${best.p50.toFixed(2)} / ${best.p99.toFixed(2)} | ${best.cpu.map((c) => c.toFixed(0)).join(' / ')} |`);
      }
    }
  }
}

const role = process.argv[2];
if (role === 'relay') relay(process.argv[3]);
else if (role === 'worker') worker(process.argv[3], Buffer.from(process.argv[4], 'base64'), process.argv[5] === 'ff');
else await main();
