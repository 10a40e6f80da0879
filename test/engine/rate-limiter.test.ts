// The GCRA bucket on an injected clock: slots interval/count apart, slots given back handed out
// again before new ones (never more starts than the rate), past or unknown releases ignored.
import t from 'tap';
import { RateLimiter } from '../../server/engine/rate-limiter.js';

function bucket(): { rates: RateLimiter; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { rates: new RateLimiter(() => clock.now), clock };
}

t.test('slots are one emission interval apart, from now', async (t) => {
  const { rates, clock } = bucket();
  const slots = [0, 1, 2].map(() => rates.acquire('/', 'k', 2, 1_000));
  t.same(slots.map((s) => s.delay), [0, 500, 1_000]);
  t.same(slots.map((s) => s.slot - clock.now), [0, 500, 1_000]);
});

t.test('a slot given back is the next one handed out, once', async (t) => {
  const { rates, clock } = bucket();
  const [, b, c] = [0, 1, 2].map(() => rates.acquire('/', 'k', 2, 1_000));
  rates.release('/', 'k', c!.slot);
  rates.release('/', 'k', b!.slot);
  rates.release('/', 'k', b!.slot); // repeated: ignored
  t.same(rates.acquire('/', 'k', 2, 1_000), b, 'the earliest given back first');
  t.same(rates.acquire('/', 'k', 2, 1_000), c);
  t.equal(rates.acquire('/', 'k', 2, 1_000).slot - clock.now, 1_500, 'then new slots after the last one handed out');
});

t.test('a release of a past slot, of one never handed out, or in another bucket changes nothing', async (t) => {
  const { rates, clock } = bucket();
  const a = rates.acquire('/', 'k', 1, 1_000);
  const b = rates.acquire('/', 'k', 1, 1_000);
  rates.release('/', 'k', b.slot + 1_000); // at or past tat: never handed out
  rates.release('/', 'other', b.slot);
  rates.release('/other-vhost', 'k', b.slot);
  clock.now += 1;
  rates.release('/', 'k', a.slot); // already past
  t.equal(rates.acquire('/', 'k', 1, 1_000).slot, b.slot + 1_000, 'the next new slot');
  t.throws(() => rates.release('/', 'k', Number.POSITIVE_INFINITY), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('a slot given back that has passed is not handed out (burst 1 keeps no past time)', async (t) => {
  const { rates, clock } = bucket();
  rates.acquire('/', 'k', 1, 1_000);
  const b = rates.acquire('/', 'k', 1, 1_000);
  rates.acquire('/', 'k', 1, 1_000);
  rates.release('/', 'k', b.slot);
  clock.now = b.slot + 10;
  t.equal(rates.acquire('/', 'k', 1, 1_000).slot, b.slot + 2_000, 'the next new slot, not the passed one');
});

t.test('an override change and the sweep forget slots given back', async (t) => {
  const { rates, clock } = bucket();
  rates.acquire('/', 'k', 1, 1_000);
  const b = rates.acquire('/', 'k', 1, 1_000);
  rates.release('/', 'k', b.slot);
  rates.set('/', 'k', 1, 1_000);
  t.same(rates.acquire('/', 'k', 1, 1_000), { delay: 0, slot: clock.now }, 'the bucket starts full');
  const c = rates.acquire('/', 'k', 1, 1_000);
  rates.release('/', 'k', c.slot);
  clock.now += 5_000;
  rates.sweep(clock.now);
  t.same(rates.acquire('/', 'k', 1, 1_000), { delay: 0, slot: clock.now });
});

t.test('count 0 is no limit and reserves nothing', async (t) => {
  const { rates, clock } = bucket();
  for (let i = 0; i < 3; i++) t.same(rates.acquire('/', 'k', 0, 1_000), { delay: 0, slot: clock.now });
});
