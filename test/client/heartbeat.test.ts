// A broker that stops answering (SIGSTOP) is detected by the client's heartbeat check, and the
// client reconnects once the broker runs again (SIGCONT). Uses the built broker-server (dist/).
// A client that was itself paused learns of the dead socket at its heartbeat check, not later.
// A request the frozen broker never answers times out by the connection's sweep.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { plainChildEnv } from '../helpers/plain-children.js';
import t from 'tap';
import { connect, type Message, type ReconnectingInfo } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'server', 'cli', 'broker-server.js');

function startChildBroker(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, '--port', '0', '--host', '127.0.0.1', '--memory', '--heartbeat', '30s'], { env: plainChildEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`broker-server printed no URL within 15 s:\n${out}`)); }, 15_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const m = out.match(/ws:\/\/[^\s'"(),]+/);
      if (m !== null) { clearTimeout(timer); resolve({ child, url: m[0] }); }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`broker-server exited (${code}):\n${out}`)); });
  });
}

function waitEvent<T>(subscribe: (cb: (v: T) => void) => void, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms);
    subscribe((v) => { clearTimeout(timer); resolve(v); });
  });
}

t.test('a frozen broker is detected by heartbeat, and the client comes back when it resumes', async (t) => {
  const { child, url } = await startChildBroker();
  t.teardown(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  // The client proposes 200 ms; the broker takes the smaller of its own and the client's.
  const conn = await connect(url, { heartbeat: 200, requestTimeout: 1_000, reconnectBackoff: { initial: 50, max: 200 } });
  t.teardown(() => conn.close());
  t.equal(conn.heartbeat, 200);
  await conn.assertQueue('hb-q');
  await new Promise((r) => setTimeout(r, 600)); // negative check: three heartbeats of idleness, and no drop
  t.ok(conn.connected, 'heartbeats keep an idle connection alive');

  const drop = waitEvent<ReconnectingInfo>((cb) => conn.once('reconnecting', cb), 5_000, "'reconnecting'");
  child.kill('SIGSTOP');
  const info = await drop;
  t.equal(info.error.code, 'ERR_HEARTBEAT_TIMEOUT');

  const back = waitEvent<void>((cb) => conn.once('reconnected', () => cb()), 15_000, "'reconnected'");
  child.kill('SIGCONT');
  await back;
  // --memory: the broker lost nothing because it never restarted; the queue is still there.
  t.equal((await conn.checkQueue('hb-q')).queue, 'hb-q');
});

t.test('a request a frozen broker never answers fails with ERR_TIMEOUT, found by the connection sweep', async (t) => {
  const { child, url } = await startChildBroker();
  t.teardown(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  // No heartbeat of the client's: the broker's 30 s, so nothing but the request timeout acts.
  const conn = await connect(url, { requestTimeout: 400, reconnectBackoff: { initial: 50, max: 200 } });
  t.teardown(() => conn.close());
  await conn.assertQueue('timeout-q');
  child.kill('SIGSTOP');
  const started = Date.now();
  const outcome = await Promise.race([
    conn.checkQueue('timeout-q').then(() => 'answered', (err: unknown) => err),
    new Promise((r) => setTimeout(() => r('no outcome within 10 s'), 10_000)),
  ]);
  t.match(outcome, { code: 'ERR_TIMEOUT', message: /within 400 ms/ });
  t.ok(Date.now() - started >= 400, 'not before its timeout');
  child.kill('SIGCONT');
  t.equal((await conn.checkQueue('timeout-q')).queue, 'timeout-q', 'the connection still works');
});

t.test('a heartbeat timeout is reported at once: a timer due next in the same turn sees the deliveries dead', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await connect(broker.url, { heartbeat: 200, reconnectBackoff: { initial: 50, max: 200 } });
  t.teardown(() => conn.close());
  const q = `hb-dead-${process.pid}`;
  await conn.assertQueue(q);
  await conn.publish('', q, Buffer.from('x'));
  const held: Message[] = [];
  await conn.consume(q, (m) => { held.push(m); }, { prefetch: 1 });
  await until(() => held.length === 1, 5_000, 'the delivery');
  const msg = held[0]!;
  t.ok(msg.deliveryLive, 'live while its socket is up');
  // This process stops for 600 ms (as after SIGSTOP): three heartbeat intervals pass unheard.
  // Timers run in the order they fell due: the client's heartbeat check (every 100 ms) before
  // this one (150 ms), and both before the socket is read again.
  let seen: boolean | undefined;
  setTimeout(() => { seen = msg.deliveryLive; }, 150);
  const end = Date.now() + 600;
  while (Date.now() < end) { /* frozen */ }
  await until(() => seen !== undefined, 5_000, 'the timer');
  t.equal(seen, false, 'the heartbeat check declared the socket dead before the next timer ran');
  t.notOk(msg.settled, 'nobody settled it: its socket is gone');
});
