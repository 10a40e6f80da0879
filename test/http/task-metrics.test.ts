// /metrics end to end for tasks: a real worker runs tasks that succeed, fail, retry and one that is
// revoked, with task events off; the scrape counts each outcome by task name and the run times.
// Also: the per-vhost cap on task names, and the time publishers spend blocked by a watermark.
import t, { type Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { connect, type TaskContext } from '../../client/index.js';
import { DEFAULT_MAX_TASK_NAMES, OTHER_TASK, TaskStats } from '../../server/engine/task-stats.js';
import type { Broker } from '../../server/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { parseExposition, scrape } from '../helpers/prometheus.js';
import { until, untilAsync } from '../helpers/wait.js';
import { taskEnv } from '../tasks/task-helpers.js';

const WAIT_MS = 15_000;

async function samplesOf(t: Test, broker: Broker): Promise<Map<string, number>> {
  return parseExposition(t, (await scrape(broker)).text).samples;
}

/** Scrapes until `ok` holds of the samples (bounded), then returns them. */
async function scrapeUntil(t: Test, broker: Broker, ok: (s: Map<string, number>) => boolean, what: string): Promise<Map<string, number>> {
  let last = new Map<string, number>();
  await untilAsync(async () => ok((last = await samplesOf(t, broker))), WAIT_MS, what);
  return last;
}

t.test('outcomes and run times by task name, from the workers\' finishes, with task events off', async (t) => {
  const { broker, app, startWorker } = await taskEnv(t, { workerSendTaskEvents: false });
  const tag = randomUUID().slice(0, 8);
  const names = { ok: `metrics.ok-${tag}`, boom: `metrics.boom-${tag}`, flaky: `metrics.flaky-${tag}`, revoked: `metrics.revoked-${tag}` };
  const ok = app.task(names.ok, (n: number) => n * 2);
  const boom = app.task(names.boom, () => {
    throw new Error('boom');
  });
  const flaky = app.task(names.flaky, function (this: TaskContext) {
    if (this.retries === 0) this.retry({ countdown: 5 });
    return 'second time';
  });
  const revoked = app.task(names.revoked, () => 'never');

  // Revoked before any worker runs: the broker drops its message instead of handing it out.
  const r = await revoked.delay();
  await (await app.connection()).revoke(r.id);
  await startWorker(app);
  const oks = await Promise.all([1, 2, 3].map((n) => ok.delay(n)));
  const failed = await boom.delay();
  const retried = await flaky.delay();
  t.same(await Promise.all(oks.map((x) => x.get({ timeout: WAIT_MS }))), [2, 4, 6]);
  await t.rejects(failed.get({ timeout: WAIT_MS }), /boom/);
  t.equal(await retried.get({ timeout: WAIT_MS }), 'second time');
  await t.rejects(r.get({ timeout: 1_000 }), { code: 'ERR_TASK_REVOKED' });

  const total = (task: string, outcome: string): string => `celeriac_tasks_total{vhost="/",task="${task}",outcome="${outcome}"}`;
  const s = await scrapeUntil(t, broker, (s) => s.get(total(names.revoked, 'revoked')) === 1 && s.get(total(names.flaky, 'succeeded')) === 1, 'every outcome counted');
  t.equal(s.get(total(names.ok, 'succeeded')), 3);
  t.equal(s.get(total(names.ok, 'failed')), 0);
  t.equal(s.get(total(names.boom, 'failed')), 1);
  t.equal(s.get(total(names.boom, 'succeeded')), 0);
  t.equal(s.get(total(names.flaky, 'retried')), 1);
  t.equal(s.get(total(names.flaky, 'succeeded')), 1);
  t.equal(s.get(total(names.revoked, 'revoked')), 1);
  t.equal(s.get(total(names.revoked, 'succeeded')), 0, 'the revoked one never ran');

  const runtime = (task: string, part: string): string => `celeriac_task_runtime_seconds_${part}{vhost="/",task="${task}"}`;
  t.equal(s.get(runtime(names.ok, 'count')), 3, 'one run time per run');
  t.equal(s.get(`celeriac_task_runtime_seconds_bucket{vhost="/",task="${names.ok}",le="+Inf"}`), 3);
  t.ok(s.get(runtime(names.ok, 'sum'))! >= 0);
  t.equal(s.get(runtime(names.boom, 'count')), 1, 'failed runs are timed');
  t.equal(s.get(runtime(names.flaky, 'count')), 2, 'the retried run and the one that succeeded');
  t.notOk(s.has(runtime(names.revoked, 'count')), 'a task that never ran has no run time');
  t.equal(broker.tasks.get(oks[0]!.id), null, 'no task events reached the broker: the finishes were the source');
});

t.test('a task revoked while a worker holds it unstarted counts as revoked once, from the worker\'s finish', async (t) => {
  const { broker, app, startWorker } = await taskEnv(t, { workerSendTaskEvents: false });
  const tag = randomUUID().slice(0, 8);
  const queue = `metrics-held-${tag}`;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const blocker = app.task(`metrics.blocker-${tag}`, () => gate.then(() => 'released'), { queue });
  const held = app.task(`metrics.held-${tag}`, () => 'ran', { queue });
  // One slot and a prefetch of two: the second task waits in the worker while the first runs.
  const w = await startWorker(app, { queues: [queue], concurrency: 1, prefetchMultiplier: 2 });
  const b = await blocker.delay();
  await until(() => w.activeJobs().length === 1, WAIT_MS, 'the blocker to start');
  const h = await held.delay();
  const q = `{vhost="/",queue="${queue}"}`;
  await scrapeUntil(t, broker, (s) => s.get(`celeriac_queue_messages_ready${q}`) === 0 && s.get(`celeriac_queue_messages_unacked${q}`) === 1, 'the worker to hold the second task');
  await (await app.connection()).revoke(h.id);
  release();
  t.equal(await b.get({ timeout: WAIT_MS }), 'released');
  await t.rejects(h.get({ timeout: WAIT_MS }), { code: 'ERR_TASK_REVOKED' });
  const total = (task: string, outcome: string): string => `celeriac_tasks_total{vhost="/",task="${task}",outcome="${outcome}"}`;
  const s = await scrapeUntil(t, broker, (s) => s.get(total(`metrics.held-${tag}`, 'revoked')) === 1, 'the revoked outcome');
  t.equal(s.get(total(`metrics.held-${tag}`, 'succeeded')), 0, 'it never ran');
  t.equal(s.get(total(`metrics.blocker-${tag}`, 'succeeded')), 1);
  const again = await samplesOf(t, broker);
  t.equal(again.get(total(`metrics.held-${tag}`, 'revoked')), 1, 'counted once (the revoke itself counts nothing)');
});

t.test('task names past the per-vhost cap are counted as task="other"', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await connect(broker.url, { reconnect: false });
  t.teardown(() => conn.close());
  const extra = 5;
  // Finishes naming distinct tasks, as a producer inventing names would make workers send.
  await Promise.all(Array.from({ length: DEFAULT_MAX_TASK_NAMES + extra }, (_, i) =>
    conn.finish({ result: { taskId: randomUUID(), state: 'SUCCESS', task: `flood.t${i}`, runtime: 0.001 } })));
  const s = await samplesOf(t, broker);
  const series = [...s.keys()].filter((k) => k.startsWith('celeriac_tasks_total{') && k.endsWith('outcome="succeeded"}'));
  t.equal(series.length, DEFAULT_MAX_TASK_NAMES + 1, 'the cap, plus the one "other" series');
  t.equal(s.get(`celeriac_tasks_total{vhost="/",task="${OTHER_TASK}",outcome="succeeded"}`), extra, 'the names past the cap');
  t.equal(s.get('celeriac_tasks_total{vhost="/",task="flood.t0",outcome="succeeded"}'), 1, 'the first names keep their own series');
  t.equal(s.get(`celeriac_task_runtime_seconds_count{vhost="/",task="${OTHER_TASK}"}`), extra);
});

