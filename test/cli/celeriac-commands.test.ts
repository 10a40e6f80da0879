// `celeriac purge`, `call -A` with an unknown task, help and version, and flags read from the
// environment, as child processes against a broker started here.
import t from 'tap';
import { Celeriac, connect } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { celeriac, finished, lines, runCli, runCliPair, startWorker, uniqueQueue, WAIT_MS } from './celeriac-helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

t.test('purge: refuses without -f (exit 2), purges with it and prints the counts', async (t) => {
  const broker = await startTestBroker(t);
  const q = uniqueQueue('cli-purge');
  // Filled in process: `call` has its own tests, and each child process costs a second on a busy machine.
  const producer = new Celeriac({ broker: broker.url });
  t.teardown(() => producer.close());
  for (let i = 0; i < 3; i++) await producer.sendTask('tasks.add', [i, 1], { queue: q });
  const refused = await runCli(t, ['purge', '-Q', q, '--broker', broker.url]);
  t.equal(refused.code, 2);
  t.equal(refused.stderr, `celeriac: refusing to purge ${q} without -f/--force: it deletes every message waiting in it, for good\n`);
  const conn = await connect(broker.url, { reconnect: false });
  t.teardown(() => conn.close());
  t.equal((await conn.checkQueue(q)).messageCount, 3, 'nothing was purged');

  const purged = await runCli(t, ['purge', '-Q', q, '--broker', broker.url, '-f']);
  t.equal(purged.code, 0, purged.stderr);
  t.strictSame(lines(purged.stdout), [`${q}: 3 messages purged`, 'Purged 3 messages from 1 queue.']);
  t.equal((await conn.checkQueue(q)).messageCount, 0, 'the queue is empty');

  const missing = await runCli(t, ['purge', '-Q', `${q},no-such-queue-${process.pid}`, '--broker', broker.url, '--force']);
  t.equal(missing.code, 1, 'a queue that does not exist: exit 1');
  t.match(missing.stdout, `${q}: 0 messages purged`, 'after purging the others');
  t.match(missing.stderr, `celeriac: no such queue: no-such-queue-${process.pid}`);

  const noQueues = await runCli(t, ['purge', '--broker', broker.url, '-f']);
  t.equal(noQueues.code, 2, 'no -Q and no -A: bad usage');
  t.match(noQueues.stderr, /purge needs the queues: -Q/);
});

t.test('call -A with a task the app does not register: a warning (sent anyway), --strict refuses', async (t) => {
  const broker = await startTestBroker(t);
  const q = uniqueQueue('cli-unknown');
  const warned = await runCli(t, ['call', '-A', './tasks.mjs', 'tasks.ad', '-Q', q, '--broker', broker.url]);
  t.equal(warned.code, 0);
  t.match(warned.stdout.trim(), UUID, 'sent');
  t.equal(warned.stderr, "celeriac: warning: task 'tasks.ad' is not registered in ./tasks.mjs (did you mean 'tasks.add'?); sending it by name anyway (--strict refuses)\n");
  const strict = await runCli(t, ['call', '-A', './tasks.mjs', 'tasks.ad', '-Q', q, '--broker', broker.url, '--strict']);
  t.equal(strict.code, 1);
  t.equal(strict.stdout, '', 'nothing sent');
  t.match(strict.stderr, /^celeriac: no such task: task 'tasks\.ad' is not registered in \.\/tasks\.mjs \(did you mean 'tasks\.add'\?\); registered: .*tasks\.add/);
});

t.test('--help, per-command --help and --version exit 0', async (t) => {
  // Four independent child processes, two at a time: on a busy machine start-up is most of their time.
  const [help, workerHelp, callHelp, version] = await runCliPair(t, [['--help'], ['worker', '--help'], ['help', 'call'], ['--version']]);
  t.equal(help.code, 0);
  for (const c of ['worker', 'call', 'result', 'purge']) t.match(help.stdout, new RegExp(`^  ${c} `, 'm'));
  t.match(help.stdout, 'CELERIAC_BROKER');
  t.equal(workerHelp.code, 0);
  for (const flag of ['--queues', '--concurrency', '--pool', '--loglevel', '--hostname', '--prefetch-multiplier', '--max-tasks-per-child', 'CELERIAC_CONCURRENCY']) t.match(workerHelp.stdout, flag);
  t.equal(callHelp.code, 0);
  t.match(callHelp.stdout, /^Usage: celeriac call \[options\] <task-name>/);
  t.equal(version.code, 0);
  t.match(version.stdout, /^celeriac \d+\.\d+\.\d+\n$/);
});

t.test('flags from the environment: CELERIAC_APP, CELERIAC_QUEUES, CELERIAC_CONCURRENCY', async (t) => {
  const broker = await startTestBroker(t);
  const q = uniqueQueue('cli-env');
  const worker = await startWorker(t, [], { env: { CELERIAC_APP: './app-export.mjs', CELERIAC_BROKER: broker.url, CELERIAC_QUEUES: q, CELERIAC_CONCURRENCY: '3' } });
  t.match(worker.stdout(), 'concurrency: 3 (async)');
  t.match(worker.stdout(), '  . named.ping', 'the app export named `app` is found');
  const call = celeriac(t, ['call', 'named.ping', '-Q', q, '--wait', '-t', String(WAIT_MS)], { env: { CELERIAC_BROKER: broker.url } });
  const done = await finished(call);
  t.equal(done.code, 0, done.stderr);
  t.equal(lines(done.stdout)[1], '"pong"');
  worker.child.kill('SIGTERM');
  t.equal((await finished(worker)).code, 0);
});
