// The real `broker-server` command as a child process (dist/, built by `npm test` first): the
// URLs it prints, clean exits on SIGINT/SIGTERM, and one-line failures with the right exit codes.
import t, { type Test } from 'tap';
import { chmodSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../../client/index.js';
import { spawnScript, within, type Run } from './process-helpers.js';

const CLI = fileURLToPath(new URL('../../dist/server/cli/broker-server.js', import.meta.url));
const WAIT_MS = 20_000;
const LISTENING = /^celeriac broker listening on (ws:\/\/127\.0\.0\.1:(\d+)) \((http:\/\/127\.0\.0\.1:\d+)\), data (.+), durability (full|process)$/m;

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);

/** A temp directory removed at the end of the test that made it. */
function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Spawns the command (in a temp dir unless `cwd` is given). */
function start(t: Test, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Run {
  return spawnScript(t, CLI, args, { env: opts.env, cwd: opts.cwd ?? tmpdir() });
}

/** Resolves with the listening line's parts once printed; rejects if the process exits first. */
async function listening(run: Run): Promise<{ ws: string; port: number; http: string; data: string; durability: string }> {
  const seen = new Promise<RegExpExecArray>((res, rej) => {
    const check = (): void => {
      const m = LISTENING.exec(run.stdout());
      if (m) res(m);
    };
    run.child.stdout!.on('data', check);
    check();
    void run.exited.then(({ code, signal }) => rej(new Error(`exited (${code ?? signal}) before listening:\n${run.stdout()}${run.stderr()}`)));
  });
  const m = await within(seen, WAIT_MS, 'broker-server printing its URLs');
  return { ws: m[1]!, port: Number(m[2]), http: m[3]!, data: m[4]!, durability: m[5]! };
}

/** Runs a command that must exit by itself; returns its exit code and output. */
async function finished(run: Run): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code } = await within(run.exited, WAIT_MS, 'broker-server exiting');
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

t.test('--port 0 --memory prints the ws and http URLs; SIGINT exits 0', async (t) => {
  const run = start(t, ['--port', '0', '--memory']);
  const l = await listening(run);
  t.equal(l.ws, `ws://127.0.0.1:${l.port}`);
  t.equal(l.http, `http://127.0.0.1:${l.port}`);
  t.equal(l.data, ':memory:');
  t.equal(l.durability, 'full');
  t.not(l.port, 0, 'a real port was picked');
  const health = await within(fetch(`${l.http}/healthz`), WAIT_MS, 'GET /healthz');
  t.equal(health.status, 200, 'the management API answers on the printed URL');
  t.equal(((await health.json()) as { ok: boolean }).ok, true);
  run.child.kill('SIGINT');
  const done = await finished(run);
  t.equal(done.code, 0, 'exit code 0 after SIGINT');
  t.equal(done.stderr, '', 'nothing on stderr');
});

t.test('SIGTERM with a data file: exit 0, the file is a SQLite database the broker reopens', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'broker.db');
  const first = start(t, ['--port', '0', '--data', file, '--durability', 'process']);
  const l = await listening(first);
  t.equal(l.data, file);
  t.equal(l.durability, 'process');
  first.child.kill('SIGTERM');
  t.equal((await finished(first)).code, 0, 'exit code 0 after SIGTERM');

  const header = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  readSync(fd, header, 0, 16, 0);
  closeSync(fd);
  t.equal(header.toString('latin1'), 'SQLite format 3\0', 'the data file has the SQLite header');

  const again = start(t, ['--port', '0', '--data', file]);
  await listening(again);
  again.child.kill('SIGTERM');
  t.equal((await finished(again)).code, 0, 'a second broker opens the same file and exits cleanly');
});

t.test('with no --data, the database is ./celeriac.db in the working directory', async (t) => {
  const dir = tempDir(t);
  const run = start(t, ['--port', '0'], { cwd: dir });
  const l = await listening(run);
  t.equal(l.data, join(dir, 'celeriac.db'));
  t.ok(existsSync(join(dir, 'celeriac.db')), 'the file exists');
  run.child.kill('SIGINT');
  t.equal((await finished(run)).code, 0);
});

