// Beat on the seed's production pair, RabbitMQ + Redis (the app changed only in its two URLs): its
// entries, lease and fire log in Redis, its task messages through RabbitMQ. An interval entry's
// runs land as results in Redis; of two beats one leads and no scheduled time runs twice, and
// closing the leader hands over; app.schedules changes reach a running beat through the watch; a
// fire from a lost lease is refused ERR_STALE_LEASE; the state survives a beat restart (no time
// fired again). One RabbitMQ for the file; a Redis per test, so each has its own beat store.
// (Two `celeriac beat` processes with the leader SIGKILLed: test/cli/beat-redis.test.ts.)
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { Celeriac, type BeatFired, type SettingsInput, type TaskContext } from '../../client/index.js';
import { SCHEDULED_HEADER } from '../../client/beat/fire-message.js';
import { startRabbit } from '../helpers/rabbitmq.js';
import { redisCommands, startRedis, type TestRedis } from '../helpers/redis.js';
import { sleep, until, untilAsync } from '../helpers/wait.js';
import { beatOf, contiguous, explained, keptLog, timesOf } from './beat-helpers.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;
const rabbit = await startRabbit(t);
t.comment(`RabbitMQ booted in ${rabbit.bootMs()} ms`);

/** An app on RabbitMQ + `redis`, closed at teardown. */
function appOn(t: Test, redis: TestRedis, settings: SettingsInput = {}): Celeriac {
  const app = new Celeriac({ ...settings, broker: rabbit.url, resultBackend: redis.url });
  t.teardown(() => app.close());
  return app;
}

/**
 * A worker of `queue` running tasks.tick, which returns and records the scheduled time its message
 * was fired for (the beat_scheduled_at header): what actually ran, whatever the beats reported.
 */
async function tickWorker(t: Test, redis: TestRedis, queue: string): Promise<{ app: Celeriac; runs: number[] }> {
  const app = appOn(t, redis);
  const runs: number[] = [];
  app.task('tasks.tick', function (this: TaskContext) {
    const at = Date.parse(String(this.request.headers[SCHEDULED_HEADER]));
    runs.push(at);
    return at;
  });
  const worker = app.worker({ queues: [queue], log: () => undefined });
  t.teardown(() => worker.close({ force: true }));
  await worker.start();
  return { app, runs };
}

const tick = (queue: string, every: number) => ({ task: 'tasks.tick', schedule: every, missed: 'all' as const, options: { queue } });
const repeats = (xs: readonly number[]): number[] => xs.filter((x, i) => xs.indexOf(x) !== i);

t.test('an interval entry fires through RabbitMQ, a celeriac worker runs it, the results and the entry are in Redis', async (t) => {
  const redis = await startRedis(t);
  const queue = unique('beat-q');
  const name = unique('add');
  const app = appOn(t, redis, { beatSchedule: { [name]: { task: 'tasks.add', schedule: 300, args: [16, 16], options: { queue } } } });
  app.task('tasks.add', (a: number, b: number) => a + b);
  const worker = app.worker({ queues: [queue], log: () => undefined });
  t.teardown(() => worker.close({ force: true }));
  await worker.start();
  const kept = keptLog();
  const { beat, fired } = beatOf(t, app, { leaseTtl: 2_000, log: kept.log });
  await beat.start();
  await explained(t, kept, until(() => fired.length >= 3, 15_000, 'three fires'));
  const results = await Promise.all(fired.slice(0, 3).map((f) => app.asyncResult<number>(f.id).get({ timeout: 10_000 })));
  t.same(results, [32, 32, 32], 'each run sent [16, 16] to tasks.add and its result landed');
  const [meta] = await redisCommands(redis.port, [['GET', `celery-task-meta-${fired[0]!.id}`]]);
  t.match(JSON.parse(meta as string), { status: 'SUCCESS', result: 32 }, "in Celery's Redis key");
  t.ok(contiguous(timesOf(fired, name), 300), 'one fire per scheduled time, 300 ms apart');

  const list = await app.schedules.list();
  const entry = list.entries.find((e) => e.name === name)!;
  t.match(entry, { task: 'tasks.add', source: 'settings', paused: false });
  t.ok(entry.runCount >= 3, `run count kept in Redis (${entry.runCount})`);
  t.equal(list.leader?.holder, beat.holder, 'app.schedules shows the leading beat');
  const [hash] = await redisCommands(redis.port, [['HGET', `celeriac-beat-entry-${name}`, 'runCount'], ['HGET', 'celeriac-beat-lease-beat', 'holder']]);
  t.ok(Number(hash) >= 3, 'the entry is a hash in celeriac-beat-entry-<name>');
});

