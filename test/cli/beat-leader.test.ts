// Two real `celeriac beat` processes on one broker, an entry every 300 ms, a 1.5 s lease: exactly
// one leads and fires, the other stands by; SIGKILL the leader and the other takes over (within
// the lease ttl) and continues from the stored state. Every scheduled time from the first fire to
// the last is published exactly once, as read from the task messages in the queue.
import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { publishedTimes, contiguous } from '../beat/beat-helpers.js';
import { until } from '../helpers/wait.js';
import { celeriac, uniqueQueue, waitForOutput, within, WAIT_MS } from './celeriac-helpers.js';

const EVERY = 300;
const fires = (text: string): number => text.split('\n').filter((l) => / beat: fired 'tick' \(beat\.add\) for /.test(l)).length;

t.test('two beats: one leads, no double fire; SIGKILL the leader and the other takes over', async (t) => {
  const broker = await startTestBroker(t);
  const queue = uniqueQueue('beat-lead');
  const env = { BEAT_QUEUE: queue, BEAT_EVERY_MS: String(EVERY) };
  const args = ['beat', '-A', './beat-tasks.mjs', '--broker', broker.url, '--lease-ttl', '1.5s', '-l', 'info'];

  const one = celeriac(t, args, { env });
  const lead = await waitForOutput(one, 'stderr', /beat: (\S+) leads \(epoch (\d+)\)/, 'the first beat leading');
  const two = celeriac(t, args, { env });
  await waitForOutput(two, 'stderr', new RegExp(`beat: ${lead[1]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} leads \\(epoch ${lead[2]}\\); \\S+ stands by`), 'the second standing by');
  await until(() => fires(one.stderr()) >= 4, WAIT_MS, 'the leader firing');
  t.equal(fires(two.stderr()), 0, 'the beat standing by fires nothing');
  t.notMatch(two.stderr(), / leads \(epoch \d+\)$/m, 'and never led');

  const killedAt = Date.now();
  one.child.kill('SIGKILL');
  await within(one.exited, WAIT_MS, 'the leader dying');
  const took = await waitForOutput(two, 'stderr', /beat: (\S+) leads \(epoch (\d+)\)$/m, 'the second beat taking over');
  t.comment(`took over ${Date.now() - killedAt} ms after the SIGKILL (lease ttl 1500 ms)`);
  t.ok(Number(took[2]) > Number(lead[2]), 'under a new epoch');
  await until(() => fires(two.stderr()) >= 4, WAIT_MS, 'the new leader firing');

  two.child.kill('SIGTERM');
  const { code } = await within(two.exited, WAIT_MS, 'the second beat stopping');
  t.equal(code, 0, 'SIGTERM: a clean exit');
  t.match(two.stderr(), /released lease 'beat'/, 'it released its lease');

  const times = await publishedTimes(broker.url, queue, 'tick');
  t.ok(times.length >= fires(one.stderr()) + fires(two.stderr()), 'every logged fire was published');
  t.ok(contiguous(times, EVERY), `each scheduled time exactly once, none skipped across the takeover: ${times.map((x) => x - times[0]!).join(' ')}`);
});

t.test('a leader frozen past its lease (SIGSTOP, as a long GC pause) stops firing when it wakes', async (t) => {
  const broker = await startTestBroker(t);
  const queue = uniqueQueue('beat-stop');
  const env = { BEAT_QUEUE: queue, BEAT_EVERY_MS: String(EVERY) };
  const args = ['beat', '-A', './beat-tasks.mjs', '--broker', broker.url, '--lease-ttl', '1s', '-l', 'info'];
  const one = celeriac(t, args, { env });
  await waitForOutput(one, 'stderr', /beat: \S+ leads \(epoch \d+\)$/m, 'the first beat leading');
  const two = celeriac(t, args, { env });
  await waitForOutput(two, 'stderr', /stands by/, 'the second standing by');
  await until(() => fires(one.stderr()) >= 2, WAIT_MS, 'the leader firing');

  one.child.kill('SIGSTOP');
  t.teardown(() => { one.child.kill('SIGCONT'); });
  await waitForOutput(two, 'stderr', /beat: \S+ leads \(epoch \d+\)$/m, 'the second beat taking over');
  await until(() => fires(two.stderr()) >= 2, WAIT_MS, 'the new leader firing');
  const firedBefore = fires(one.stderr());
  one.child.kill('SIGCONT');
  // Awake, its own clock says the lease ran out: it stands by instead of firing on.
  await waitForOutput(one, 'stderr', /is no longer the leader|lost the lease/, 'the woken beat giving up');
  await waitForOutput(one, 'stderr', /stands by\n[\s\S]*leads \(epoch \d+\); \S+ stands by/, 'and following the new leader');
  await until(() => fires(two.stderr()) >= 5, WAIT_MS, 'the new leader firing on');
  t.equal(fires(one.stderr()), firedBefore, 'the woken beat fired nothing more');

  for (const run of [one, two]) run.child.kill('SIGTERM');
  await within(Promise.all([one.exited, two.exited]), WAIT_MS, 'both beats stopping');
  const times = await publishedTimes(broker.url, queue, 'tick');
  t.ok(contiguous(times, EVERY), `each scheduled time exactly once: ${times.map((x) => x - times[0]!).join(' ')}`);
});
