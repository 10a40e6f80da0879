// Celery's retry delays: exponential backoff (base × 2^retries), capped by retryBackoffMax, with
// full jitter in [0, delay]; without backoff the default delay. And autoretryFor matching.
import t from 'tap';
import { autoretryDelay, matchesAny } from '../../client/worker/retry-policy.js';

const opts = { retryBackoff: 1_000, retryBackoffMax: 10_000, retryJitter: false, defaultRetryDelay: 180_000 };

t.test('backoff doubles per retry and stops at the cap', async (t) => {
  t.same([0, 1, 2, 3, 4, 10, 60].map((r) => autoretryDelay(opts, r)), [1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
});

t.test('full jitter: a random delay in [0, capped delay]', async (t) => {
  const jitter = { ...opts, retryJitter: true };
  t.equal(autoretryDelay(jitter, 3, () => 0), 0, 'the low end');
  t.equal(autoretryDelay(jitter, 3, () => 0.5), 4_000, 'half of 8 s');
  t.equal(autoretryDelay(jitter, 3, () => 0.999_999), 8_000, 'the high end is the delay itself');
  t.equal(autoretryDelay(jitter, 9, () => 0.999_999), 10_000, 'never past the cap');
  for (let i = 0; i < 100; i++) {
    const d = autoretryDelay(jitter, 2);
    t.ok(d >= 0 && d <= 4_000 && Number.isInteger(d), `Math.random jitter stays in [0, 4000]: ${d}`);
  }
});

t.test('without backoff: the default retry delay', async (t) => {
  t.equal(autoretryDelay({ ...opts, retryBackoff: 0 }, 5), 180_000);
});

t.test('autoretryFor matches by class (subclasses too) or by error name', async (t) => {
  class Flaky extends Error {
    override name = 'Flaky';
  }
  class VeryFlaky extends Flaky {}
  t.ok(matchesAny(new VeryFlaky('x'), [Flaky]), 'instanceof');
  t.ok(matchesAny(new Flaky('x'), ['Flaky']), 'by name (errors thrown in another runner)');
  t.notOk(matchesAny(new TypeError('x'), [Flaky, 'RangeError']));
  t.notOk(matchesAny('not an error', ['Flaky']));
});
