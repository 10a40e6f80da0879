// The real `celeriac` command as child processes against a broker started here: a worker and a
// producer round trip, and results (the other commands have their own celeriac-*.test.ts files).
import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { finished, lines, runCli, startWorker, uniqueQueue, waitForOutput, WAIT_MS } from './celeriac-helpers.js';

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