t.test('a finish naming its task with a wrong type is refused as malformed, and nothing is counted', async (t) => {
  const broker = await startTestBroker(t);
  const bad = [{ task: 5 }, { task: 'tasks.x', runtime: -1 }, { task: 'tasks.x', runtime: 'slow' }];
  for (const fields of bad) {
    const conn = await connect(broker.url, { reconnect: false });
    t.teardown(() => conn.close());
    const result = { taskId: randomUUID(), state: 'SUCCESS', ...fields } as unknown as Parameters<typeof conn.finish>[0]['result'];
    await t.rejects(conn.finish({ result }), { code: 'ERR_MALFORMED_FRAME' }, JSON.stringify(fields));
  }
  const s = await samplesOf(t, broker);
  t.notOk([...s.keys()].some((k) => k.startsWith('celeriac_tasks_total')), 'no task series');
});

t.test('the cap counts per vhost; empty and over-long names are "other"', async (t) => {
  const stats = new TaskStats(2);
  stats.record('/', 'a', 'succeeded', 0.5);
  stats.record('/', 'b', 'failed');
  stats.record('/', 'c', 'succeeded');
  stats.record('/', 'a', 'retried', 0.0001);
  stats.record('other-vhost', 'c', 'revoked');
  stats.record('other-vhost', '', 'succeeded');
  stats.record('other-vhost', 'x'.repeat(256), 'succeeded');
  const byKey = new Map([...stats.series()].map((s) => [`${s.vhost} ${s.task}`, s]));
  t.same([...byKey.keys()].sort(), ['/ a', '/ b', '/ other', 'other-vhost c', 'other-vhost other']);
  t.same(byKey.get('/ a')!.outcomes, { succeeded: 1, failed: 0, retried: 1, revoked: 0 });
  t.equal(byKey.get('/ a')!.runtimeCount, 2);
  t.equal(byKey.get('/ a')!.buckets[0], 1, 'under 1 ms in the first bucket');
  t.equal(byKey.get('/ other')!.outcomes.succeeded, 1, 'c, past the cap of 2');
  t.equal(byKey.get('other-vhost other')!.outcomes.succeeded, 2);
  t.equal(byKey.get('other-vhost c')!.outcomes.revoked, 1, 'the other vhost has a cap of its own');
});

