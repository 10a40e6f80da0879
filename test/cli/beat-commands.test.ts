// `celeriac worker -B` runs a beat in the worker: the app's beatSchedule fires and the worker runs
// the tasks. `celeriac beat` stops cleanly on SIGTERM, releasing its lease. `celeriac schedule`
// add, list, pause, resume and remove round trip, and a bad entry is one line and exit 2.
import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';
import { celeriac, lines, runCli, uniqueQueue, waitForOutput, within, WAIT_MS } from './celeriac-helpers.js';

t.test('worker -B: the beat fires and the worker runs the tasks', async (t) => {
  const broker = await startTestBroker(t);
  const queue = uniqueQueue('beat-b');
  const run = celeriac(t, ['worker', '-A', './beat-tasks.mjs', '--broker', broker.url, '-Q', queue, '-B'], { env: { BEAT_QUEUE: queue, BEAT_EVERY_MS: '300' } });
  await waitForOutput(run, 'stdout', /\.> beat: +ON \(/, 'the banner saying beat ON');
  await waitForOutput(run, 'stderr', /beat: \S+ leads \(epoch \d+\)/, 'the embedded beat leading');
  const succeeded = (): number => lines(run.stderr()).filter((l) => /Task beat\.add\[[0-9a-f-]+\] succeeded in [\d.]+s: 32$/.test(l)).length;
  await until(() => succeeded() >= 2, WAIT_MS, 'two periodic runs succeeding');
  t.match(run.stderr(), /beat: fired 'tick' \(beat\.add\) for \S+Z \[[0-9a-f-]+\]/);
  run.child.kill('SIGTERM');
  const { code } = await within(run.exited, WAIT_MS, 'the worker stopping');
  t.equal(code, 0);
  t.match(run.stderr(), /released lease 'beat'/, 'the beat released its lease on shutdown');
});

t.test('celeriac beat: SIGTERM releases the lease and exits 0; a beat after it leads at once', async (t) => {
  const broker = await startTestBroker(t);
  const env = { BEAT_QUEUE: uniqueQueue('beat-stop'), BEAT_EVERY_MS: '60000' };
  const args = ['beat', '-A', './beat-tasks.mjs', '--broker', broker.url];
  const first = celeriac(t, args, { env });
  await waitForOutput(first, 'stdout', /celeriac beat v\S+ is starting\./, 'the banner');
  const led = await waitForOutput(first, 'stderr', /beat: \S+ leads \(epoch (\d+)\)/, 'leading');
  first.child.kill('SIGTERM');
  const { code } = await within(first.exited, WAIT_MS, 'the beat stopping');
  t.equal(code, 0);
  t.match(first.stderr(), /released lease 'beat'/);
  // Released, not left to expire: the next beat leads at its first attempt (default ttl 10 s).
  const second = celeriac(t, args, { env });
  const next = await waitForOutput(second, 'stderr', /beat: \S+ leads \(epoch (\d+)\)/, 'the next beat leading');
  t.ok(Number(next[1]) > Number(led[1]));
  t.notMatch(second.stderr(), /stands by/, 'it never had to wait for the lease');
});

t.test('celeriac schedule: add, list, pause, resume, remove; a bad entry is one line, exit 2', async (t) => {
  const broker = await startTestBroker(t);
  const b = ['--broker', broker.url];
  const add = await runCli(t, ['schedule', 'add', 'nightly', 'tasks.report', '--cron', '30 2 * * *', '--tz', 'Europe/Paris', '--args', '[1, "a"]', '-Q', 'reports', ...b]);
  t.equal(add.code, 0, add.stderr);
  t.match(add.stdout, /^schedule 'nightly' stored: tasks\.report .*30 2 \* \* \*.*; next run \d{4}-\d\d-\d\dT\d\d:30:00\.000Z\n$/);
  const every = await runCli(t, ['schedule', 'add', 'often', 'tasks.add', '--every', '10s', '--args', '[16, 16]', ...b]);
  t.equal(every.code, 0, every.stderr);

  const list = await runCli(t, ['schedule', 'list', ...b]);
  t.equal(list.code, 0, list.stderr);
  const rows = lines(list.stdout);
  t.match(rows[0], /^NAME +TASK +SCHEDULE +NEXT RUN +LAST RUN +RUNS +PAUSED +SOURCE$/);
  t.match(rows[1], /^nightly +tasks\.report .+ +- +0 +no +api$/);
  t.match(rows[2], /^often +tasks\.add .+ +- +0 +no +api$/);
  t.equal(rows.at(-1), 'leader: none (no beat holds the lease)');

  const paused = await runCli(t, ['schedule', 'pause', 'often', ...b]);
  t.equal(paused.code, 0, paused.stderr);
  t.match(paused.stdout, /^schedule 'often' paused: .*\(paused\)\n$/);
  const json = await runCli(t, ['schedule', 'list', '--json', ...b]);
  const parsed = JSON.parse(json.stdout) as { entries: { name: string; paused: boolean; entry: { args: unknown[]; options: { queue?: string } } }[] };
  t.same(parsed.entries.map((e) => [e.name, e.paused]), [['nightly', false], ['often', true]]);
  t.same(parsed.entries[0]!.entry.args, [1, 'a']);
  t.equal(parsed.entries[0]!.entry.options.queue, 'reports');

  t.equal((await runCli(t, ['schedule', 'resume', 'often', ...b])).code, 0);
  const removed = await runCli(t, ['schedule', 'remove', 'often', ...b]);
  t.equal(removed.stdout, "schedule 'often' removed\n");
  const again = await runCli(t, ['schedule', 'remove', 'often', ...b]);
  t.equal(again.code, 1);
  t.equal(again.stderr, "celeriac: no schedule entry named 'often'\n");

  const bad = await runCli(t, ['schedule', 'add', 'broken', 'tasks.add', '--cron', '61 * * * *', ...b]);
  t.equal(bad.code, 2);
  t.equal(lines(bad.stderr).length, 1, `one line: ${bad.stderr}`);
  t.match(bad.stderr, /^celeriac: .*broken/, 'it names the entry');
  const two = await runCli(t, ['schedule', 'add', 'x', 'tasks.add', '--every', '1s', '--cron', '* * * * *', ...b]);
  t.equal(two.code, 2);
  t.match(two.stderr, /exactly one of --every, --cron or --at/);
  const final = await runCli(t, ['schedule', 'list', '--json', ...b]);
  t.same((JSON.parse(final.stdout) as { entries: { name: string }[] }).entries.map((e) => e.name), ['nightly'], 'nothing bad was stored');
});

t.test('help lists beat and schedule', async (t) => {
  const help = await runCli(t, ['--help']);
  t.match(help.stdout, /\n {2}beat +send the app's periodic tasks/);
  t.match(help.stdout, /\n {2}schedule +list, add, remove, pause or resume/);
  const beatHelp = await runCli(t, ['beat', '--help']);
  t.match(beatHelp.stdout, /--max-interval DURATION/);
  t.match(beatHelp.stdout, /--lease-ttl DURATION/);
  const workerHelp = await runCli(t, ['worker', '--help']);
  t.match(workerHelp.stdout, /-B, --beat/);
});
