// `celeriac status` and `celeriac inspect` as child processes against a worker process: replies per
// worker (--json here; the tables are in celeriac-control-commands.test.ts), -d to address one, and
// Celery's "No nodes replied" with exit 1 when nobody answers.
import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { finished, lines, runCli, runCliPair, startWorker, uniqueQueue } from './celeriac-helpers.js';

t.test('no worker: status and inspect say no nodes replied, exit 1', async (t) => {
  const broker = await startTestBroker(t);
  const status = await runCli(t, ['status', '--broker', broker.url, '--timeout', '300']);
  t.equal(status.code, 1);
  t.equal(status.stdout, '');
  t.equal(status.stderr, 'Error: No nodes replied within time constraint\n');
  const inspect = await runCli(t, ['inspect', 'active', '--broker', broker.url, '-t', '300']);
  t.equal(inspect.code, 1);
  t.equal(inspect.stderr, 'Error: No nodes replied within time constraint\n');
});

t.test('one worker: status lists it, inspect registered / stats / active answer per worker', async (t) => {
  const broker = await startTestBroker(t);
  const q = uniqueQueue('cli-control');
  const worker = await startWorker(t, ['-A', './tasks.mjs', '--broker', broker.url, '-Q', q, '-n', 'cli-w1@%h', '-c', '3', '-E']);
  const host = /(cli-w1@\S+) v/.exec(worker.stdout())![1]!;
  t.match(worker.stdout(), 'task events: ON', '-E turns task events on');

  const status = await runCli(t, ['status', '--broker', broker.url, '--timeout', '2s']);
  t.equal(status.code, 0, status.stderr);
  t.match(lines(status.stdout)[1], new RegExp(`^${host.replace(/[.]/g, '\\.')} +OK +async +3 `), 'a row per worker: status, pool, concurrency');
  t.match(status.stdout, /\n\n1 node online\.\n$/, 'a blank line before the count, as Celery prints it');

  // Independent child processes, two at a time: on a busy machine start-up is most of their time.
  const [registered, stats, active, elsewhere, badMethod] = await runCliPair(t, [
    ['inspect', 'registered', '--json', '--broker', broker.url, '--timeout', '2s'],
    ['inspect', 'stats', '--json', '--broker', broker.url, '-d', host, '--timeout', '2s'],
    ['inspect', 'active', '--json', '--broker', broker.url, '--timeout', '2s'],
    ['inspect', 'ping', '--broker', broker.url, '-d', 'nobody@nowhere', '--timeout', '300'],
    ['inspect', 'everything', '--broker', broker.url],
  ]);
  t.equal(registered.code, 0, registered.stderr);
  const names = (JSON.parse(registered.stdout) as Record<string, string[]>)[host];
  t.ok(names, 'a key per worker hostname');
  for (const name of ['tasks.add', 'tasks.echo', 'tasks.fail', 'tasks.sleep']) t.ok(names!.includes(name), `${name} is registered`);

  t.equal(stats.code, 0, stats.stderr);
  t.match(JSON.parse(stats.stdout), { [host]: { hostname: host, prefetch_count: 12, queues: [q], pool: { implementation: 'async', 'max-concurrency': 3 } } });

  t.equal(active.code, 0);
  t.strictSame(JSON.parse(active.stdout), { [host]: [] }, 'nothing running');

  t.equal(elsewhere.code, 1, 'a destination no worker has: no replies');

  t.equal(badMethod.code, 2);
  t.match(badMethod.stderr, "inspect: no such method 'everything'; one of active, reserved, scheduled, registered, stats, ping");

  worker.child.kill('SIGTERM');
  t.equal((await finished(worker)).code, 0);
});