t.test('environment variables configure it like flags', async (t) => {
  const run = start(t, [], { env: { CELERIAC_PORT: '0', CELERIAC_MEMORY: '1', CELERIAC_DURABILITY: 'process' } });
  const l = await listening(run);
  t.equal(l.data, ':memory:');
  t.equal(l.durability, 'process');
  run.child.kill('SIGTERM');
  t.equal((await finished(run)).code, 0);
});

t.test('--user and --vhost reach the broker: the user logs in to the vhost, guest no longer exists', async (t) => {
  const run = start(t, ['--port', '0', '--memory', '--user', 'alice:s3:cret', '--vhost', 'jobs', '--vhost', '/']);
  const l = await listening(run);
  const conn = await within(connect(l.ws, { user: 'alice', password: 's3:cret', vhost: 'jobs', reconnect: false }), WAIT_MS, 'connect as alice');
  await conn.assertQueue('cli-user-q');
  await conn.close();
  const refused = await within(connect(l.ws, { reconnect: false }).then(() => 'connected', (err: { code?: string }) => err.code), WAIT_MS, 'connect as guest');
  t.equal(refused, 'ERR_ACCESS_REFUSED', 'the built-in guest is gone once users are given');
  const wrong = await within(connect(l.ws, { user: 'alice', password: 'nope', reconnect: false }).then(() => 'connected', (err: { code?: string }) => err.code), WAIT_MS, 'wrong password');
  t.equal(wrong, 'ERR_ACCESS_REFUSED', 'a wrong password is refused');
  const res = await fetch(`${l.http}/api/queues/jobs/cli-user-q`, { signal: AbortSignal.timeout(WAIT_MS) });
  t.equal(res.status, 200, 'the queue lives in vhost jobs');
  run.child.kill('SIGINT');
  t.equal((await finished(run)).code, 0);
});

t.test('--users-file gives the users without a password on the command line; --user warns', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'users');
  writeFileSync(file, '# broker users\nalice:s3 cr:et\nbob:pw\n', { mode: 0o600 });
  const run = start(t, ['--port', '0', '--memory', '--users-file', file]);
  const l = await listening(run);
  const conn = await within(connect(l.ws, { user: 'alice', password: 's3 cr:et', reconnect: false }), WAIT_MS, 'connect as alice');
  await conn.close();
  const refused = await within(connect(l.ws, { user: 'bob', password: 'pw\0', reconnect: false }).then(() => 'connected', (err: { code?: string }) => err.code), WAIT_MS, 'bob with a NUL');
  t.equal(refused, 'ERR_ACCESS_REFUSED', 'the password must match exactly');
  t.notMatch(readFileSync(`/proc/${run.child.pid}/cmdline`, 'utf8'), 's3 cr:et', 'no password in the process list');
  run.child.kill('SIGINT');
  t.equal((await finished(run)).code, 0);
  t.equal(run.stderr(), '', 'a private file: no warning');

  // The same through the environment; and --user still works, with a warning pointing at the file.
  writeFileSync(file, 'carol:pw3\n');
  chmodSync(file, 0o644);
  const env = start(t, ['--port', '0', '--memory', '--user', 'dave:pw4'], { env: { CELERIAC_USERS_FILE: file } });
  const le = await listening(env);
  for (const [user, password] of [['carol', 'pw3'], ['dave', 'pw4']] as const) {
    const c = await within(connect(le.ws, { user, password, reconnect: false }), WAIT_MS, `connect as ${user}`);
    await c.close();
  }
  env.child.kill('SIGINT');
  t.equal((await finished(env)).code, 0);
  t.match(env.stderr(), /^broker-server: warn: --user puts its password in the process list.*use --users-file FILE \(or CELERIAC_USERS_FILE\)$/m);
  t.match(env.stderr(), /^broker-server: warn: users file .*users may be read by other users \(mode 644\); chmod 600 it$/m);
});

t.test('a users file that is missing (exit 1) or malformed (exit 2): one line, no password', async (t) => {
  const dir = tempDir(t);
  const missing = await finished(start(t, ['--port', '0', '--memory', '--users-file', join(dir, 'nope')]));
  t.equal(missing.code, 1);
  t.match(lines(missing.stderr), [/^broker-server: cannot read users file .*nope: ENOENT$/]);
  const file = join(dir, 'users');
  writeFileSync(file, 'alice:ok\nbob-secret-without-colon\n', { mode: 0o600 });
  const bad = await finished(start(t, ['--port', '0', '--memory', '--users-file', file]));
  t.equal(bad.code, 2);
  t.match(lines(bad.stderr), [/^broker-server: users file .*users, line 2: expected NAME:PASSWORD \(see broker-server --help\)$/]);
  t.notMatch(bad.stderr, 'secret');
});

