// LazyAbort without a pool: the signal a task reads behaves as an AbortController's, whether the
// abort came before the first read (kept until then) or after it; only the first abort counts.
import t from 'tap';
import { LazyAbort } from '../../client/worker/lazy-abort.js';

t.test('an abort before the first read shows on the signal read later, with its reason', async (t) => {
  const a = new LazyAbort();
  const first = new Error('first');
  a.abort(first);
  a.abort(new Error('second'));
  const signal = a.signal;
  t.equal(signal.aborted, true);
  t.equal(signal.reason, first, 'the first abort counts, as with AbortController');
  t.equal(a.signal, signal, 'one signal per run');
  let fired = 0;
  signal.addEventListener('abort', () => { fired++; });
  a.abort(new Error('third'));
  t.equal(fired, 0, 'an aborted signal does not fire again');
});

t.test('an abort after the first read fires the listeners once', async (t) => {
  const a = new LazyAbort();
  const signal = a.signal;
  t.equal(signal.aborted, false);
  const reasons: unknown[] = [];
  signal.addEventListener('abort', () => reasons.push(signal.reason));
  const why = new Error('soft limit');
  a.abort(why);
  a.abort(new Error('later'));
  t.same(reasons, [why]);
  t.equal(signal.reason, why);
});

