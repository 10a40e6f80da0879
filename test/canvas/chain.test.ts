// Chains end to end: each step's result feeds the next, every step's result is stored, si() ignores
// the parent value, a failed step fails the chain's get(), link/linkError callbacks run; steps by
// name with app.signature().
import t from 'tap';
import { chain, type ChainResult } from '../../client/index.js';
import { until } from '../helpers/wait.js';
import { taskEnv } from '../tasks/task-helpers.js';

t.test('chain of 3 adds: the last step has the sum; the intermediate results are stored', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  await startWorker(app);
  const r: ChainResult<number> = await chain(add.s(1, 1), add.s(2), add.s(3)).delay();
  t.equal(await r.get({ timeout: 5_000 }), 7);
  t.equal(r.parents.length, 2);
  t.same(await Promise.all(r.parents.map((p) => p.get({ timeout: 1_000 }))), [2, 4], 'each step stored its result');
  t.equal(r.parent?.id, r.parents[1]!.id);
  t.equal(await r.state, 'SUCCESS');
  // The first step's args come from delay(); a chain nested in a chain is flattened.
  const r2 = await chain(add.s(10), chain(add.s(1), add.s(1))).delay(5);
  t.equal(await r2.get({ timeout: 5_000 }), 17);
});

t.test('the last step is PENDING (not unknown) before it is sent; taskId names it', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  const r = await chain(add.s(1, 1), add.s(2)).applyAsync([], { taskId: 'chain-last-step' });
  t.equal(r.id, 'chain-last-step');
  t.equal(await r.state, 'PENDING', 'registered before any worker ran');
  await t.rejects(r.get({ timeout: 50 }), { code: 'ERR_RESULT_TIMEOUT' });
  await startWorker(app);
  t.equal(await r.get({ timeout: 5_000 }), 4);
});

t.test('si() ignores the parent value', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  await startWorker(app);
  const r = await chain(add.s(1, 1), add.si(10, 10), add.s(1)).delay();
  t.equal(await r.get({ timeout: 5_000 }), 21);
});

t.test('a failed step fails the chain at once; its later steps never run', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  let ran = 0;
  const counted = app.task('tasks.counted', (x: number) => {
    ran++;
    return x;
  });
  const boom = app.task('tasks.boom', (_x: number): number => {
    throw new Error('step failed');
  });
  await startWorker(app);
  const r = await chain(add.s(1, 1), boom.s(), counted.s()).delay();
  const err = await r.get({ timeout: 5_000 }).then(() => null, (e: unknown) => e as { code: string; details: Record<string, unknown> });
  t.equal(err?.code, 'ERR_TASK_FAILED');
  t.equal(err?.details['remoteMessage'], 'step failed');
  t.equal(await r.state, 'PENDING', 'the last step was never sent');
  t.equal(ran, 0);
  t.equal(await r.get({ timeout: 1_000, propagate: false }).catch(() => 'timeout'), 'timeout', 'propagate: false waits for the last step only');
});

t.test('link and linkError callbacks run (task, and chain)', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  const seen: unknown[][] = [];
  const record = app.task('tasks.record', (...args: unknown[]) => {
    seen.push(args);
    return args.length;
  });
  const boom = app.task('tasks.boom', (_x: number): number => {
    throw new Error('nope');
  });
  await startWorker(app);

  const ok = await add.applyAsync([2, 3], { link: record.s('linked'), linkError: record.s('errback') });
  t.equal(await ok.get({ timeout: 5_000 }), 5);
  await until(() => seen.length === 1, 5_000);
  t.same(seen[0], [5, 'linked'], 'link gets the result first');

  const bad = await boom.applyAsync([1], { link: record.s('linked'), linkError: [record.s('errback')] });
  await t.rejects(bad.get({ timeout: 5_000 }), { code: 'ERR_TASK_FAILED' });
  await until(() => seen.length === 2, 5_000);
  t.same(seen[1], [bad.id, 'errback'], 'an errback gets the failed task id');

  // On a chain: link is called with the chain's result, linkError on any failing step.
  const c = await chain(add.s(1, 1), add.s(1)).applyAsync([], { link: record.s('chain-done') });
  t.equal(await c.get({ timeout: 5_000 }), 3);
  await until(() => seen.length === 3, 5_000);
  t.same(seen[2], [3, 'chain-done']);
  const c2 = await chain(add.s(1, 1), boom.s(), add.s(1)).applyAsync([], { linkError: record.s('chain-failed') });
  await t.rejects(c2.get({ timeout: 5_000 }), { code: 'ERR_TASK_FAILED' });
  await until(() => seen.length === 4, 5_000);
  t.equal(seen[3]![1], 'chain-failed');
  t.equal(seen[3]![0], c2.parents[1]!.id, 'the failing step is named');
  // A signature's own link travels with it as a chain step.
  const c3 = await chain(add.s(1, 1), add.s(5).set({ link: record.s('step-link') }), add.s(1)).delay();
  t.equal(await c3.get({ timeout: 5_000 }), 8);
  await until(() => seen.length === 5, 5_000);
  t.same(seen[4], [7, 'step-link']);
});

t.test('a bad step or an empty chain fails when the chain is built, with a clear error', async (t) => {
  const { app } = await taskEnv(t);
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  t.throws(() => chain(add.s(1, 1), 42 as never), { code: 'ERR_INVALID_ARGUMENT', message: /chain step 1 must be a signature/ });
  t.throws(() => chain(...([] as never as [never])), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('app.signature(): a step by name that another app\'s worker runs, on its queue, with kwargs; a bad name or args is refused', async (t) => {
  const { app, newApp, startWorker } = await taskEnv(t);
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  // The other app registers tasks.format on its own queue; `app` has no code for it.
  const other = newApp();
  other.task('tasks.format', (n: number, options: { unit: string }) => `${n} ${options.unit}`);
  await Promise.all([startWorker(app), startWorker(other, { queues: ['format-q'] })]);
  const format = app.signature<string>('tasks.format', [], { queue: 'format-q', kwargs: { unit: 'kg' } });
  t.equal(format.task, 'tasks.format');
  const r = await chain(add.s(2, 3), format).delay();
  t.equal(await r.get({ timeout: 5_000 }), '5 kg', 'sent on by the first step\'s worker to the queue the signature names');
  t.equal(await (await app.signature<number>('tasks.add', [20, 22]).delay()).get({ timeout: 5_000 }), 42, 'delay() of a signature by name');
  t.throws(() => app.signature(''), { code: 'ERR_INVALID_ARGUMENT' });
  t.throws(() => app.signature('tasks.add', 'x' as unknown as unknown[]), { code: 'ERR_INVALID_ARGUMENT' });
});
