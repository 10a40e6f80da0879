// Remembered right passwords (HTTP Basic sends them on every request), on an injected clock: an exact
// pair only, for a while, a bounded number of them.
import t from 'tap';
import { VerifiedLogins } from '../../server/auth/verified-logins.js';

t.test('only the exact pair, and only within the TTL', async (t) => {
  let now = 0;
  const v = new VerifiedLogins({ ttlMs: 1_000, max: 10 }, () => now);
  t.notOk(v.has('alice', 's3cret'), 'nothing before it was added');
  v.add('alice', 's3cret');
  t.ok(v.has('alice', 's3cret'));
  for (const [user, password] of [['alice', 's3cret\0'], ['alice', 's3cre'], ['Alice', 's3cret'], ['alice:s3', 'cret'], ['alic', 'e:s3cret']]) {
    t.notOk(v.has(user!, password!), `not ${JSON.stringify([user, password])}`);
  }
  now = 999;
  t.ok(v.has('alice', 's3cret'));
  now = 1_000;
  t.notOk(v.has('alice', 's3cret'), 'forgotten after the TTL');
});

t.test('at most `max` pairs: the oldest goes first', async (t) => {
  const v = new VerifiedLogins({ ttlMs: 1_000, max: 2 }, () => 0);
  v.add('a', '1');
  v.add('b', '2');
  v.add('c', '3');
  t.notOk(v.has('a', '1'));
  t.ok(v.has('b', '2'));
  t.ok(v.has('c', '3'));
});
