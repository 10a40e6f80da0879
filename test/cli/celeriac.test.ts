// The real `celeriac` command as child processes against a broker started here: a worker and a
// producer round trip, results, purge, warm shutdown, and errors with their messages and exit codes.
import t, { type Test } from 'tap';
import { connect } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { celeriac, closedPort, finished, lines, runCli, startWorker, uniqueQueue, waitForOutput, WAIT_MS, type Run } from './celeriac-helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

t.test('worker + call --wait: the result comes back; result shows it; SIGTERM exits 0', async (t) => {
  const broker = await startTestBroker(t);
  const q = uniqueQueue('cli-rt');
  const worker = await startWorker(t, ['-A', './tasks.mjs', '--broker', broker.url, '-Q', q, '-c', '2', '-n', 'w1@%h']);
  const banner = worker.stdout();
  t.match(banner, /w1@\S+ v\d+\.\d+\.\d+/, 'the banner names the node and version');
  t.match(banner, `transport:   ${broker.url}`, 'and the broker');
  t.match(banner, 'concurrency: 2 (async)', 'concurrency and pool');
  t.match(banner, `.> ${q}`, 'the queue');
  t.match(banner, '  . tasks.add', 'and the registered tasks');

  const call = await runCli(t, ['call', 'tasks.add', '--args', '[2, 3]', '-Q', q, '--broker', broker.url, '--wait', '--timeout', String(WAIT_MS)]);
  t.equal(call.code, 0, `call exits 0: ${call.stderr}`);
  const [id, value] = lines(call.stdout);
  t.match(id, UUID, 'the task id first');
  t.equal(value, '5', 'then the result as JSON');
  t.equal(call.stderr, '');

  const result = await runCli(t, ['result', id!, '--broker', broker.url]);
  t.equal(result.code, 0);
  const shown = JSON.parse(result.stdout) as Record<string, unknown>;
  t.match(shown, { id, state: 'SUCCESS', result: 5, name: 'tasks.add' });
  t.type(shown['date_done'], 'string');

  const echo = await runCli(t, ['call', '-A', './tasks.mjs', 'tasks.echo', '-a', '["a", {"b": [1, null]}]', '-Q', q, '--broker', broker.url, '--wait', '-t', '20s']);
  t.equal(echo.code, 0, echo.stderr);
  t.strictSame(JSON.parse(lines(echo.stdout).slice(1).join('\n')), ['a', { b: [1, null] }], 'structured results print as JSON');

  const failed = await runCli(t, ['call', '-A', './tasks.mjs', 'tasks.fail', '--args', '["no good"]', '-Q', q, '--broker', broker.url, '--wait', '--timeout', String(WAIT_MS)]);
  t.equal(failed.code, 1, 'a failed task exits 1');
  t.match(failed.stdout.trim(), UUID, 'its id was printed');
  t.match(failed.stderr, /^celeriac: task tasks\.fail\[[0-9a-f-]+\] failed: TypeError: no good\n$/, 'with the remote error in one line');
  const failedId = lines(failed.stdout)[0]!;
  const tb = await runCli(t, ['result', failedId, '--broker', broker.url, '--traceback']);
  t.equal(tb.code, 0, 'a failed task is a state to show');
  const failedMeta = JSON.parse(tb.stdout) as { state: string; result: { exc_type: string }; traceback: string };
  t.equal(failedMeta.state, 'FAILURE');
  t.equal(failedMeta.result.exc_type, 'TypeError');
  t.match(failedMeta.traceback, /TypeError: no good/, '--traceback adds the remote stack');

  await waitForOutput(worker, 'stderr', /Task tasks\.add\[[0-9a-f-]+\] succeeded in [\d.]+s: 5/, 'the worker logging the success');
  worker.child.kill('SIGTERM');
  const done = await finished(worker);
  t.equal(done.code, 0, 'SIGTERM: exit 0 after a warm shutdown');
  t.match(done.stderr, /warm shutdown/);
});

t.test('result: an unknown id exits 1 with a clear message; --wait --timeout on a pending task exits 1', async (t) => {
  const broker = await startTestBroker(t);
  const unknown = await runCli(t, ['result', '00000000-0000-4000-8000-000000000000', '--broker', broker.url]);
  t.equal(unknown.code, 1);
  t.equal(unknown.stdout, '');
  t.equal(unknown.stderr, 'celeriac: no task with id 00000000-0000-4000-8000-000000000000 is known to the broker (never sent, expired or forgotten)\n');

  const waited = await runCli(t, ['result', 'nope', '--broker', broker.url, '--wait', '--timeout', '5s']);
  t.equal(waited.code, 1, '--wait on an unknown id does not hang');
  t.match(waited.stderr, 'no task with id nope is known');

  const q = uniqueQueue('cli-pending');
  const sent = await runCli(t, ['call', 'tasks.add', '--args', '[1, 1]', '-Q', q, '--broker', broker.url]);
  t.equal(sent.code, 0);
  const id = sent.stdout.trim();
  t.match(id, UUID, 'call without --wait prints only the id');
  const pending = await runCli(t, ['result', id, '--broker', broker.url]);
  t.equal(pending.code, 0);
  t.match(JSON.parse(pending.stdout), { id, state: 'PENDING', result: null });
  const timedOut = await runCli(t, ['result', id, '--broker', broker.url, '--wait', '--timeout', '200']);
  t.equal(timedOut.code, 1);
  t.match(timedOut.stderr, /not ready within 200 ms/);
});

