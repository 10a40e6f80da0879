// End to end on the real clock: a beat and a real worker; an entry every 400 ms sends tasks.add
// with the entry's args, the worker runs each and the results land, PENDING first as for sendTask.
// Then two beats on one broker: one leads, fires are not duplicated, and closing the leader
// hands over at once (the lease is released) with every scheduled time fired once.
import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';
import { appOn, beatOf, contiguous, keptLog, publishedTimes, timesOf, unique } from './beat-helpers.js';

t.test('beat + worker on the real clock: the results land', async (t) => {
  const broker = await startTestBroker(t);
  const queue = unique('beat-q');
  const name = 'add-every-400ms';
  const app = appOn(t, broker.url, { beatSchedule: { [name]: { task: 'tasks.add', schedule: 400, args: [16, 16], options: { queue } } } });
  app.task('tasks.add', (a: number, b: number) => a + b);
  const worker = app.worker({ queues: [queue], log: () => {} });
  await worker.start();
  t.teardown(() => worker.close());
  const kept = keptLog();
  const { beat, fired } = beatOf(t, app, { log: kept.log });
  await beat.start();
  await until(() => fired.length >= 3, 10_000, 'three fires');
  const results = await Promise.all(fired.slice(0, 3).map((f) => app.asyncResult<number>(f.id).get({ timeout: 10_000 })));
  t.same(results, [32, 32, 32], 'each run sent [16, 16] to tasks.add and its result landed');
  t.ok(contiguous(timesOf(fired, name), 400), 'one fire per scheduled time, 400 ms apart');
  t.equal(kept.matching(/leads \(epoch \d+\)/).length, 1, 'the log says who leads');
});

t.test('two beats on one broker: one fires; closing the leader hands over at once', async (t) => {
  const broker = await startTestBroker(t);
  const queue = unique('beat-q');
  const name = unique('tick');
  const settings = { beatSchedule: { [name]: { task: 'tasks.tick', schedule: 150, options: { queue } } } };
  const a = beatOf(t, appOn(t, broker.url, settings), { leaseTtl: 1_000 });
  const b = beatOf(t, appOn(t, broker.url, settings), { leaseTtl: 1_000 });
  await a.beat.start();
  await b.beat.start();
  await until(() => a.fired.length + b.fired.length >= 4, 10_000, 'fires');
  t.ok(a.beat.leading !== b.beat.leading, 'exactly one leads');
  const [leader, follower] = a.beat.leading ? [a, b] : [b, a];
  t.equal(follower.fired.length, 0, 'the other fires nothing');
  await leader.beat.close();
  await until(() => follower.beat.leading && follower.fired.length >= 3, 10_000, 'the other beat taking over and firing');
  await follower.beat.close();
  const times = await publishedTimes(broker.url, queue, name);
  t.equal(times.length, leader.fired.length + follower.fired.length, 'one message per fire');
  t.ok(contiguous(times, 150), `every scheduled time once across the hand-over: ${times.map((x) => x - times[0]!).join(' ')}`);
  t.ok(follower.fired[0]!.epoch > leader.fired[0]!.epoch, 'the new leader fires under a new epoch');
});