t.test('two beats: one leads and no scheduled time runs twice; closing the leader hands over; its old lease is stale', async (t) => {
  const redis = await startRedis(t);
  const queue = unique('beat-q');
  const name = unique('tick');
  const EVERY = 200;
  const { app: admin, runs } = await tickWorker(t, redis, queue);
  const settings = { beatSchedule: { [name]: tick(queue, EVERY) } };
  const a = beatOf(t, appOn(t, redis, settings), { leaseTtl: 1_000 });
  const b = beatOf(t, appOn(t, redis, settings), { leaseTtl: 1_000 });
  await Promise.all([a.beat.start(), b.beat.start()]);
  await until(() => a.fired.length + b.fired.length >= 5, 15_000, 'fires over several periods');
  t.ok(a.beat.leading !== b.beat.leading, 'exactly one leads');
  const [leader, follower] = a.beat.leading ? [a, b] : [b, a];
  t.equal(follower.fired.length, 0, 'the other fires nothing');
  const old = { holder: leader.beat.holder, epoch: leader.fired[0]!.epoch };

  const closedAt = Date.now();
  await leader.beat.close();
  await until(() => follower.beat.leading && follower.fired.length >= 3, 15_000, 'the other beat taking over and firing');
  t.comment(`took over ${Date.now() - closedAt} ms after the leader closed (lease ttl 1000 ms)`);
  t.ok(follower.fired[0]!.epoch > old.epoch, 'under a new epoch');

  // The old leader's lease, used again (a beat that was cut off and comes back): refused, nothing sent.
  const store = await admin.beatStore();
  const [rec] = (await store.listSchedules([name])).entries;
  const err = await store.fireSchedule({
    lease: 'beat', holder: old.holder, epoch: old.epoch, entry: name, revision: rec!.revision, scheduledAt: rec!.nextRunAt! + 3_600_000, nextRunAt: null,
    publishes: [{ exchange: '', routingKey: queue, body: Buffer.from('[[],{},{}]'), props: { contentType: 'application/json', headers: { task: 'tasks.tick', id: unique('stale'), [SCHEDULED_HEADER]: 'stale' } } }],
  }).then(() => undefined, (e: unknown) => e);
  t.match(err, { code: 'ERR_STALE_LEASE', details: { holder: old.holder, epoch: old.epoch, currentHolder: follower.beat.holder } });

  await follower.beat.close();
  const fired: BeatFired[] = [...leader.fired, ...follower.fired];
  await until(() => runs.length >= fired.length, 15_000, 'the worker running every fire');
  await sleep(300);
  t.same(repeats(runs), [], 'no scheduled time ran twice');
  t.equal(runs.length, fired.length, 'one run per fire (the stale one never ran)');
  t.ok(contiguous(runs, EVERY), `every scheduled time once across the hand-over: ${[...runs].sort((x, y) => x - y).map((x) => x - Math.min(...runs)).join(' ')}`);
});