/** A broker, a worker on a fresh queue loading `appModule`, and a tasks.sleep(ms) it has received. */
async function workerWithSleepingTask(t: Test, queuePrefix: string, appModule: string, ms: number): Promise<{ broker: { url: string }; worker: Run; id: string }> {
  const broker = await startTestBroker(t);
  const q = uniqueQueue(queuePrefix);
  const worker = await startWorker(t, ['-A', appModule, '--broker', broker.url, '-Q', q]);
  const sent = await runCli(t, ['call', 'tasks.sleep', '--args', `[${ms}]`, '-Q', q, '--broker', broker.url]);
  const id = sent.stdout.trim();
  await waitForOutput(worker, 'stderr', new RegExp(`Task tasks\\.sleep\\[${id}\\] received`), 'the task being received');
  return { broker, worker, id };
}

t.test('worker SIGTERM while a task runs: the task finishes, its result is stored, exit 0', async (t) => {
  const { broker, worker, id } = await workerWithSleepingTask(t, 'cli-warm', 'tasks', 800);
  worker.child.kill('SIGTERM');
  const done = await finished(worker);
  t.equal(done.code, 0, 'exit 0');
  t.match(done.stderr, new RegExp(`Task tasks\\.sleep\\[${id}\\] succeeded`), 'the running task finished before the exit');
  t.match(done.stderr, /stopped \(warm\)/);
  const conn = await connect(broker.url, { reconnect: false });
  t.teardown(() => conn.close());
  const rec = await conn.getResult(id);
  t.equal(rec?.state, 'SUCCESS', 'and its result was stored');
});

t.test('worker: a second SIGTERM is a cold shutdown, the running task is stopped, exit 0', async (t) => {
  const { worker } = await workerWithSleepingTask(t, 'cli-cold', './tasks.mjs', 60_000);
  worker.child.kill('SIGTERM');
  await waitForOutput(worker, 'stderr', /warm shutdown/, 'the warm shutdown starting');
  worker.child.kill('SIGTERM');
  const done = await finished(worker);
  t.equal(done.code, 0, 'exit 0 without waiting for the 60 s task');
  t.match(done.stderr, /cold shutdown/);
  t.notMatch(done.stderr, /succeeded/, 'the task did not finish');
});

t.test('worker --pool threads loads the module in each runner', async (t) => {
  const broker = await startTestBroker(t);
  const q = uniqueQueue('cli-threads');
  const worker = await startWorker(t, ['-A', './tasks.mjs', '--broker', broker.url, '-Q', q, '-c', '2', '--pool', 'threads', '--max-tasks-per-child', '5']);
  t.match(worker.stdout(), 'concurrency: 2 (threads)');
  const call = await runCli(t, ['call', 'tasks.add', '--args', '[20, 22]', '-Q', q, '--broker', broker.url, '--wait', '--timeout', String(WAIT_MS)]);
  t.equal(call.code, 0, call.stderr);
  t.equal(lines(call.stdout)[1], '42');
  worker.child.kill('SIGINT');
  t.equal((await finished(worker)).code, 0, 'SIGINT: exit 0');
});

