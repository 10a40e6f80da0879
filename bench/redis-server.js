// A private redis-server for the BullMQ comparison: a child on a free loopback port with its
// own temp folder, started and stopped by the bench; never a system instance.
//
// Two persistence modes: 'none' (`--save '' --appendonly no`, BullMQ's usual benchmark setup:
// nothing on disk) and 'aof' (`--appendonly yes --appendfsync everysec`: at most a second of
// acknowledged writes lost on power loss; still weaker than celeriac's fsync-per-commit `full`).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { deferred, freePort, peakRss, sleep, stopperFor, tempDir, withTimeout } from './harness.js';

/** The Debian package's binary. */
export const REDIS_BIN = '/usr/bin/redis-server';

/** The standard line for a skipped BullMQ comparison. */
export const REDIS_SKIPPED = 'bullmq: redis-server not installed (apt-get install redis-server), skipped';

/** True when redis-server is installed. */
export const redisInstalled = () => existsSync(REDIS_BIN);

/** The persistence modes the bench runs redis with, as redis-server flags. */
export const REDIS_PERSISTENCE = {
  none: { label: 'no persistence', args: ['--save', '', '--appendonly', 'no'] },
  aof: { label: 'AOF, fsync every second', args: ['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'] },
};

/** Sends PING over a raw socket and resolves true on +PONG (redis answers once it loaded). */
function ping(port) {
  return new Promise((res) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    const done = (ok) => { sock.destroy(); res(ok); };
    sock.setTimeout(1_000, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => done(String(d).startsWith('+PONG')));
  });
}

/**
 * Starts `redis-server --port N --bind 127.0.0.1` with `persistence` ('none' | 'aof') in a fresh
 * temp folder and waits until it answers PING. Returns { url, host, port, pid, persistence,
 * label, rss(), stop() }; stop() sends SIGTERM (SIGKILL after 10 s) to this child only and
 * removes the folder.
 */
export async function startRedis({ persistence = 'none', timeoutMs = 15_000 } = {}) {
  const mode = REDIS_PERSISTENCE[persistence];
  if (!mode) throw new Error(`unknown redis persistence ${persistence}`);
  const dir = tempDir('redis');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir.path, '--protected-mode', 'yes',
    '--daemonize', 'no', '--logfile', '', '--loglevel', 'warning', '--maxmemory-policy', 'noeviction', ...mode.args];
  const child = spawn(REDIS_BIN, args, { cwd: dir.path, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c) => { output = (output + c).slice(-16_384); });
  child.stderr.setEncoding('utf8').on('data', (c) => { output = (output + c).slice(-16_384); });
  const exited = deferred();
  child.once('exit', (code, signal) => exited.resolve({ code, signal }));
  const stop = stopperFor(child, exited.promise, 10_000, () => dir.remove());
  try {
    await withTimeout((async () => {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`redis-server exited early:\n${output}`);
        if (await ping(port)) return;
        await sleep(50);
      }
    })(), timeoutMs, 'redis-server start');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    pid: child.pid,
    persistence,
    label: mode.label,
    rss: () => peakRss(child.pid),
    stop,
  };
}
