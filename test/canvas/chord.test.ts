// Chords end to end: the broker counts the header's results and publishes the body once; the body
// gets the results in header order; a failed member fails the body with ERR_CHORD_FAILED.
import t from 'tap';
import { chain, chord, group, type Celeriac } from '../../client/index.js';
import { encodeMeta } from '../../client/results/result-meta.js';
import { until } from '../helpers/wait.js';
import { taskEnv } from '../tasks/task-helpers.js';

function tasks(app: Celeriac, onBody: (xs: number[]) => void = () => undefined) {
  const add = app.task('tasks.add', async (a: number, b: number) => {
    await new Promise((r) => setTimeout(r, (a * 7) % 20));
    return a + b;
  });
  const sum = app.task('tasks.sum', (xs: number[], plus: number = 0) => {
    onBody(xs);
    return xs.reduce((a, b) => a + b, 0) + plus;
  });
  return { add, sum };
}

t.test('a chord sums a header of 10, results in header order', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const bodies: number[][] = [];
  const { add, sum } = tasks(app, (xs) => bodies.push(xs));
  await startWorker(app);
  const r = await chord(Array.from({ length: 10 }, (_, i) => add.s(i, i)), sum.s()).delay();
  const v: number = await r.get({ timeout: 5_000 });
  t.equal(v, 90);
  t.same(bodies, [[0, 2, 4, 6, 8, 10, 12, 14, 16, 18]], 'one body run, results in header order');
  // The public example, a group as header, and the body's own args after the results.
  t.equal(await (await chord([add.s(1, 1), add.s(2, 2)], sum.s()).delay()).get({ timeout: 5_000 }), 6);
  t.equal(await (await chord(group(add.s(1, 1), add.s(2, 2)), sum.s(100)).delay()).get({ timeout: 5_000 }), 106);
  // args of delay() go to every header member.
  t.equal(await (await chord([add.s(1), add.s(2)], sum.s()).delay(10)).get({ timeout: 5_000 }), 23);
});

t.test('the body is PENDING from the start; an empty header runs the body at once with []', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const { add, sum } = tasks(app);
  const r = await chord([add.s(1, 1)], sum.s()).delay();
  t.equal(await r.state, 'PENDING', 'the broker registered the body id with the group');
  await startWorker(app);
  t.equal(await r.get({ timeout: 5_000 }), 2);
  t.same(await r.header.get({ timeout: 1_000 }), [2], 'the header group is there too');
  const empty = await chord([], sum.s(5)).delay();
  t.equal(await empty.get({ timeout: 5_000 }), 5);
});

t.test('a failing header member: the body fails with ERR_CHORD_FAILED and never runs', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  let bodyRuns = 0;
  const { add, sum } = tasks(app, () => bodyRuns++);
  const boom = app.task('tasks.boom', (): number => {
    throw new TypeError('member broke');
  });
  await startWorker(app);
  const r = await chord([add.s(1, 1), boom.s(), add.s(2, 2)], sum.s()).delay();
  const err = await r.get({ timeout: 5_000 }).then(() => null, (e: unknown) => e as { code: string; message: string; details: Record<string, unknown> });
  t.equal(err?.code, 'ERR_CHORD_FAILED');
  t.match(String(err?.details['remoteMessage']), /raised TypeError\('member broke'\)/);
  t.equal(await r.state, 'FAILURE');
  t.equal(bodyRuns, 0);
});

t.test('the body fires exactly once even when a member result is stored twice', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  let bodyRuns = 0;
  const { add, sum } = tasks(app, () => bodyRuns++);
  const r = await chord([add.s(1, 1), add.s(2, 2)], sum.s()).delay();
  const conn = await app.connection();
  const members = { groupId: r.header.id, members: r.header.results.map((m) => m.id) };
  const meta = (id: string, result: number) => encodeMeta({ task_id: id, status: 'SUCCESS', result, traceback: null, children: [], date_done: new Date().toISOString() }, { serializer: 'json', compression: null });
  // Before any worker: the first member is stored SUCCESS twice; the broker counts it once.
  for (let i = 0; i < 2; i++) {
    const m = meta(members.members[0]!, 2);
    await conn.storeResult(members.members[0]!, 'SUCCESS', m.body, { contentType: m.contentType });
  }
  t.equal((await conn.getGroup(members.groupId))?.done, 1, 'counted once');
  t.equal(await r.state, 'PENDING', 'the body did not fire early');
  await startWorker(app);
  t.equal(await r.get({ timeout: 5_000 }), 6);
  // After the chord completed: storing a member again does not fire the body again.
  const again = meta(members.members[1]!, 4);
  await conn.storeResult(members.members[1]!, 'SUCCESS', again.body, { contentType: again.contentType });
  // A second body would be published in the commit of that store, ahead of this marker task on
  // the same queue: once the marker's result is back, the worker has taken the body too.
  t.equal(await (await add.delay(0, 0)).get({ timeout: 10_000 }), 0, 'the marker ran');
  t.equal(bodyRuns, 1);
  t.equal((await conn.getGroup(members.groupId))?.done, 2);
});

t.test('a chain as the chord body; unsupported bodies fail when built', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const { add, sum } = tasks(app);
  await startWorker(app);
  const r = await chord([add.s(1, 1), add.s(2, 2)], chain(sum.s(), add.s(10))).delay();
  t.equal(await r.get({ timeout: 5_000 }), 16);
  // An immutable body waits for the header but runs with its own args only.
  t.equal(await (await chord([add.s(1, 1), add.s(2, 2)], sum.si([100, 1])).delay()).get({ timeout: 5_000 }), 101);
  t.throws(() => chord([add.s(1, 1)], group(sum.s()) as never), { code: 'ERR_INVALID_ARGUMENT', message: /chord body must be a signature or a chain/ });
  t.throws(() => chord([chain(add.s(1, 1), add.s(1)) as never], sum.s()), { code: 'ERR_INVALID_ARGUMENT', message: /not supported/ });
});

t.test('a chord still completes when its worker is restarted in the middle (late acks)', async (t) => {
  const { newApp, startWorker } = await taskEnv(t);
  const settings = { taskAcksLate: true };
  let done = 0;
  let bodyRuns = 0;
  const register = (app: Celeriac) => {
    const slow = app.task('tasks.slow', async (x: number) => {
      await new Promise((r) => setTimeout(r, 40));
      done++;
      return x * 10;
    });
    const sum = app.task('tasks.sum', (xs: number[]) => {
      bodyRuns++;
      return xs.reduce((a, b) => a + b, 0);
    });
    return { slow, sum };
  };
  const producer = newApp(settings);
  const { slow, sum } = register(producer);
  const first = newApp(settings);
  register(first);
  const w1 = await startWorker(first, { concurrency: 2 });
  const r = await chord(Array.from({ length: 12 }, (_, i) => slow.s(i)), sum.s()).delay();
  await until(() => done >= 3, 5_000, 'some header members done');
  await w1.close();
  const before = done;
  t.ok(before < 12, `stopped in the middle (${before} of 12 done)`);
  t.equal(await r.state, 'PENDING');
  const second = newApp(settings);
  register(second);
  await startWorker(second, { concurrency: 2 });
  t.equal(await r.get({ timeout: 10_000 }), 660);
  t.equal(bodyRuns, 1);
});