t.test('purge: refuses without -f (exit 2), purges with it and prints the counts', async (t) => {
  const broker = await startTestBroker(t);
  const q = uniqueQueue('cli-purge');
  for (let i = 0; i < 3; i++) {
    const sent = await runCli(t, ['call', 'tasks.add', '--args', `[${i}, 1]`, '-Q', q, '--broker', broker.url]);
    t.equal(sent.code, 0, sent.stderr);
  }
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

t.test('errors name what was wrong and exit non-zero', async (t) => {
  const broker = await startTestBroker(t);
  const port = await closedPort();
  const dead = `ws://127.0.0.1:${port}`;

  const noModule = await runCli(t, ['worker', '-A', './no-such-tasks.mjs', '--broker', broker.url]);
  t.equal(noModule.code, 2, 'no such module: exit 2');
  t.match(noModule.stderr, /^celeriac: no such module: \.\/no-such-tasks\.mjs \(looked for \/.*no-such-tasks\.mjs\)\n$/);
  t.equal(noModule.stdout, '', 'no banner');

  const noPackage = await runCli(t, ['call', '-A', 'no-such-package-xyz', 'tasks.add', '--broker', broker.url]);
  t.equal(noPackage.code, 2);
  t.match(noPackage.stderr, 'no such module: no-such-package-xyz', 'a bare name is tried as a file and as a package');
  t.match(noPackage.stderr, 'a package named no-such-package-xyz');

  const notApp = await runCli(t, ['worker', '-A', './not-an-app.mjs', '--broker', broker.url]);
  t.equal(notApp.code, 2);
  t.match(notApp.stderr, /module \.\/not-an-app\.mjs \(.*not-an-app\.mjs\) has no Celeriac app: export it as the default export or as `app` \(exports found: default, tasks\)/);

  const throws = await runCli(t, ['worker', '-A', './throws-on-load.mjs', '--broker', broker.url]);
  t.equal(throws.code, 2);
  t.match(throws.stderr, /cannot load app module \.\/throws-on-load\.mjs \(.*\): Error: fixture refuses to load/);
  t.notMatch(throws.stderr, /\n\s+at /, 'no stack without -l debug');
  const debug = await runCli(t, ['worker', '-A', './throws-on-load.mjs', '--broker', broker.url, '-l', 'debug']);
  t.match(debug.stderr, /\n\s+at /, '-l debug shows the stack');

  const noApp = await runCli(t, ['worker', '--broker', broker.url]);
  t.equal(noApp.code, 2);
  t.match(noApp.stderr, 'worker needs the app: -A/--app MODULE');

  const badJson = await runCli(t, ['call', 'tasks.add', '--args', '[2, 3', '--broker', broker.url]);
  t.equal(badJson.code, 2, 'bad --args JSON: exit 2');
  t.match(badJson.stderr, /^celeriac: --args is not valid JSON \(.*\): \[2, 3 \(see celeriac call --help\)\n$/);
  const notArray = await runCli(t, ['call', 'tasks.add', '--args', '{"a": 1}', '--broker', broker.url]);
  t.equal(notArray.code, 2);
  t.match(notArray.stderr, '--args must be a JSON array');
  const badKwargs = await runCli(t, ['call', 'tasks.add', '--kwargs', '[1]', '--broker', broker.url]);
  t.equal(badKwargs.code, 2);
  t.match(badKwargs.stderr, '--kwargs must be a JSON object');

  const callDead = await runCli(t, ['call', 'tasks.add', '--args', '[1, 2]', '--broker', dead]);
  t.equal(callDead.code, 1, 'broker unreachable: exit 1');
  t.equal(callDead.stdout, '');
  // After taskPublishRetryPolicy's retries: the task, the URL and the socket error in one line.
  t.match(callDead.stderr, new RegExp(`^celeriac: broker unreachable: cannot send task 'tasks\\.add' \\[[0-9a-f-]+\\]: cannot connect to ws://127\\.0\\.0\\.1:${port}/?: .*ECONNREFUSED.* \\(gave up after 3 retries: taskPublishRetryPolicy\\)\\n$`));

  // brokerConnectionMaxRetries 0: no start-up retry (worker-startup.test.ts covers the retries).
  const workerDead = await runCli(t, ['worker', '-A', './startup-retry.mjs', '--broker', dead], { env: { BROKER_CONNECTION_MAX_RETRIES: '0' } });
  t.equal(workerDead.code, 1);
  t.match(workerDead.stderr, `broker unreachable: cannot connect to ws://127.0.0.1:${port}`);
  t.equal(workerDead.stdout, '', 'no banner for a worker that cannot start');

  const envBroker = await runCli(t, ['result', 'x'], { env: { CELERIAC_BROKER: dead } });
  t.equal(envBroker.code, 1);
  t.match(envBroker.stderr, `ws://127.0.0.1:${port}`, 'CELERIAC_BROKER is read like --broker');

  const badUrl = await runCli(t, ['call', 'tasks.add', '--broker', 'http://nope']);
  t.equal(badUrl.code, 2);
  t.match(badUrl.stderr, "broker URL 'http://nope' must start with ws:// or wss://");

  const badPool = await runCli(t, ['worker', '-A', './tasks.mjs', '--broker', broker.url, '--pool', 'prefork']);
  t.equal(badPool.code, 2);
  t.match(badPool.stderr, "--pool expects async, threads, processes; got 'prefork'");

  const badFlag = await runCli(t, ['call', 'tasks.add', '--bogus']);
  t.equal(badFlag.code, 2);
  t.match(badFlag.stderr, /^celeriac: Unknown option '--bogus' \(see celeriac call --help\)\n$/);

  const badCommand = await runCli(t, ['wroker']);
  t.equal(badCommand.code, 2);
  t.match(badCommand.stderr, 'no such command: wroker (did you mean worker?)');
});

t.test('--help, per-command --help and --version exit 0', async (t) => {
  const help = await runCli(t, ['--help']);
  t.equal(help.code, 0);
  for (const c of ['worker', 'call', 'result', 'purge']) t.match(help.stdout, new RegExp(`^  ${c} `, 'm'));
  t.match(help.stdout, 'CELERIAC_BROKER');
  const workerHelp = await runCli(t, ['worker', '--help']);
  t.equal(workerHelp.code, 0);
  for (const flag of ['--queues', '--concurrency', '--pool', '--loglevel', '--hostname', '--prefetch-multiplier', '--max-tasks-per-child', 'CELERIAC_CONCURRENCY']) t.match(workerHelp.stdout, flag);
  const callHelp = await runCli(t, ['help', 'call']);
  t.equal(callHelp.code, 0);
  t.match(callHelp.stdout, /^Usage: celeriac call \[options\] <task-name>/);
  const version = await runCli(t, ['--version']);
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
