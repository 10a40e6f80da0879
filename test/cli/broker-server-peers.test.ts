// broker-server's defences as a child process: users from a file (no password in the process
// list), exact passwords, connection caps and the handshake timeout given as flags.
import t from 'tap';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { connect } from '../../client/index.js';
import { finished, lines, listening, start, tempDir, WAIT_MS } from './broker-server-helpers.js';
import { within } from './process-helpers.js';

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
