// `celeriac worker -B` runs a beat in the worker: the app's beatSchedule fires and the worker runs
// the tasks. `celeriac beat` stops cleanly on SIGTERM, releasing its lease. --help lists both.
import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';
import { celeriac, lines, runAll, runCli, uniqueQueue, waitForOutput, within, WAIT_MS } from './celeriac-helpers.js';

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

t.test('help lists beat and schedule', async (t) => {
  const [help, beatHelp, workerHelp, scheduleHelp] = await runAll([['--help'], ['beat', '--help'], ['worker', '--help'], ['schedule', '--help']].map((a) => () => runCli(t, a)));
  t.match(help!.stdout, /\n {2}beat +send the app's periodic tasks/);
  t.match(help!.stdout, /\n {2}schedule +list, add, remove, pause or resume/);
  t.match(beatHelp!.stdout, /--max-interval DURATION/);
  t.match(beatHelp!.stdout, /--lease-ttl DURATION/);
  t.match(workerHelp!.stdout, /-B, --beat/);
  t.match(scheduleHelp!.stdout, /add NAME TASK/);
  t.match(scheduleHelp!.stdout, /--every DURATION/);
});
