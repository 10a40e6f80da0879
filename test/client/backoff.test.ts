// Reconnect delays: grow exponentially, cap at max, jitter within [ceiling/2, ceiling].
import t from 'tap';
import { backoffDelay, DEFAULT_BACKOFF } from '../../client/backoff.js';
import { normalizeOptions } from '../../client/options.js';

t.test('ceiling doubles per attempt and stops at max', async (t) => {
  const opts = { initial: 100, max: 1_000 };
  const ceilings = [0, 1, 2, 3, 4, 10, 100].map((a) => backoffDelay(a, opts, () => 1));
  t.same(ceilings, [100, 200, 400, 800, 1_000, 1_000, 1_000]);
});

t.test('jitter keeps the delay within [ceiling/2, ceiling]', async (t) => {
  const opts = { initial: 100, max: 10_000 };
  t.equal(backoffDelay(3, opts, () => 0), 400);
  t.equal(backoffDelay(3, opts, () => 0.5), 600);
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(5, opts);
    t.ok(d >= 1_600 && d <= 3_200, `delay ${d} within bounds`);
  }
});

t.test('nonsense inputs still give a positive finite delay', async (t) => {
  t.equal(backoffDelay(-3, { initial: 100, max: 50 }, () => 1), 100);
  t.equal(backoffDelay(1e9, { initial: 0, max: 5 }, () => 1), 5);
  t.ok(Number.isFinite(backoffDelay(5000, DEFAULT_BACKOFF)));
});

t.test('connect options: defaults and validation', async (t) => {
  const s = normalizeOptions();
  t.same(s, { clientName: 'celeriac-client', reconnect: true, heartbeat: undefined, requestTimeout: 30_000, offlinePublishTimeout: null, backoff: { initial: 100, max: 10_000 } });
  t.same(normalizeOptions({ reconnectBackoff: { initial: 20_000 } }).backoff, { initial: 20_000, max: 20_000 });
  for (const bad of [{ requestTimeout: 0 }, { heartbeat: -1 }, { reconnect: 'yes' }, { user: 5 }, { reconnectBackoff: { max: Number.NaN } }]) {
    t.throws(() => normalizeOptions(bad as never), { code: 'ERR_INVALID_ARGUMENT' }, JSON.stringify(bad));
  }
});
