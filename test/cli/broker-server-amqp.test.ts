// broker-server with --amqp-port as a child process (dist/, built by `npm test` first): the AMQP URL
// on its listening line, an amqplib client served there, and no listener without the flag.
import amqplib from 'amqplib';
import t from 'tap';
import { finished, listening, start, WAIT_MS } from './broker-server-helpers.js';
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
