// The event-loop monitor without a broker: a busy-wait past the threshold is reported once it
// ends, with the task that started meanwhile (and finished before the next tick) named.
import t from 'tap';
import { LoopMonitor } from '../../client/worker/loop-monitor.js';
import { until } from '../helpers/wait.js';

const busy = (ms: number): void => {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* blocks the event loop */ }
};

t.test('a block longer than the threshold is reported with the tasks that ran in it', async (t) => {
  const reports: { ms: number; tasks: readonly string[] }[] = [];
  let running: string[] = ['tasks.long-running'];
  // A threshold well above the stalls a loaded machine gives any process (a tick is 100 ms), so a
  // busy CI box does not produce a report of its own.
  const monitor = new LoopMonitor({ thresholdMs: 400, running: () => running, onBlocked: (ms, tasks) => reports.push({ ms, tasks }) });
  t.teardown(() => monitor.stop());
  await new Promise((r) => setTimeout(r, 250)); // negative check: two ticks, nothing to report
  t.same(reports, [], 'no report without a block');
  running = [];
  monitor.started('tasks.blocker');
  busy(1_000);
  await until(() => reports.length > 0, 10_000, 'the report');
  t.ok(reports[0]!.ms > 400, `blocked past the threshold (${reports[0]!.ms} ms)`);
  t.same(reports[0]!.tasks, ['tasks.blocker', 'tasks.long-running'], 'the task started in the window and the one running before it');
  busy(50);
  await new Promise((r) => setTimeout(r, 250)); // negative check: two ticks after the short block
  t.equal(reports.length, 1, 'a block shorter than the threshold is not reported');
});
