// Cluster-wide rate limits: one bucket per key in the broker, shared by every connection; slots are
// reserved, so successive callers wait longer; an override (rate_limit command) wins until cleared.
import t from 'tap';
import { brokerAndClient, unique } from './feature-helpers.js';

t.test('successive acquires at 10/s get growing delays', async (t) => {
  const { conn } = await brokerAndClient(t);
  const key = unique('tasks.add');
  // Sent together, so the broker sees them within one turn: slots 100 ms apart.
  const delays = await Promise.all(Array.from({ length: 5 }, () => conn.rateAcquire(key, { count: 10, intervalMs: 1_000 })));
  t.equal(delays[0], 0, 'the bucket starts full: the first starts now');
  for (let i = 1; i < delays.length; i++) t.ok(delays[i]! > delays[i - 1]!, `delay ${i} (${delays[i]}) > delay ${i - 1} (${delays[i - 1]})`);
  t.ok(delays[4]! > 300 && delays[4]! <= 400, `the fifth waits about 400 ms (${delays[4]})`);
});

t.test('two connections share one bucket', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const other = await open();
  const key = unique('tasks.slow');
  const rate = { count: 1, intervalMs: 60_000 };
  t.equal(await conn.rateAcquire(key, rate), 0);
  const second = await other.rateAcquire(key, rate);
  t.ok(second > 30_000, `the other connection waits for the next slot (${second} ms)`);
  t.equal(await conn.rateAcquire(unique('tasks.other'), rate), 0, 'another key has its own bucket');
});

t.test('an override replaces callers\' rates until reset; count 0 means no limit', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const other = await open();
  const key = unique('tasks.mul');
  const fast = { count: 1_000, intervalMs: 1_000 };
  await other.rateSet(key, { count: 1, intervalMs: 60_000 });
  t.same((await conn.rateOverrides()).filter((o) => o.key === key), [{ key, count: 1, intervalMs: 60_000 }], 'listed for workers that start later');
  t.equal(await conn.rateAcquire(key, fast), 0);
  t.ok((await conn.rateAcquire(key, fast)) > 30_000, 'the override rate applies, not the caller\'s');
  await other.rateSet(key, null);
  t.same((await conn.rateOverrides()).filter((o) => o.key === key), [], 'no longer listed');
  t.equal(await conn.rateAcquire(key, fast), 0, 'after the reset the bucket starts full at the caller\'s rate');
  t.ok((await conn.rateAcquire(key, fast)) <= 1, 'and the caller\'s rate applies again');

  await other.rateSet(key, { count: 0, intervalMs: 1_000 });
  for (let i = 0; i < 3; i++) t.equal(await conn.rateAcquire(key, { count: 1, intervalMs: 60_000 }), 0, 'override 0: no limit');
  await other.rateSet(key, null);
  const free = unique('tasks.free');
  for (let i = 0; i < 3; i++) t.equal(await conn.rateAcquire(free, { count: 0, intervalMs: 1_000 }), 0, 'count 0: no limit');
});

t.test('a slot given back goes to the next caller; a repeated or unknown release changes nothing', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const other = await open();
  const key = unique('tasks.given-back');
  const rate = { count: 1, intervalMs: 60_000 };
  t.equal((await conn.rateReserve(key, rate)).delay, 0, 'the first starts now');
  const second = await conn.rateReserve(key, rate);
  t.ok(second.delay > 59_000, 'the second waits a minute');
  await conn.rateRelease(key, second.slot);
  await conn.rateRelease(key, second.slot);
  await conn.rateRelease(key, second.slot + 120_000);
  const next = await other.rateReserve(key, rate);
  t.equal(next.slot, second.slot, 'another connection gets the slot given back');
  t.ok((await other.rateReserve(key, rate)).delay > 119_000, 'given back once only: the one after is the next new slot');
  await t.rejects(conn.rateRelease(key, Number.NaN), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('bad rates get coded errors', async (t) => {
  const { conn } = await brokerAndClient(t);
  await t.rejects(conn.rateAcquire('k', { count: -1, intervalMs: 1_000 }), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(conn.rateAcquire('k', { count: Number.NaN, intervalMs: 1_000 }), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(conn.rateAcquire('k', { count: 5, intervalMs: 0 }), { code: 'ERR_INVALID_ARGUMENT' }, 'the broker refuses a zero interval');
  await t.rejects(conn.rateAcquire('', { count: 5, intervalMs: 1_000 }), { code: 'ERR_INVALID_ARGUMENT' }, 'an empty key');
  await t.rejects(conn.rateSet('k', { count: 5, intervalMs: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
  t.equal(await conn.rateAcquire('k', { count: 5, intervalMs: 1_000 }), 0, 'the connection goes on');
});