t.test('app.schedules: upsert, pause, resume and remove reach a running beat through the watch', async (t) => {
  const redis = await startRedis(t);
  const queue = unique('beat-q');
  const { app: api, runs } = await tickWorker(t, redis, queue);
  const kept = keptLog();
  // maxInterval a minute: only the change push can wake the beat in time for these waits.
  const { beat, fired } = beatOf(t, appOn(t, redis), { maxInterval: 60_000, leaseTtl: 1_000, log: kept.log });
  await beat.start();
  await until(() => beat.leading, 5_000, 'the only beat leading');
  const name = unique('tick');
  await api.schedules.upsert(name, { task: 'tasks.tick', schedule: 150, options: { queue } });
  await explained(t, kept, until(() => timesOf(fired, name).length >= 3, 10_000, 'fires of the added entry'));

  await api.schedules.pause(name);
  const settled = (await api.schedules.list()).entries.find((e) => e.name === name)!.runCount;
  await sleep(600);
  t.equal((await api.schedules.list()).entries.find((e) => e.name === name)!.runCount, settled, 'no run while paused');
  t.equal(timesOf(fired, name).length, settled, 'the beat fired what Redis counted');

  const resumedAt = Date.now();
  await api.schedules.resume(name);
  await explained(t, kept, until(() => timesOf(fired, name).length >= settled + 2, 10_000, 'fires after the resume'));
  t.ok(timesOf(fired, name).slice(settled).every((at) => at >= resumedAt - 150), 'nothing from the paused stretch was sent');

  await api.schedules.upsert(name, { task: 'tasks.tick', schedule: 60_000, options: { queue } });
  const replaced = timesOf(fired, name).length;
  await sleep(450);
  t.ok(timesOf(fired, name).length <= replaced + 1, 'the new timing (a minute) is picked up at once');

  await api.schedules.remove(name);
  const atRemove = timesOf(fired, name).length;
  await sleep(450);
  t.equal(timesOf(fired, name).length, atRemove, 'a removed entry fires no more');
  t.same((await api.schedules.list()).entries, [], 'gone from Redis');
  await until(() => runs.length >= atRemove, 10_000, 'the worker running every fire');
  t.same(repeats(runs), [], 'no scheduled time ran twice');
});

t.test('beat state survives a beat restart: the next beat continues from the stored next run, nothing fired again', async (t) => {
  const redis = await startRedis(t);
  const queue = unique('beat-q');
  const name = unique('tick');
  const EVERY = 200;
  const { runs } = await tickWorker(t, redis, queue);
  const beatSchedule = { [name]: tick(queue, EVERY) };
  const first = beatOf(t, appOn(t, redis, { beatSchedule }), { leaseTtl: 1_000 });
  await first.beat.start();
  await until(() => timesOf(first.fired, name).length >= 3, 10_000, 'fires before the restart');
  await first.beat.close();
  const api = appOn(t, redis);
  const before = (await api.schedules.list()).entries.find((e) => e.name === name)!;
  t.equal(before.runCount, timesOf(first.fired, name).length, 'the count in Redis is what was fired');
  await sleep(2 * EVERY); // times fall due while no beat runs

  const kept = keptLog();
  const second = beatOf(t, appOn(t, redis, { beatSchedule }), { leaseTtl: 1_000, log: kept.log });
  await second.beat.start();
  t.same(kept.matching(/replaces/), [], 'the same settings replace nothing');
  await explained(t, kept, until(() => timesOf(second.fired, name).length >= 4, 10_000, 'fires after the restart'));
  await second.beat.close();
  t.equal(timesOf(second.fired, name)[0], before.nextRunAt!.getTime(), 'the first fire after the restart is the stored next run');
  t.ok(second.fired[0]!.epoch > first.fired[0]!.epoch, 'a new epoch (the first beat released its lease)');
  const all = [...timesOf(first.fired, name), ...timesOf(second.fired, name)];
  t.ok(contiguous(all, EVERY), `every scheduled time once, none fired again, none skipped: ${all.map((x) => x - all[0]!).join(' ')}`);
  await untilAsync(async () => runs.length >= all.length, 10_000, 'the worker running every fire');
  t.same(repeats(runs), [], 'no scheduled time ran twice');
});
