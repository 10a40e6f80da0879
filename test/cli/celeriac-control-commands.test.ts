// `celeriac control revoke|terminate|rate-limit|shutdown` and the tables of `inspect` and `status`
// against one worker process: each action and the main tables as child processes, the other
// variants in process (main(), the same code without a node start-up each: the machine is shared).
import t from 'tap';
import { main } from '../../client/cli/celeriac.js';
import { Celeriac } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { untilAsync } from '../helpers/wait.js';
import { finished, lines, runAll, runCli, startWorker, uniqueQueue, waitForOutput } from './celeriac-helpers.js';

/** Runs `celeriac ...argv` in this process, its output collected. */
async function inProcess(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {}, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

/** `host` as a regular expression (its dots literal). */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

t.test('control and the inspect / status tables against one worker', async (t) => {
  const broker = await startTestBroker(t);
  const q = uniqueQueue('cli-ctl');
  const worker = await startWorker(t, ['-A', './tasks.mjs', '--broker', broker.url, '-Q', q, '-n', 'ctl-w1@%h', '-c', '2']);
  const host = /(ctl-w1@\S+) v/.exec(worker.stdout())![1]!;
  const h = literal(host);
  const app = new Celeriac({ broker: broker.url });
  t.teardown(() => app.close());

  const sleeper = await app.sendTask('tasks.sleep', [60_000], { queue: q });
  const later = await app.sendTask('tasks.add', [1, 2], { queue: q, countdown: 60_000 });
  await untilAsync(async () => ((await app.control.inspect({ destination: [host], timeout: 2_000 }).active())[host] ?? []).length === 1, 15_000, 'the sleep task running');

  const one = ['-d', host, '-t', '5s', '--broker', broker.url];
  const [[rateSet, revoked, active, status], [rateUnknown, registered, statusJson, stats]] = await Promise.all([
    runAll([
      () => runCli(t, ['control', 'rate-limit', 'tasks.add', '10/m', ...one]),
      () => runCli(t, ['control', 'revoke', later.id, '--broker', broker.url]),
      () => runCli(t, ['inspect', 'active', ...one]),
      () => runCli(t, ['status', ...one]),
    ]),
    runAll([
      () => inProcess(['control', 'rate_limit', 'tasks.nope', '5/s', '--json', ...one]),
      () => inProcess(['inspect', 'registered', ...one]),
      () => inProcess(['status', '--json', ...one]),
      () => inProcess(['inspect', 'stats', ...one]),
    ].map((job) => async () => { const r = await job(); return { code: r.code, stdout: r.out, stderr: r.err }; })),
  ]);

  t.equal(rateSet.code, 0, rateSet.stderr);
  t.equal(rateSet.stdout, `->  ${host}: OK\n    new rate limit set successfully\n`, 'the reply per worker, Celery\'s way');
  t.equal(rateUnknown.code, 1, 'an ERROR reply exits 1');
  t.strictSame(JSON.parse(rateUnknown.stdout), { [host]: { error: 'unknown task' } }, '--json: the replies by hostname (Celery\'s rate_limit spelling accepted)');

  t.equal(revoked.code, 0, revoked.stderr);
  t.equal(revoked.stdout, `tasks ${later.id} flagged as revoked\n`);
  t.equal(await later.state, 'REVOKED', 'the broker stored it at once, though nothing runs it yet');

  t.equal(active.code, 0, active.stderr);
  t.match(active.stdout, new RegExp(`^WORKER +ID +TASK +ARGS +RUNNING\\n${h} +${sleeper.id} +tasks\\.sleep +\\[60000\\] +\\d+s\\n\\n1 active task on 1 node\\.\\n$`), 'inspect active: a table row per task');
  t.equal(registered.code, 0, registered.stderr);
  t.strictSame(lines(registered.stdout).slice(0, 3).map((l) => l.split(/ +/)), [['WORKER', 'TASKS'], [host, 'tasks.add'], ['', 'tasks.echo']], 'inspect registered: the worker on its first row');
  t.equal(stats.code, 0, stats.stderr);
  t.match(lines(stats.stdout), [/^WORKER +POOL +CONCURRENCY +PREFETCH +PROCESSED +UPTIME +QUEUES$/, new RegExp(`^${h} +async +2 +8 +0 +\\d+s +${q}$`)]);
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, new RegExp(`^WORKER +STATUS +POOL +CONCURRENCY +PROCESSED +UPTIME +QUEUES\\n${h} +OK +async +2 +0 +\\d+s +${q}\\n\\n1 node online\\.\\n$`));
  t.equal(statusJson.code, 0, statusJson.stderr);
  t.match(JSON.parse(statusJson.stdout), { [host]: { status: 'OK', pool: 'async', concurrency: 2, processed: 0, queues: [q] } }, 'status --json: one object by hostname');

  const terminated = await runCli(t, ['control', 'terminate', sleeper.id, '--signal', 'KILL', '--broker', broker.url]);
  t.equal(terminated.code, 0, terminated.stderr);
  t.equal(terminated.stdout, `tasks ${sleeper.id} flagged as revoked; a worker running one stops it (SIGKILL)\n`);
  await waitForOutput(worker, 'stderr', new RegExp(`terminating task tasks\\.sleep\\[${sleeper.id}\\] \\(revoked, SIGKILL\\)`), 'the worker stopping the task');
  await untilAsync(async () => (await sleeper.state) === 'REVOKED', 10_000, 'the terminated task stored REVOKED');
  t.match(await app.control.inspect({ destination: [host], timeout: 5_000 }).stats(), { [host]: { rate_limits: { 'tasks.add': '10/m' } } }, 'the worker took the rate limit');

  const stop = await runCli(t, ['control', 'shutdown', ...one]);
  t.equal(stop.code, 0, stop.stderr);
  t.equal(stop.stdout, `->  ${host}: OK\n    shutting down\n`);
  t.equal((await finished(worker)).code, 0, 'the worker shut down (warm) and exited 0');

  // In process from here: nobody left to answer.
  const nobody = await inProcess(['control', 'shutdown', '-t', '300', '--broker', broker.url]);
  t.equal(nobody.code, 1);
  t.equal(nobody.err, 'Error: No nodes replied within time constraint\n');
  const noWorker = await inProcess(['control', 'rate-limit', 'tasks.add', '20/m', '-t', '300', '--broker', broker.url]);
  t.equal(noWorker.code, 0, 'the broker holds the rate: it took effect without a worker');
  t.equal(noWorker.out, 'rate limit of tasks.add set to 20/m in the broker; no worker replied (a worker reads it when it starts)\n');
});

