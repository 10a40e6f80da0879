// Chains holding groups, sent as Celery's chain-to-chord upgrade: `a | group(b, c) | d` runs a,
// then b and c with a's result, then d with [b, c]; the shapes it cannot express fail when built.
import t from 'tap';
import { chain, chord, group } from '../../client/index.js';
import { taskEnv } from '../tasks/task-helpers.js';

t.test('a group inside a chain becomes a chord with the next step', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  const sum = app.task('tasks.sum', (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  await startWorker(app);
  const r = await chain(add.s(1, 1), group(add.s(10), add.s(20)), sum.s()).delay();
  t.equal(await r.get({ timeout: 5_000 }), 34, '2 → [12, 22] → 34');
  t.same(await r.parents[0]!.get({ timeout: 1_000 }), 2);
  const lead = await chain(group(add.s(1, 1), add.s(2, 2)), sum.s(), add.s(1)).delay();
  t.equal(await lead.get({ timeout: 5_000 }), 7, 'a chain may start with a group');
  const withChord = await chain(add.s(1, 1), chord([add.s(1), add.s(2)], sum.s()), add.s(100)).delay();
  t.equal(await withChord.get({ timeout: 5_000 }), 107, 'a chord as a chain step');
  const twice = await chain(add.s(1, 1), group(add.s(1), add.s(2)), sum.s(), group(add.s(1), add.s(2)), sum.s()).delay();
  t.equal(await twice.get({ timeout: 5_000 }), 17, '2 → [3, 4] → 7 → [8, 9] → 17');
  const after = await chain(add.s(1, 1), group(add.s(1), add.s(2)), sum.si([40, 2])).delay();
  t.equal(await after.get({ timeout: 5_000 }), 42, 'an immutable step after a group waits for it, then ignores its results');
});

t.test('a failure before or inside the group fails the chain', async (t) => {
  const { app, startWorker } = await taskEnv(t);
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  const sum = app.task('tasks.sum', (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  const boom = app.task('tasks.boom', (_x: number): number => {
    throw new Error('boom');
  });
  await startWorker(app);
  const early = await chain(boom.s(1), group(add.s(1), add.s(2)), sum.s()).delay();
  await t.rejects(early.get({ timeout: 5_000 }), { code: 'ERR_TASK_FAILED', details: { remoteMessage: 'boom' } });
  const inside = await chain(add.s(1, 1), group(add.s(1), boom.s()), sum.s()).delay();
  await t.rejects(inside.get({ timeout: 5_000 }), { code: 'ERR_CHORD_FAILED' });
});

t.test('shapes the upgrade cannot express fail when the chain is built', async (t) => {
  const { app } = await taskEnv(t);
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  const sum = app.task('tasks.sum', (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  t.throws(() => chain(add.s(1, 1), group(add.s(1), add.s(2))), { code: 'ERR_INVALID_ARGUMENT', message: /ending in a group is not supported/ });
  t.throws(() => chain(add.s(1, 1), group(add.s(1)), group(add.s(2)), sum.s()), { code: 'ERR_INVALID_ARGUMENT', message: /two groups in a row/ });
  t.throws(() => chain(add.s(1, 1), group([]), sum.s()), { code: 'ERR_INVALID_ARGUMENT', message: /empty/ });
  t.throws(() => chord([add.s(1, 1)], chain(add.s(1), group(add.s(1)), sum.s())), { code: 'ERR_INVALID_ARGUMENT', message: /chain holding a group/ });
});
