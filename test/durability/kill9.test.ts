// The durability promise: a confirmed message survives kill -9 of the broker. Runs broker-server
// as a child process on a temp file, kills it with SIGKILL mid-load several times, restarts it on
// the same file, and checks lost = 0 and that every duplicate is flagged redelivered.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { plainChildEnv } from '../helpers/plain-children.js';
import { connect, type Connection } from '../../client/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'server', 'cli', 'broker-server.js');
const CYCLES = 4;

function startServer(file: string, durability: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, '--port', '0', '--host', '127.0.0.1', '--data', file, '--durability', durability], { env: plainChildEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`broker did not start: ${out} ${err}`)); }, 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ws:\/\/[^\s)]+/.exec(out);
      if (m) { clearTimeout(timer); resolve({ child, url: m[0] }); }
    });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`broker exited early (${code}): ${err}`)); });
  });
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const durability of ['full', 'process']) t.test(`kill -9 under publish + consume load loses no confirmed message (durability ${durability})`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-kill9-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'broker.db');
  const confirmed = new Set<string>();
  const seen = new Map<string, number>();
  const badDuplicates: string[] = [];
  let next = 0;

  const consumeInto = async (conn: Connection): Promise<void> => {
    await conn.consume('durable-q', async (msg) => {
      const id = msg.body.toString();
      const times = seen.get(id) ?? 0;
      if (times > 0 && !msg.fields.redelivered) badDuplicates.push(id);
      seen.set(id, times + 1);
      msg.ack();
    }, { prefetch: 50 });
  };

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const { child, url } = await startServer(file, durability);
    t.teardown(() => killHard(child));
    const pub = await connect(url, { reconnect: false });
    const sub = await connect(url, { reconnect: false });
    pub.on('error', () => undefined);
    sub.on('error', () => undefined);
    await pub.assertQueue('durable-q', { durable: true });
    await consumeInto(sub);
    let stop = false;
    const publishing = (async () => {
      const inflight = new Set<Promise<void>>();
      while (!stop) {
        const id = `m${next++}`;
        const p = pub.publish('', 'durable-q', Buffer.from(id), { persistent: true }).then(
          () => { confirmed.add(id); },
          () => undefined, // not confirmed: the broker died first; it may or may not arrive
        );
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        if (inflight.size >= 200) await Promise.race(inflight);
        // Publishes to a dead connection fail in microtasks: yield so timers and I/O still run.
        if (next % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      await Promise.allSettled(inflight);
    })();
    await sleep(300 + Math.floor(Math.random() * 500));
    await killHard(child);
    stop = true;
    await publishing;
    await Promise.allSettled([pub.close(), sub.close()]);
  }

  // A final broker on the same file: drain everything that is left.
  const { child, url } = await startServer(file, durability);
  t.teardown(() => killHard(child));
  const sub = await connect(url, { reconnect: false });
  await consumeInto(sub);
  const deadline = Date.now() + 20_000;
  while ([...confirmed].some((id) => !seen.has(id)) && Date.now() < deadline) await sleep(50);
  const lost = [...confirmed].filter((id) => !seen.has(id));
  t.ok(confirmed.size > 100, `published and confirmed a real load (${confirmed.size} confirmed over ${CYCLES} kills)`);
  t.equal(lost.length, 0, `lost = ${lost.length} (first: ${lost.slice(0, 5).join(', ')})`);
  const duplicates = [...seen.values()].filter((n) => n > 1).length;
  t.same(badDuplicates, [], `every duplicate delivery (${duplicates}) was flagged redelivered`);
  await sub.close();
  child.kill('SIGTERM');
});
