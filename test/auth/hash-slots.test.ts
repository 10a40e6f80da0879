// The hashing semaphore on its own: a cap, two lines (suspect logins after clean ones), and
// waiters that leave when their connection closes.
import t from 'tap';
import { HashSlots, type Release } from '../../server/auth/hash-slots.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('at most `limit` slots; the next waits for a release', async (t) => {
  const slots = new HashSlots(2);
  const a = await slots.acquire();
  const b = await slots.acquire();
  let third: Release | undefined;
  void slots.acquire().then((r) => { third = r; });
  await tick();
  t.equal(third, undefined, 'the third waits');
  t.equal(slots.running, 2);
  t.equal(slots.waiting, 1);
  a();
  await tick();
  t.type(third, 'function', 'the release handed the slot on');
  t.equal(slots.running, 2);
  a(); // twice is harmless: does not free a second slot
  t.equal(slots.running, 2);
  b();
  third!();
  t.equal(slots.running, 0);
});

t.test('suspect logins wait behind every clean one', async (t) => {
  const slots = new HashSlots(1);
  const first = await slots.acquire();
  const order: string[] = [];
  const take = (name: string, suspect: boolean): Promise<void> => slots.acquire({ suspect }).then((r) => { order.push(name); r(); });
  const all = [take('s1', true), take('c1', false), take('s2', true), take('c2', false)];
  first();
  await Promise.all(all);
  t.same(order, ['c1', 'c2', 's1', 's2']);
});

t.test('an aborted waiter leaves the line and takes no slot', async (t) => {
  const slots = new HashSlots(1);
  const first = await slots.acquire();
  const gone = new AbortController();
  const waiting = slots.acquire({ signal: gone.signal });
  let next: Release | undefined;
  void slots.acquire().then((r) => { next = r; });
  gone.abort(new Error('peer left'));
  await t.rejects(waiting, { message: 'peer left' });
  t.equal(slots.waiting, 1);
  first();
  await tick();
  t.type(next, 'function', 'the slot went to the one still waiting');
  await t.rejects(slots.acquire({ signal: gone.signal }), { message: 'peer left' }, 'already aborted: refused at once');
  next!();
  t.equal(slots.running, 0);
});

t.test('a limit below 1 is a programming error', async (t) => {
  t.throws(() => new HashSlots(0), RangeError);
});
