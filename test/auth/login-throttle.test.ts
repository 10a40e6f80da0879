// Failed logins per address, driven by an injected clock: free failures, a doubling delay with a
// ceiling, refusal while too many wait, forgiveness after a quiet spell, and no lockout.
import t from 'tap';
import { DEFAULT_THROTTLE, delayAfter, LoginThrottle, type ThrottleSettings } from '../../server/auth/login-throttle.js';

const settings: ThrottleSettings = { ...DEFAULT_THROTTLE, freeFailures: 2, baseDelayMs: 100, maxDelayMs: 1_000, maxPendingPerAddress: 2, forgetAfterMs: 10_000, maxAddresses: 3 };

function failOnce(th: LoginThrottle, address: string): void {
  const a = th.begin(address);
  if (a.kind !== 'check') throw new Error('refused');
  th.end(address, false);
}

t.test('the delay doubles past the free failures, up to its ceiling', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 6, 7].map((f) => delayAfter(f, settings)), [0, 0, 100, 200, 400, 800, 1000, 1000]);
  t.equal(delayAfter(10_000, settings), 1000, 'no overflow');
  t.ok(delayAfter(100, DEFAULT_THROTTLE) < 10_000, 'the default ceiling is under the default handshake timeout');
});

t.test('an address is delayed after its free failures; another is not', async (t) => {
  const th = new LoginThrottle(settings, () => 0);
  failOnce(th, 'a');
  failOnce(th, 'a');
  t.same(th.begin('a'), { kind: 'check', delayMs: 100, suspect: true });
  th.end('a', false);
  t.same(th.begin('b'), { kind: 'check', delayMs: 0, suspect: false });
  th.end('b', true);
  t.same(th.counts, { failures: 3, delayed: 1, refused: 0 });
  t.equal(th.failures('a'), 3);
});

t.test('too many waiting from a throttled address: refused unchecked; a clean address never is', async (t) => {
  const th = new LoginThrottle(settings, () => 0);
  failOnce(th, 'a');
  failOnce(th, 'a');
  t.equal(th.begin('a').kind, 'check');
  t.equal(th.begin('a').kind, 'check');
  t.same(th.begin('a'), { kind: 'refuse', pending: 2, delayMs: 100 }, 'refused, after the same delay');
  th.end('a', null); // one left before its answer
  t.equal(th.begin('a').kind, 'check', 'a place came free');
  for (let i = 0; i < 10; i++) t.equal(th.begin('b').kind, 'check', 'clean: any number at once');
});

t.test('the correct password still logs in, and clears the address', async (t) => {
  const th = new LoginThrottle(settings, () => 0);
  for (let i = 0; i < 6; i++) failOnce(th, 'a');
  const a = th.begin('a');
  t.same(a, { kind: 'check', delayMs: 1000, suspect: true }, 'delayed, not refused');
  th.end('a', true);
  t.equal(th.failures('a'), 0);
  t.same(th.begin('a'), { kind: 'check', delayMs: 0, suspect: false });
});

t.test('failures are forgotten after a quiet spell', async (t) => {
  let now = 0;
  const th = new LoginThrottle(settings, () => now);
  for (let i = 0; i < 4; i++) failOnce(th, 'a');
  t.equal(th.failures('a'), 4);
  now = 10_001;
  t.equal(th.failures('a'), 0);
  failOnce(th, 'a');
  t.equal(th.failures('a'), 1, 'counting starts again');
});

t.test('memory is bounded: the least recently failed address is forgotten first', async (t) => {
  const th = new LoginThrottle(settings, () => 0);
  for (const address of ['a', 'b', 'c', 'd']) failOnce(th, address);
  t.equal(th.failures('a'), 0, 'a was dropped for d');
  t.equal(th.failures('d'), 1);
});

t.test('clear(): a right password that needed no check forgets the address\'s failures', async (t) => {
  const th = new LoginThrottle(settings, () => 0);
  for (let i = 0; i < 3; i++) failOnce(th, '10.0.0.9');
  t.equal(th.failures('10.0.0.9'), 3);
  th.clear('10.0.0.9');
  t.equal(th.failures('10.0.0.9'), 0);
  t.match(th.begin('10.0.0.9'), { kind: 'check', delayMs: 0 }, 'no delay any more');
  th.clear('10.0.0.10');
  t.equal(th.failures('10.0.0.10'), 0, 'an unknown address: nothing to do');
});