t.test('bad usage exits 2 with one line; help lists the actions', async (t) => {
  const url = 'ws://127.0.0.1:9';
  const cases: Array<[string[], string]> = [
    [['control'], 'control needs an action: revoke, terminate, rate-limit, shutdown'],
    [['control', 'frob'], "control: no such action 'frob'; one of revoke, terminate, rate-limit, shutdown"],
    [['control', 'revoke'], 'control revoke needs the task ids'],
    [['control', 'terminate'], 'control terminate needs the task ids'],
    [['control', 'revoke', 'id1', '--signal', 'KILL'], '--signal goes with --terminate'],
    [['control', 'revoke', 'id1', '-d', 'w1@h'], '-d does not apply to revoke'],
    [['control', 'terminate', 'id1', '--signal', 'SIGNOPE'], "--signal expects a signal name such as SIGTERM or SIGKILL; got 'SIGNOPE'"],
    [['control', 'shutdown', '--terminate'], '--terminate goes with revoke, not shutdown'],
    [['control', 'shutdown', 'now'], 'control shutdown takes no arguments'],
    [['control', 'rate-limit', 'tasks.add'], 'control rate-limit needs TASK and RATE'],
    [['control', 'rate-limit', 'tasks.add', '10/x'], "RATE must be like 10/s, 100/m, 5/h or a number of tasks a second (0 = no limit); got '10/x'"],
    [['control', 'rate-limit', 'tasks.add', '10/s', 'more'], 'control rate-limit takes TASK and RATE; unexpected: more'],
  ];
  for (const [argv, message] of cases) {
    const r = await inProcess([...argv, '--broker', url]);
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.err, message);
    t.match(r.err, /\(see celeriac control --help\)\n$/);
    t.equal(r.err.split('\n').length, 2, 'one line');
  }
  const help = await inProcess(['control', '--help']);
  t.equal(help.code, 0);
  t.match(help.out, /^Usage: celeriac control \[options\] <revoke\|terminate\|rate-limit\|shutdown>/);
  for (const s of ['revoke ID...', 'terminate ID...', 'rate-limit TASK RATE', 'shutdown', '--terminate', '--signal SIG', '--destination', '--json']) t.match(help.out, s);
  const overall = await inProcess(['--help']);
  for (const c of ['control', 'queues', 'inspect', 'status']) t.match(overall.out, new RegExp(`^  ${c} `, 'm'));
  const queuesHelp = await inProcess(['help', 'queues']);
  t.equal(queuesHelp.code, 0);
  for (const s of ['list (default)', 'delete NAME', 'purge NAME...', '--if-empty', '--if-unused', '--vhost VHOST', '--json']) t.match(queuesHelp.out, s);
});
