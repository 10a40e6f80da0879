// A worker frozen (SIGSTOP) long enough for the broker to drop its connection gets nothing done
// twice when it resumes: its prefetched deliveries went to another worker, so it drops them instead
// of starting them, and the late-acked task it was running when frozen is reported lost, not
// succeeded (its redelivered copy owns the outcome).
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac } from '../../client/index.js';
import { startWorker, uniqueQueue, waitForOutput } from '../cli/celeriac-helpers.js';
import { startTestBroker } from '../helpers/broker.js';

const APP = './record-tasks.mjs';

t.test('SIGSTOP, redelivery to another worker, SIGCONT: the prefetched tasks run once, on the other worker', async (t) => {
  // A short heartbeat: the broker gives up on the frozen worker after about a second.
  const broker = await startTestBroker(t, { limits: { heartbeat: 400 } });
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-stopped-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const runs = join(dir, 'runs');
  const q = uniqueQueue('stopped');
  const app = new Celeriac({ broker: broker.url });
  t.teardown(() => app.close());

  // One task at a time, the rest prefetched.
  const a = await startWorker(t, ['-A', APP, '--broker', broker.url, '-Q', q, '-c', '1', '--prefetch-multiplier', '8', '-n', 'a@%h']);
  const running = await app.sendTask('record.run', [runs, 3_000], { queue: q });
  const prefetched = await Promise.all([1, 2, 3, 4, 5, 6].map(() => app.sendTask('record.run', [runs, 10], { queue: q })));
  // One queue, one consumer: they arrive in the order sent.
  await waitForOutput(a, 'stderr', new RegExp(`\\[${prefetched[5]!.id}\\] received`), 'worker A to receive all seven');
  for (const r of [running, ...prefetched]) t.match(a.stderr(), `[${r.id}] received`);
  const aPid = a.child.pid!;
  t.match(readFileSync(runs, 'utf8'), `${running.id} ${aPid}\n`, 'A started the first task; the others wait in its prefetch');
  a.child.kill('SIGSTOP');
  t.teardown(() => { a.child.kill('SIGCONT'); });

  // The broker drops A's connection and requeues its 7 deliveries; B runs them all.
  const b = await startWorker(t, ['-A', APP, '--broker', broker.url, '-Q', q, '-c', '2', '-n', 'b@%h']);
  const bPid = b.child.pid!;
  for (const r of [running, ...prefetched]) t.equal(await r.get({ timeout: 20_000 }), bPid, 'B ran it');

  a.child.kill('SIGCONT');
  await waitForOutput(a, 'stderr', /connection to the broker lost .*; reconnecting\. 6 prefetched task\(s\) dropped/, 'A to drop its stale prefetched deliveries');
  await waitForOutput(a, 'stderr', new RegExp(`\\[${running.id}\\]: delivery lost while it ran`), 'A to report the task it ran as lost');

  const byTask = new Map<string, string[]>();
  for (const line of readFileSync(runs, 'utf8').trim().split('\n')) {
    const [id, pid] = line.split(' ');
    byTask.set(id!, [...(byTask.get(id!) ?? []), pid!]);
  }
  for (const r of prefetched) t.same(byTask.get(r.id), [String(bPid)], `${r.id} ran once, on B`);
  // A was running this one when frozen: it ran on both (at least once), and only B's run counts.
  t.same(byTask.get(running.id), [String(aPid), String(bPid)], 'the running task ran on A, then again on B');
  t.notMatch(a.stderr(), /succeeded/, 'A reports nothing as succeeded');
  t.notMatch(a.stderr(), /could not be finished|ERROR/, 'nor as an error');
});
