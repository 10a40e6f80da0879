// broker-server with --amqp-port and --amqps-port as a child process (dist/, built by `npm test`
// first): the AMQP URLs on its listening line, amqplib served there, no listener without the flags.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import amqplib from 'amqplib';
import t from 'tap';
import { finished, listening, start, tempDir, WAIT_MS } from './broker-server-helpers.js';
import { within } from './process-helpers.js';

t.test('--amqp-port 0 adds the AMQP URL to the line; amqplib connects to it; without the flag there is none', async (t) => {
  const run = start(t, ['--port', '0', '--memory', '--amqp-port', '0']);
  const l = await listening(run);
  t.match(l.amqp, /^amqp:\/\/127\.0\.0\.1:\d+$/);
  const conn = await within(amqplib.connect(l.amqp!), WAIT_MS, 'amqplib connecting');
  const ch = await conn.createChannel();
  t.match((await ch.assertQueue('', { exclusive: true })).queue, /^amq\.gen-/);
  await conn.close();
  run.child.kill('SIGINT');
  t.equal((await finished(run)).code, 0, 'exit code 0 after SIGINT');
  const plain = start(t, ['--port', '0', '--memory']);
  t.equal((await listening(plain)).amqp, undefined);
  plain.child.kill('SIGINT');
  t.equal((await finished(plain)).code, 0);
});

t.test('--amqps-port with its PEM files prints the amqps URL; an unreadable file stops the start with exit 1', async (t) => {
  const dir = tempDir(t);
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  const run = start(t, ['--port', '0', '--memory', '--amqps-port', '0', '--amqps-cert', cert, '--amqps-key', key]);
  const l = await listening(run);
  t.equal(l.amqp, undefined);
  t.match(l.amqps, /^amqps:\/\/127\.0\.0\.1:\d+$/);
  const conn = await within(amqplib.connect(l.amqps!, { ca: [readFileSync(cert)] }), WAIT_MS, 'amqplib over TLS');
  await conn.close();
  run.child.kill('SIGINT');
  t.equal((await finished(run)).code, 0);
  const bad = start(t, ['--port', '0', '--memory', '--amqps-port', '0', '--amqps-cert', join(dir, 'missing.pem'), '--amqps-key', key]);
  const done = await finished(bad);
  t.equal(done.code, 1);
  t.match(done.stderr, /cannot read the amqps certificate .*missing\.pem: ENOENT/);
});
