// `celeriac` errors as child processes: each names what was wrong in one line and exits non-zero
// (2 for bad usage, 1 when the broker or a task failed).
import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { closedPort, runAll, runCli } from './celeriac-helpers.js';

t.test('errors name what was wrong and exit non-zero', async (t) => {
  const broker = await startTestBroker(t);
  const port = await closedPort();
  const dead = `ws://127.0.0.1:${port}`;
  // Every command runs at once (a few at a time): each is its own process, none depends on another.
  const [noModule, noPackage, notApp, throws, debug, noApp, badJson, notArray, badKwargs, callDead, workerDead, envBroker, badUrl, badPool, badFlag, badCommand] = await runAll([
    () => runCli(t, ['worker', '-A', './no-such-tasks.mjs', '--broker', broker.url]),
    () => runCli(t, ['call', '-A', 'no-such-package-xyz', 'tasks.add', '--broker', broker.url]),
    () => runCli(t, ['worker', '-A', './not-an-app.mjs', '--broker', broker.url]),
    () => runCli(t, ['worker', '-A', './throws-on-load.mjs', '--broker', broker.url]),
    () => runCli(t, ['worker', '-A', './throws-on-load.mjs', '--broker', broker.url, '-l', 'debug']),
    () => runCli(t, ['worker', '--broker', broker.url]),
    () => runCli(t, ['call', 'tasks.add', '--args', '[2, 3', '--broker', broker.url]),
    () => runCli(t, ['call', 'tasks.add', '--args', '{"a": 1}', '--broker', broker.url]),
    () => runCli(t, ['call', 'tasks.add', '--kwargs', '[1]', '--broker', broker.url]),
    () => runCli(t, ['call', 'tasks.add', '--args', '[1, 2]', '--broker', dead]),
    // brokerConnectionMaxRetries 0: no start-up retry (worker-startup.test.ts covers the retries).
    () => runCli(t, ['worker', '-A', './startup-retry.mjs', '--broker', dead], { env: { BROKER_CONNECTION_MAX_RETRIES: '0' } }),
    () => runCli(t, ['result', 'x'], { env: { CELERIAC_BROKER: dead } }),
    () => runCli(t, ['call', 'tasks.add', '--broker', 'http://nope']),
    () => runCli(t, ['worker', '-A', './tasks.mjs', '--broker', broker.url, '--pool', 'prefork']),
    () => runCli(t, ['call', 'tasks.add', '--bogus']),
    () => runCli(t, ['wroker']),
  ]);

  t.equal(noModule.code, 2, 'no such module: exit 2');
  t.match(noModule.stderr, /^celeriac: no such module: \.\/no-such-tasks\.mjs \(looked for \/.*no-such-tasks\.mjs\)\n$/);
  t.equal(noModule.stdout, '', 'no banner');

  t.equal(noPackage.code, 2);
  t.match(noPackage.stderr, 'no such module: no-such-package-xyz', 'a bare name is tried as a file and as a package');
  t.match(noPackage.stderr, 'a package named no-such-package-xyz');

  t.equal(notApp.code, 2);
  t.match(notApp.stderr, /module \.\/not-an-app\.mjs \(.*not-an-app\.mjs\) has no Celeriac app: export it as the default export or as `app` \(exports found: default, tasks\)/);

  t.equal(throws.code, 2);
  t.match(throws.stderr, /cannot load app module \.\/throws-on-load\.mjs \(.*\): Error: fixture refuses to load/);
  t.notMatch(throws.stderr, /\n\s+at /, 'no stack without -l debug');
  t.match(debug.stderr, /\n\s+at /, '-l debug shows the stack');

  t.equal(noApp.code, 2);
  t.match(noApp.stderr, 'worker needs the app: -A/--app MODULE');

  t.equal(badJson.code, 2, 'bad --args JSON: exit 2');
  t.match(badJson.stderr, /^celeriac: --args is not valid JSON \(.*\): \[2, 3 \(see celeriac call --help\)\n$/);
  t.equal(notArray.code, 2);
  t.match(notArray.stderr, '--args must be a JSON array');
  t.equal(badKwargs.code, 2);
  t.match(badKwargs.stderr, '--kwargs must be a JSON object');

  t.equal(callDead.code, 1, 'broker unreachable: exit 1');
  t.equal(callDead.stdout, '');
  // After taskPublishRetryPolicy's retries: the task, the URL and the socket error in one line.
  t.match(callDead.stderr, new RegExp(`^celeriac: broker unreachable: cannot send task 'tasks\\.add' \\[[0-9a-f-]+\\]: cannot connect to ws://127\\.0\\.0\\.1:${port}/?: .*ECONNREFUSED.* \\(gave up after 3 retries: taskPublishRetryPolicy\\)\\n$`));

  t.equal(workerDead.code, 1);
  t.match(workerDead.stderr, `broker unreachable: cannot connect to ws://127.0.0.1:${port}`);
  t.equal(workerDead.stdout, '', 'no banner for a worker that cannot start');

  t.equal(envBroker.code, 1);
  t.match(envBroker.stderr, `ws://127.0.0.1:${port}`, 'CELERIAC_BROKER is read like --broker');

  t.equal(badUrl.code, 2);
  t.match(badUrl.stderr, "broker URL 'http://nope' must start with ws:// or wss://");

  t.equal(badPool.code, 2);
  t.match(badPool.stderr, "--pool expects async, threads, processes; got 'prefork'");

  t.equal(badFlag.code, 2);
  t.match(badFlag.stderr, /^celeriac: Unknown option '--bogus' \(see celeriac call --help\)\n$/);

  t.equal(badCommand.code, 2);
  t.match(badCommand.stderr, 'no such command: wroker (did you mean worker?)');
});
