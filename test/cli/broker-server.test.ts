// The real `broker-server` command as a child process (dist/, built by `npm test` first): the
// URLs it prints, clean exits on SIGINT/SIGTERM, and one-line failures with the right exit codes.
// Help, version and bad flags: broker-server-usage.test.ts.
import t from 'tap';
import { existsSync, openSync, readSync, closeSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect } from '../../client/index.js';
import { finished, lines, listening, start, tempDir, WAIT_MS } from './broker-server-helpers.js';
import { basic } from '../helpers/http.js';
import { within } from './process-helpers.js';

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
  const run = start(t, ['--port', '0', '--memory', '--user', 'alice+administrator:s3:cret', '--user', 'bob:b0b', '--vhost', 'jobs', '--vhost', '/', '--metrics-open']);
  const l = await listening(run);
  const conn = await within(connect(l.ws, { user: 'alice', password: 's3:cret', vhost: 'jobs', reconnect: false }), WAIT_MS, 'connect as alice');
  await conn.assertQueue('cli-user-q');
  await conn.close();
  const refused = await within(connect(l.ws, { reconnect: false }).then(() => 'connected', (err: { code?: string }) => err.code), WAIT_MS, 'connect as guest');
  t.equal(refused, 'ERR_ACCESS_REFUSED', 'the built-in guest is gone once users are given');
  const wrong = await within(connect(l.ws, { user: 'alice', password: 'nope', reconnect: false }).then(() => 'connected', (err: { code?: string }) => err.code), WAIT_MS, 'wrong password');
  t.equal(wrong, 'ERR_ACCESS_REFUSED', 'a wrong password is refused');
  const get = async (path: string, auth?: string): Promise<number> => {
    const res = await fetch(`${l.http}${path}`, { headers: auth === undefined ? {} : { authorization: auth }, signal: AbortSignal.timeout(WAIT_MS) });
    await res.arrayBuffer();
    return res.status;
  };
  t.equal(await get('/api/queues/jobs/cli-user-q', basic('alice', 's3:cret')), 200, 'the queue lives in vhost jobs; alice+administrator reads the API');
  t.equal(await get('/api/queues/jobs/cli-user-q'), 401, 'the API needs a user');
  t.equal(await get('/api/overview', basic('bob', 'b0b')), 403, 'a user given without a tag connects over WebSocket only');
  t.equal(await get('/metrics'), 200, '--metrics-open: /metrics needs no user');
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
