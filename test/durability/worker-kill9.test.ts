// A worker killed by SIGKILL in the middle of a late-acked task loses nothing: the broker requeues
// the delivery when the socket drops and the task runs to completion on another worker process.
// Also: SIGTERM is a warm shutdown (the running task finishes; prefetched ones go back).
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { plainChildEnv } from '../helpers/plain-children.js';
import { startTestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';
import type { Celeriac } from '../../client/index.js';

const RUN_WORKER = fileURLToPath(new URL('../fixtures/task-apps/run-worker.mjs', import.meta.url));
const APP_MODULE = new URL('../fixtures/task-apps/limits-app.mjs', import.meta.url);

interface WorkerProcess { child: ChildProcess; lines: string[]; pid: number }

async function spawnWorker(t: Test, brokerUrl: string, pool = 'async', concurrency = 2): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [RUN_WORKER, pool, String(concurrency)], { env: plainChildEnv({ CELERIAC_BROKER: brokerUrl }), stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  const lines: string[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  await until(() => lines.some((l) => l.startsWith('ready')), 15_000, 'the worker process to be ready');
  return { child, lines, pid: child.pid! };
}

async function producer(t: Test, url: string, tag: string): Promise<Celeriac> {
  process.env['CELERIAC_BROKER'] = url;
  const mod = (await import(`${APP_MODULE.href}?${tag}`)) as { app: Celeriac };
  t.teardown(() => mod.app.close());
  return mod.app;
}

t.test('kill -9 mid-task with late acks: another worker runs the task to completion', async (t) => {
  const broker = await startTestBroker(t);
  const app = await producer(t, broker.url, 'kill9');
  const first = await spawnWorker(t, broker.url);
  const r = await app.sendTask<{ tag: string; pid: number }>('limits.slow', [1_500, 'survivor']);
  await until(() => first.lines.includes(`started ${r.id}`), 10_000, 'the first worker to start the task');
  first.child.kill('SIGKILL');
  await new Promise((res) => first.child.once('exit', res));
  t.equal(await r.state, 'PENDING', 'not failed, not lost: still to do');
  const second = await spawnWorker(t, broker.url);
  const v = await r.get({ timeout: 15_000 });
  t.same(v, { tag: 'survivor', pid: second.pid }, 'completed by the second worker');
  t.ok(second.lines.includes(`started ${r.id}`));
});

t.test('SIGTERM: warm shutdown finishes the running task and gives back the prefetched ones', async (t) => {
  const broker = await startTestBroker(t);
  const app = await producer(t, broker.url, 'warm');
  const w = await spawnWorker(t, broker.url, 'async', 1);
  const running = await app.sendTask('limits.slow', [800, 'running']);
  const queued = await Promise.all([1, 2, 3].map((i) => app.sendTask('limits.slow', [10, `queued-${i}`])));
  await until(() => w.lines.includes(`started ${running.id}`), 10_000, 'the task to start');
  w.child.kill('SIGTERM');
  const code = await new Promise<number | null>((res) => w.child.once('exit', (c) => res(c)));
  t.equal(code, 0, 'exits 0 after a warm shutdown');
  t.ok(w.lines.includes(`succeeded ${running.id}`), 'the running task finished before exit');
  t.match(await running.get({ timeout: 1_000 }), { tag: 'running' });
  const conn = await app.connection();
  t.equal((await conn.checkQueue('default')).messageCount, 3, 'the prefetched tasks are back in the queue');
  for (const q of queued) t.equal(await q.state, 'PENDING');
});