t.test('connection caps and the handshake timeout reach the broker', async (t) => {
  const run = start(t, ['--port', '0', '--memory', '--max-connections-per-address', '1', '--handshake-timeout', '500']);
  const l = await listening(run);
  const idle = netConnect({ port: l.port, host: '127.0.0.1' });
  idle.on('error', () => undefined);
  await within(new Promise((res) => idle.once('connect', res)), WAIT_MS, 'first connection');
  const idleClosed = within(new Promise((res) => idle.once('close', res)), WAIT_MS, 'the idle connection closed by the broker');
  const refused = await within(connect(l.ws, { reconnect: false }).then(() => 'connected', (err: { code?: string }) => err.code), WAIT_MS, 'a second connection');
  t.equal(refused, 'ERR_TOO_MANY_CONNECTIONS', 'one connection per address');
  await idleClosed;
  t.pass('an idle connection is closed at the handshake timeout');
  run.child.kill('SIGINT');
  t.equal((await finished(run)).code, 0);
});

t.test('a busy port: one line naming it, exit 1', async (t) => {
  const blocker = createServer();
  await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
  t.teardown(() => new Promise<void>((res) => blocker.close(() => res())));
  const port = (blocker.address() as AddressInfo).port;
  const done = await finished(start(t, ['--port', String(port), '--memory']));
  t.equal(done.code, 1);
  t.strictSame(lines(done.stderr), [`broker-server: port ${port} on 127.0.0.1 is already in use`]);
  t.equal(done.stdout, '');
});

t.test('a data file in a missing directory: one line, exit 1', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'no', 'such', 'dir', 'x.db');
  const done = await finished(start(t, ['--port', '0', '--data', file]));
  t.equal(done.code, 1);
  t.equal(lines(done.stderr).length, 1, 'one line');
  t.match(done.stderr, /^broker-server: .*x\.db.*does not exist\n$/);
});

t.test('a data file that is not a database: one line, exit 1', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'notes.txt');
  writeFileSync(file, 'these are not the bytes of a SQLite database, not even close; '.repeat(20));
  const done = await finished(start(t, ['--port', '0', '--data', file]));
  t.equal(done.code, 1);
  t.equal(lines(done.stderr).length, 1, 'one line');
  t.match(done.stderr, /^broker-server: .*notes\.txt.*not a SQLite database/);
});

t.test('--help lists every flag and exits 0', async (t) => {
  const done = await finished(start(t, ['--help']));
  t.equal(done.code, 0);
  for (const flag of ['--port', '--host', '--data', '--memory', '--user', '--users-file', '--handshake-timeout', '--max-connections', '--max-connections-per-address', '--durability', '--vhost', '--max-message-size', '--max-body-size', '--heartbeat', '--memory-high-watermark', '--store-high-watermark', '--help']) {
    t.match(done.stdout, flag);
  }
  t.match(done.stdout, 'CELERIAC_PORT');
  t.match(done.stdout, 'default: 5680');
});

t.test('-h is --help', async (t) => {
  const [short, long] = await Promise.all([finished(start(t, ['-h'])), finished(start(t, ['--help']))]);
  t.equal(short.code, 0);
  t.equal(short.stdout, long.stdout, 'the same text');
  t.equal(short.stderr, '');
});

t.test('--version prints the version and exits 0', async (t) => {
  const done = await finished(start(t, ['--version']));
  t.equal(done.code, 0);
  t.match(done.stdout, /^celeriac \d+\.\d+\.\d+/);
});

t.test('bad flags: one line with a usage hint, exit 2', async (t) => {
  for (const args of [['--port', 'nope'], ['--bogus'], ['--durability', 'lazy'], ['--max-body-size', 'huge']]) {
    const done = await finished(start(t, args));
    t.equal(done.code, 2, `${args.join(' ')}: exit 2`);
    t.equal(lines(done.stderr).length, 1, `${args.join(' ')}: one line`);
    t.match(done.stderr, /^broker-server: .*\(see broker-server --help\)\n$/);
    t.equal(done.stdout, '');
  }
});
