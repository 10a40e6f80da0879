// Conformance, time: retries with a countdown and past maxRetries, countdown and eta (held by the
// broker: never early, and they arrive), soft and hard time limits, a rate limit spacing starts
// across two workers. In every home. Only lower bounds on time are asserted (delays only add).
import type { Celeriac, TaskContext } from '../../../client/index.js';
import { until, untilAsync } from '../../helpers/wait.js';
import { GET, rejection, scenarioEnv, unique } from '../conformance-helpers.js';
import type { Scenario } from '../homes.js';

class Flaky extends Error {
  override name = 'Flaky';
}

/** Date.now() has ms resolution and an eta travels as an ISO time in ms: a run may look up to this early. */
const CLOCK_SLACK_MS = 5;

/** The scenarios, in the order they run. */
export const scenarios: Readonly<Record<string, Scenario>> = {
  'retries: this.retry() with a countdown runs again with retries + 1, not before the countdown': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('retry');
    const runs: Array<{ retries: number; at: number }> = [];
    const countdown = 150;
    const task = app.task(`${q}.twice`, function (this: TaskContext, x: number) {
      runs.push({ retries: this.retries, at: Date.now() });
      if (this.retries < 2) this.retry({ countdown, exc: new Flaky(`attempt ${this.retries}`) });
      return x * 10;
    }, { queue: q });
    await env.worker(app, { queues: [q] });
    const r = await task.delay(4);
    t.equal(await r.get(GET), 40);
    t.same(runs.map((x) => x.retries), [0, 1, 2], 'ran three times with growing retries');
    for (let i = 1; i < runs.length; i++) {
      const gap = runs[i]!.at - runs[i - 1]!.at;
      t.ok(gap >= countdown - CLOCK_SLACK_MS, `retry ${i} came after its countdown (${gap} ms >= ${countdown})`);
    }
  },

  'retries: the RETRY state and its reason are stored while a retry waits': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('retry-state');
    const waits = app.task(`${q}.later`, function (this: TaskContext) {
      if (this.retries === 0) this.retry({ countdown: 60_000, exc: new Flaky('later') });
      return 1;
    }, { queue: q });
    await env.worker(app, { queues: [q] });
    const r = await waits.delay();
    await untilAsync(async () => (await r.state) === 'RETRY', 10_000, 'RETRY to be stored');
    t.match(await r.result, { exc_type: 'Flaky', exc_message: ['later'] });
    t.equal(await r.ready(), false, 'RETRY is not final');
  },

  'retries: past maxRetries the task ends FAILURE (its own error, or MaxRetriesExceededError)': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('max-retries');
    let calls = 0;
    const always = app.task(`${q}.always-flaky`, () => {
      calls++;
      throw new Flaky(`call ${calls}`);
    }, { queue: q, autoretryFor: [Flaky], maxRetries: 2, defaultRetryDelay: 10 });
    let asked = 0;
    const asks = app.task(`${q}.asks`, function (this: TaskContext) {
      asked++;
      this.retry({ countdown: 10 });
    }, { queue: q, maxRetries: 1 });
    await env.worker(app, { queues: [q] });
    const a = await always.delay();
    t.match(await rejection(a.get(GET)), { code: 'ERR_TASK_FAILED', details: { remoteName: 'Flaky', remoteMessage: 'call 3' } });
    t.equal(calls, 3, 'the first run and two retries');
    t.equal(await a.state, 'FAILURE');
    const b = await asks.delay();
    t.match(await rejection(b.get(GET)), { code: 'ERR_TASK_FAILED', details: { remoteName: 'MaxRetriesExceededError' } });
    t.equal(asked, 2, 'the first run and one retry');
    t.equal(await b.state, 'FAILURE');
  },

  'countdown and eta: held by the broker, never run early, and they arrive': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('countdown');
    const stamp = app.task(`${q}.stamp`, () => Date.now(), { queue: q });
    await env.worker(app, { queues: [q] });
    const sent = Date.now();
    const byCountdown = await stamp.applyAsync([], { countdown: 400 });
    const byEta = await stamp.applyAsync([], { eta: new Date(sent + 400) });
    t.ok((await byCountdown.get(GET)) >= sent + 400 - CLOCK_SLACK_MS, 'countdown: not run before it');
    t.ok((await byEta.get(GET)) >= sent + 400 - CLOCK_SLACK_MS, 'eta: not run before it');
    // An eta already past runs at once.
    t.ok((await (await stamp.applyAsync([], { eta: new Date(Date.now() - 60_000) })).get(GET)) >= sent, 'a past eta runs');
  },

  'time limits: the soft limit aborts the signal; the hard limit fails the task; the worker goes on': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('limits');
    const soft = app.task(`${q}.soft`, function (this: TaskContext) {
      return new Promise<string>((resolve) => {
        this.signal.addEventListener('abort', () => resolve(`aborted: ${(this.signal.reason as Error).name}`));
      });
    }, { queue: q, softTimeLimit: 100 });
    const hard = app.task(`${q}.hard`, () => new Promise<number>(() => undefined), { queue: q, timeLimit: 150 });
    const add = app.task(`${q}.add`, (a: number, b: number) => a + b, { queue: q });
    await env.worker(app, { queues: [q] });
    t.equal(await (await soft.delay()).get(GET), 'aborted: SoftTimeLimitExceeded');
    const h = await hard.delay();
    t.equal((await rejection(h.get(GET))).code, 'ERR_TIME_LIMIT');
    t.equal(await h.state, 'FAILURE');
    t.equal((await rejection((await soft.applyAsync([], { timeLimit: 50 })).get(GET))).code, 'ERR_TIME_LIMIT', 'a per-call limit overrides the task\'s');
    t.equal(await (await add.delay(1, 2)).get(GET), 3, 'the worker goes on');
  },

  'rate limit: starts are spaced by the limit across two workers together': async (t, home) => {
    const env = scenarioEnv(t, home);
    const q = unique('rate');
    const starts: number[] = [];
    const register = (app: Celeriac): void => {
      app.task(`${q}.limited`, () => { starts.push(Date.now()); }, { queue: q, rateLimit: '20/s' });
    };
    const one = env.app();
    const two = env.app();
    register(one);
    register(two);
    // Prefetch 4 each: neither worker can take all 12, so both run some and share one bucket.
    const w1 = await env.worker(one, { queues: [q], concurrency: 4, prefetchMultiplier: 1 });
    const w2 = await env.worker(two, { queues: [q], concurrency: 4, prefetchMultiplier: 1 });
    const results = await Promise.all(Array.from({ length: 12 }, () => one.sendTask(`${q}.limited`, [], { queue: q })));
    await Promise.all(results.map((r) => r.get(GET)));
    await until(() => starts.length === 12, 5_000, 'every start recorded');
    starts.sort((a, b) => a - b);
    // 20/s is one slot per 50 ms for both workers together, and a start comes at its slot or later:
    // the k-th start is at least k slots after the first (less 100 ms, should the first be late).
    // A stalled event loop can bunch later starts together, never move one ahead of its slot, so
    // only this lower bound is checked. Two buckets (a limit not shared) would give two starts a slot.
    const offsets = starts.map((s) => s - starts[0]!);
    const early = offsets.findIndex((offset, k) => offset < k * 50 - 100);
    t.equal(early, -1, `no start ahead of its slot (offsets ${offsets.join(', ')} ms)`);
    t.ok((w1.totals.get(`${q}.limited`) ?? 0) > 0 && (w2.totals.get(`${q}.limited`) ?? 0) > 0, 'both workers ran some');
  },
};
