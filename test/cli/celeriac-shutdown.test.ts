// `celeriac worker` as a child process: warm and cold shutdown by signal, and the threads pool.
import t, { type Test } from 'tap';
import { connect } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { finished, lines, runCli, startWorker, uniqueQueue, waitForOutput, WAIT_MS, type Run } from './celeriac-helpers.js';

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
