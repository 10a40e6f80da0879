// `celeriac events` as a child process against a broker and a worker started here: --since prints
// the stored events (dump lines with their ids, or JSON), --types filters, the live stream goes on
// after the history until a signal, bad --since values are refused, and --help lists it.
import t, { type Test } from 'tap';
import { Celeriac } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';
import { celeriac, lines, runAll, runCli, waitForOutput, within, WAIT_MS } from './celeriac-helpers.js';

/** A broker, and a worker in this process that sends task events and has run add(2, 3) and a failing task. */
async function brokerWithHistory(t: Test) {
  const broker = await startTestBroker(t);
  const app = new Celeriac({ broker: broker.url, workerConcurrency: 2 });
  t.teardown(() => app.close());
  const add = app.task('cli.add', (a: number, b: number) => a + b);
  app.task('cli.boom', () => {
    throw new RangeError('out of range');
  });
  const worker = app.worker({ sendEvents: true, hostname: 'cli-ev@test', log: () => undefined });
  await worker.start();
  t.teardown(() => worker.close({ force: true }));
  const ok = await add.delay(2, 3);
  t.equal(await ok.get({ timeout: 5_000 }), 5);
  const bad = await app.sendTask('cli.boom', []);
  await bad.get({ timeout: 5_000, propagate: false });
  await until(() => broker.tasks.get(bad.id)?.state === 'FAILURE', 5_000, 'the failure stored');
  return { broker, app, add, okId: ok.id, badId: bad.id };
}

t.test('--since prints the stored events, one line each with its id, then --no-follow exits', async (t) => {
  const { broker, okId, badId } = await brokerWithHistory(t);
  const [dump, json, failed, fromTime] = await runAll([
    () => runCli(t, ['events', '--since', '0', '--no-follow', '--broker', broker.url]),
    () => runCli(t, ['events', '--since', '0', '--no-follow', '--json', '--broker', broker.url]),
    () => runCli(t, ['events', '--since', '0', '--no-follow', '--types', 'task-failed', '--broker', broker.url]),
    () => runCli(t, ['events', '--since', '10m', '--no-follow', '-t', 'task-succeeded', '--broker', broker.url]),
  ]);
  t.equal(dump.code, 0, dump.stderr);
  const out = lines(dump.stdout);
  t.match(out[0], /^#1 cli-ev@test \[\d{4}-\d\d-\d\dT[\d:.]+Z\] started: .*concurrency=2, .*pool=async/, 'worker-online, as celery events --dump names it');
  const received = out.find((l) => l.includes(`task received: cli.add(${okId}) args=[2, 3] kwargs={}`));
  t.ok(received, 'task received with the task, its args and kwargs');
  t.match(out.find((l) => l.includes(' task succeeded: ') && l.includes(okId)), /result=5, runtime=/);
  const failLine = out.find((l) => l.includes(' task failed: '));
  t.match(failLine, `cli.boom(${badId})`);
  t.match(failLine, /exception=RangeError: out of range, .*traceback="RangeError: out of range\\n {4}at /, 'the traceback kept on one line');
  const ids = out.map((l) => Number(/^#(\d+) /.exec(l)?.[1]));
  t.ok(ids.every((id, i) => Number.isInteger(id) && (i === 0 || id > ids[i - 1]!)), 'each line starts with its increasing event id');

  t.equal(json.code, 0, json.stderr);
  const objects = lines(json.stdout).map((l) => JSON.parse(l) as { id: number; event: { type: string; uuid?: string; result?: unknown } });
  // Heartbeats may differ (the runs overlap a worker's 2 s beat); the task events are the same.
  const taskIds = out.filter((l) => / task [a-z]+: /.test(l)).map((l) => Number(/^#(\d+) /.exec(l)?.[1]));
  t.same(objects.filter((o) => o.event.type.startsWith('task-')).map((o) => o.id), taskIds, 'the same task events as JSON');
  t.same(objects.find((o) => o.event.type === 'task-succeeded')?.event.result, 5);

  t.equal(failed.code, 0, failed.stderr);
  t.equal(lines(failed.stdout).length, 1, '--types task-failed: one line');
  t.match(failed.stdout, badId);
  t.equal(fromTime.code, 0, fromTime.stderr);
  t.equal(lines(fromTime.stdout).length, 1, '--since 10m: the one success of the last ten minutes');
});

t.test('without --no-follow: the history, then live events, until SIGINT (exit 0)', async (t) => {
  const { broker, add } = await brokerWithHistory(t);
  const run = celeriac(t, ['events', '--since', '0', '--broker', broker.url]);
  await waitForOutput(run, 'stdout', / task failed: /, 'the stored failure');
  const next = await add.delay(40, 2);
  await waitForOutput(run, 'stdout', new RegExp(`task succeeded: cli\\.add\\(${next.id}\\).*result=42`), 'the live success');
  const before = lines(run.stdout());
  const ids = before.map((l) => Number(/^#(\d+) /.exec(l)?.[1]));
  t.equal(new Set(ids).size, ids.length, 'no event printed twice');
  run.child.kill('SIGINT');
  const { code } = await within(run.exited, WAIT_MS, 'celeriac events exiting');
  t.equal(code, 0);
});

t.test('bad --since and --types values: exit 2 with the reason; events is in the help', async (t) => {
  const broker = await startTestBroker(t);
  const [word, ahead, type, noFollow, negative, help, own] = await runAll([
    () => runCli(t, ['events', '--since', 'yesterday', '--broker', broker.url]),
    () => runCli(t, ['events', '--since', '999999', '--no-follow', '--broker', broker.url]),
    () => runCli(t, ['events', '--types', 'task-exploded', '--broker', broker.url]),
    () => runCli(t, ['events', '--no-follow', '--broker', broker.url]),
    () => runCli(t, ['events', '--since=-5', '--broker', broker.url]),
    () => runCli(t, ['--help']),
    () => runCli(t, ['events', '--help']),
  ]);
  t.equal(word.code, 2);
  t.match(word.stderr, /--since expects an event id, a duration \(10m, 2h, 1d\) or an ISO 8601 time, got 'yesterday'/);
  t.equal(ahead.code, 2, 'a cursor beyond the newest id: the broker refuses it (ERR_INVALID_ARGUMENT)');
  t.match(ahead.stderr, /cursor 999999 is beyond the newest event id 0/);
  t.equal(type.code, 2);
  t.match(type.stderr, /no event type 'task-exploded'/);
  t.equal(noFollow.code, 2);
  t.match(noFollow.stderr, /--no-follow .* needs --since/);
  t.equal(negative.code, 2);
  t.match(help.stdout, /^ {2}events {4}/m);
  t.equal(own.code, 0);
  for (const flag of ['--since', '--types', '--json', '--no-follow']) t.match(own.stdout, flag);
});