t.test('a blocked broker accumulates publishing-blocked seconds', async (t) => {
  // A 1-byte memory watermark: the first message held blocks publishers until it is gone.
  const broker = await startTestBroker(t, { memoryHighWatermark: 1 });
  const conn = await connect(broker.url, { reconnect: false });
  t.teardown(() => conn.close());
  const name = `blocked-${randomUUID().slice(0, 8)}`;
  await conn.assertQueue(name);
  const before = await samplesOf(t, broker);
  t.equal(before.get('celeriac_publishing_blocked_seconds_total'), 0, 'not blocked yet');
  await conn.sendToQueue(name, 'held');
  const first = await scrapeUntil(t, broker, (s) => s.get('celeriac_publishing_blocked') === 1, 'the block');
  const since = first.get('celeriac_publishing_blocked_seconds_total')!;
  const later = await scrapeUntil(t, broker, (s) => s.get('celeriac_publishing_blocked_seconds_total')! > since, 'blocked time to grow while blocked');
  t.equal(later.get('celeriac_publishing_blocked'), 1, 'still blocked');

  // Drained: unblocked, and the time stops growing. Purged from a connection that never published:
  // the broker stops reading a publisher's connection while blocked.
  const admin = await connect(broker.url, { reconnect: false });
  t.teardown(() => admin.close());
  await admin.purgeQueue(name);
  const after = await scrapeUntil(t, broker, (s) => s.get('celeriac_publishing_blocked') === 0, 'the unblock');
  const stopped = after.get('celeriac_publishing_blocked_seconds_total')!;
  t.ok(stopped > 0, `blocked for ${stopped} s`);
  const again = await samplesOf(t, broker);
  t.equal(again.get('celeriac_publishing_blocked_seconds_total'), stopped, 'no more time counted once unblocked');
});
