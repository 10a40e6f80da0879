// `celeriac schedule`: add, list, pause, resume and remove round trip through the broker; a bad
// entry (a cron that does not parse) or a bad command line is one line on stderr and exit 2, and
// nothing is stored.
import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { lines, runAll, runCli } from './celeriac-helpers.js';

t.test('celeriac schedule: add, list, pause, resume, remove; a bad entry is one line, exit 2', async (t) => {
  const broker = await startTestBroker(t);
  const b = ['--broker', broker.url];
  const [add, every, bad, two] = await runAll([
    ['schedule', 'add', 'nightly', 'tasks.report', '--cron', '30 2 * * *', '--tz', 'Europe/Paris', '--args', '[1, "a"]', '-Q', 'reports', ...b],
    ['schedule', 'add', 'often', 'tasks.add', '--every', '10s', '--args', '[16, 16]', ...b],
    ['schedule', 'add', 'broken', 'tasks.add', '--cron', '61 * * * *', ...b],
    ['schedule', 'add', 'x', 'tasks.add', '--every', '1s', '--cron', '* * * * *', ...b],
  ].map((a) => () => runCli(t, a)));
  t.equal(add!.code, 0, add!.stderr);
  t.match(add!.stdout, /^schedule 'nightly' stored: tasks\.report .*30 2 \* \* \*.*; next run \d{4}-\d\d-\d\dT\d\d:30:00\.000Z\n$/);
  t.equal(every!.code, 0, every!.stderr);
  t.equal(bad!.code, 2);
  t.equal(lines(bad!.stderr).length, 1, `one line: ${bad!.stderr}`);
  t.match(bad!.stderr, /^celeriac: .*broken/, 'it names the entry');
  t.equal(two!.code, 2);
  t.match(two!.stderr, /exactly one of --every, --cron or --at/);

  const paused = await runCli(t, ['schedule', 'pause', 'often', ...b]);
  t.equal(paused.code, 0, paused.stderr);
  t.match(paused.stdout, /^schedule 'often' paused: .*\(paused\)\n$/);

  const [list, json] = await runAll([['schedule', 'list', ...b], ['schedule', 'list', '--json', ...b]].map((a) => () => runCli(t, a)));
  t.equal(list!.code, 0, list!.stderr);
  const rows = lines(list!.stdout);
  t.match(rows[0], /^NAME +TASK +SCHEDULE +NEXT RUN +LAST RUN +RUNS +PAUSED +SOURCE$/);
  t.match(rows[1], /^nightly +tasks\.report .+ +- +0 +no +api$/);
  t.match(rows[2], /^often +tasks\.add +every 10 s +\S+Z +- +0 +yes +api$/);
  t.equal(rows.length, 4, 'two entries, then the leader line: nothing bad was stored');
  t.equal(rows.at(-1), 'leader: none (no beat holds the lease)');
  const parsed = JSON.parse(json!.stdout) as { entries: { name: string; paused: boolean; entry: { args: unknown[]; options: { queue?: string } } }[] };
  t.same(parsed.entries.map((e) => [e.name, e.paused]), [['nightly', false], ['often', true]]);
  t.same(parsed.entries[0]!.entry.args, [1, 'a']);
  t.equal(parsed.entries[0]!.entry.options.queue, 'reports');

  const resumed = await runCli(t, ['schedule', 'resume', 'often', ...b]);
  t.match(resumed.stdout, /^schedule 'often' resumed: tasks\.add every 10 s; next run \S+Z\n$/);
  const removed = await runCli(t, ['schedule', 'remove', 'often', ...b]);
  t.equal(removed.stdout, "schedule 'often' removed\n");
  const again = await runCli(t, ['schedule', 'remove', 'often', ...b]);
  t.equal(again.code, 1);
  t.equal(again.stderr, "celeriac: no schedule entry named 'often'\n");
});
