// `celeriac worker` started before its broker: it waits with backoff, one log line per try
// (Celery's broker_connection_retry_on_startup), comes up once the broker does, and gives up with
// one clear line and exit 1 after brokerConnectionMaxRetries.
import t from 'tap';
import { Celeriac } from '../../client/index.js';
import { startBroker } from '../../server/index.js';
import { celeriac, closedPort, finished, uniqueQueue, waitForOutput } from './celeriac-helpers.js';

const RETRY_LINE = /ERROR\] consumer: cannot connect to ws:\/\/127\.0\.0\.1:\d+\/: .*ECONNREFUSED.*\. Trying again in \d+\.\d\d seconds\.\.\. \((\d+)\/(\d+|unlimited)\)/g;

t.test('a worker started before the broker retries, then comes up and runs a task', async (t) => {
  const port = await closedPort();
  const url = `ws://127.0.0.1:${port}`;
  const q = uniqueQueue('startup');
  const run = celeriac(t, ['worker', '-A', './startup-retry.mjs', '-Q', q, '-c', '1', '--broker', url]);
  await waitForOutput(run, 'stderr', /\(2\/100\)/, 'the second retry line');
  const tries = [...run.stderr().matchAll(RETRY_LINE)].map((m) => `${m[1]}/${m[2]}`);
  t.strictSame(tries.slice(0, 2), ['1/100', '2/100'], 'a line per failed try, counted against the default 100');
  t.equal(run.stdout(), '', 'no banner while the broker is not there');

  const broker = await startBroker({ port, host: '127.0.0.1', dataFile: ':memory:' });
  t.teardown(() => broker.close());
  await waitForOutput(run, 'stderr', / ready: queues /, 'the worker being ready once the broker is up');
  t.match(run.stdout(), 'startup.add', 'the banner follows the connection');

  const app = new Celeriac({ broker: broker.url });
  t.teardown(() => app.close());
  const r = await app.sendTask('startup.add', [2, 3], { queue: q });
  t.equal(await r.get({ timeout: 10_000 }), 5, 'the worker runs tasks');
  run.child.kill('SIGTERM');
  t.equal((await finished(run)).code, 0);
});

t.test('with brokerConnectionMaxRetries 2 and no broker, the worker exits 1 with one line', async (t) => {
  const port = await closedPort();
  const run = celeriac(t, ['worker', '-A', './startup-retry.mjs', '--broker', `ws://127.0.0.1:${port}`], { env: { BROKER_CONNECTION_MAX_RETRIES: '2' } });
  const { code, stdout, stderr } = await finished(run);
  t.equal(code, 1);
  t.equal(stdout, '', 'no banner for a worker that cannot start');
  t.strictSame([...stderr.matchAll(RETRY_LINE)].map((m) => `${m[1]}/${m[2]}`), ['1/2', '2/2'], 'two retries, each logged');
  const last = stderr.trimEnd().split('\n').at(-1)!;
  t.match(last, new RegExp(`^celeriac: broker unreachable: cannot connect to ws://127\\.0\\.0\\.1:${port}/: .*ECONNREFUSED.* \\(gave up after 2 retries: brokerConnectionMaxRetries\\)$`));
});
