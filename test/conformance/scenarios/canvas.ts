// Conformance, canvas: chains (results fed on, every step stored, a failing step stops the rest),
// groups (results in group order, a failing member), chords (results in header order, a failing
// member fails the body, the body runs exactly once). In every home.
import { chain, chord, group, type Celeriac } from '../../../client/index.js';
import { GET, rejection, scenarioEnv, unique } from '../conformance-helpers.js';
import type { Scenario } from '../homes.js';

/** The tasks of a canvas scenario, registered in `app` under the scenario's queue. */
function canvasTasks(app: Celeriac, q: string, onBody: (xs: number[]) => void = () => undefined) {
  const add = app.task(`${q}.add`, async (a: number, b: number) => {
    // Members finish out of order: the order of results must be the canvas's, not the finishing one.
    await new Promise((r) => setTimeout(r, (a * 7) % 20));
    return a + b;
  }, { queue: q });
  const sum = app.task(`${q}.sum`, (xs: number[], plus: number = 0) => {
    onBody(xs);
    return xs.reduce((a, b) => a + b, 0) + plus;
  }, { queue: q });
  const boom = app.task(`${q}.boom`, (_x?: number): number => {
    throw new TypeError('member broke');
  }, { queue: q });
  return { add, sum, boom };
}

/** The scenarios, in the order they run. */
export const scenarios: Readonly<Record<string, Scenario>> = {
  'chain: each result feeds the next step, every step is stored, si() ignores the parent': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('chain');
    const { add } = canvasTasks(app, q);
    await env.worker(app, { queues: [q] });
    const r = await chain(add.s(1, 1), add.s(2), add.s(3)).delay();
    t.equal(await r.get(GET), 7);
    t.equal(r.parents.length, 2);
    t.same(await Promise.all(r.parents.map((p) => p.get(GET))), [2, 4], 'each step stored its result');
    t.equal(await r.state, 'SUCCESS');
    t.equal(await (await chain(add.s(1, 1), add.si(10, 10), add.s(1)).delay()).get(GET), 21, 'si() ignores the parent value');
  },

  'chain: a failing step fails the chain; its later steps never run': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('chain-fail');
    const { add, boom } = canvasTasks(app, q);
    let after = 0;
    const counted = app.task(`${q}.counted`, (x: number) => { after++; return x; }, { queue: q });
    await env.worker(app, { queues: [q] });
    const r = await chain(add.s(1, 1), boom.s(), counted.s()).delay();
    const err = await rejection(r.get(GET));
    t.equal(err.code, 'ERR_TASK_FAILED');
    t.equal(err.details?.['remoteName'], 'TypeError');
    t.equal(err.details?.['remoteMessage'], 'member broke');
    t.equal(await r.parents[1]!.state, 'FAILURE', 'the failing step is stored FAILURE');
    t.equal(await r.state, 'PENDING', 'the last step was never sent');
    t.equal(after, 0);
  },

  'group: results in group order; a failing member fails get()': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('group');
    const { add, boom } = canvasTasks(app, q);
    const g = await group(Array.from({ length: 8 }, (_, i) => add.s(i, i))).delay();
    t.equal(await g.completedCount(), 0, 'nothing ran yet');
    t.equal(await g.ready(), false);
    await env.worker(app, { queues: [q] });
    t.same(await g.get(GET), [0, 2, 4, 6, 8, 10, 12, 14]);
    t.equal(await g.completedCount(), 8);
    t.equal(await g.ready(), true);
    t.equal(await g.successful(), true);

    const bad = await group(add.s(1, 1), boom.s(), add.s(2, 2)).delay();
    t.match(await rejection(bad.get(GET)), { code: 'ERR_TASK_FAILED', details: { remoteName: 'TypeError' } });
    await Promise.all(bad.results.map((x) => x.get({ ...GET, propagate: false })));
    t.equal(await bad.failed(), true);
    t.equal(await bad.ready(), true, 'a failure is final');
    t.equal(await bad.completedCount(), 2, 'completed means successful (Celery)');
  },

  'chord: the body gets the header results in header order, once, with two workers racing': async (t, home) => {
    const env = scenarioEnv(t, home);
    const q = unique('chord');
    const bodies: number[][] = [];
    const one = env.app();
    const two = env.app();
    const { add, sum } = canvasTasks(one, q, (xs) => bodies.push(xs));
    canvasTasks(two, q, (xs) => bodies.push(xs));
    const r = await chord(Array.from({ length: 10 }, (_, i) => add.s(i, i)), sum.s()).delay();
    t.equal(await r.state, 'PENDING', 'the body is PENDING from the start');
    await env.worker(one, { queues: [q], concurrency: 4 });
    await env.worker(two, { queues: [q], concurrency: 4 });
    t.equal(await r.get(GET), 90);
    t.same(await r.header.get(GET), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18], 'the header group is there too');
    t.equal(await (await chord([add.s(1, 1), add.s(2, 2)], sum.s(100)).delay()).get(GET), 106, "the body's own args come after the results");
    // A second body would have been published when the last member finished, ahead of this marker on the same queue.
    t.equal(await (await add.delay(0, 0)).get(GET), 0, 'a marker ran after it');
    t.same(bodies, [[0, 2, 4, 6, 8, 10, 12, 14, 16, 18], [2, 4]], 'each body ran once, with results in header order');
  },

  'chord: a failing header member fails the body with ERR_CHORD_FAILED; the body never runs': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('chord-fail');
    let bodyRuns = 0;
    const { add, sum, boom } = canvasTasks(app, q, () => bodyRuns++);
    await env.worker(app, { queues: [q] });
    const r = await chord([add.s(1, 1), boom.s(), add.s(2, 2)], sum.s()).delay();
    const err = await rejection(r.get(GET));
    t.equal(err.code, 'ERR_CHORD_FAILED');
    t.match(String(err.details?.['remoteMessage']), /raised TypeError\('member broke'\)/);
    t.equal(await r.state, 'FAILURE');
    t.equal(await (await add.delay(0, 0)).get(GET), 0, 'a marker ran after it');
    t.equal(bodyRuns, 0);
  },

  'chord: a member result stored twice (a redelivered member) counts once; the body runs once': async (t, home) => {
    const env = scenarioEnv(t, home);
    const app = env.app();
    const q = unique('chord-twice');
    let bodyRuns = 0;
    const { add, sum } = canvasTasks(app, q, () => bodyRuns++);
    const r = await chord([add.s(1, 1), add.s(2, 2)], sum.s()).delay();
    // What a member run twice does (late acks, its worker lost after storing): it stores its final
    // result again, through the app's result backend, as Celery's meta.
    const backend = await app.backend();
    const storeMember = async (i: number, result: number): Promise<void> => {
      const id = r.header.results[i]!.id;
      const meta = { task_id: id, status: 'SUCCESS', result, traceback: null, children: [], date_done: new Date().toISOString() };
      await backend.storeResult(id, 'SUCCESS', Buffer.from(JSON.stringify(meta)), { contentType: 'application/json' });
    };
    await storeMember(0, 2);
    await storeMember(0, 2);
    t.equal(await r.header.completedCount(), 1, 'counted once');
    t.equal(await r.state, 'PENDING', 'the body did not fire early');
    await env.worker(app, { queues: [q] });
    t.equal(await r.get(GET), 6);
    await storeMember(1, 4);
    t.equal(await (await add.delay(0, 0)).get(GET), 0, 'a marker ran after the late store');
    t.equal(bodyRuns, 1, 'the body ran once');
  },
};
