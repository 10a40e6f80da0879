// Password checks compare exact strings: HMAC's zero padding of short keys (inside scrypt's
// PBKDF2) and UTF-8's folding of lone surrogates must not make two passwords one.
import t from 'tap';
import { hashPassword, verifyPassword } from '../../server/auth/password.js';

t.test('a trailing NUL is a different password', async (t) => {
  const stored = hashPassword('s3cret');
  t.equal(await verifyPassword('s3cret', stored), true);
  t.equal(await verifyPassword('s3cret\0', stored), false, 's3cret\\0 is not s3cret');
  t.equal(await verifyPassword('s3cret\0\0\0', stored), false);
  t.equal(await verifyPassword('s3cre', stored), false);
  t.equal(await verifyPassword('', hashPassword('\0')), false, 'empty is not NUL');
});

t.test('a lone surrogate is not the replacement character', async (t) => {
  const stored = hashPassword('pw\uD800');
  t.equal(await verifyPassword('pw\uD800', stored), true);
  t.equal(await verifyPassword('pw\uFFFD', stored), false);
});

t.test('long passwords are compared whole', async (t) => {
  const long = 'x'.repeat(200);
  const stored = hashPassword(long);
  t.equal(await verifyPassword(long, stored), true);
  t.equal(await verifyPassword(`${long}y`, stored), false);
  t.equal(await verifyPassword(long.slice(1), stored), false);
});
