// Password hashing for broker users: scrypt with a random salt per user, compared in constant time.
// Hashing happens once at start-up (sync); checks run on the libuv pool so a login never blocks the loop.
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/** A password as the broker keeps it: never the password itself. */
export interface PasswordHash {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/** Hashes a password with a fresh random salt. */
export function hashPassword(password: string): PasswordHash {
  const salt = randomBytes(SALT_LENGTH);
  return { salt, hash: scryptSync(password, salt, KEY_LENGTH) };
}

/** True when `password` matches; the comparison takes the same time whatever the bytes. */
export function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  return new Promise((resolve) => {
    scrypt(password, stored.salt, KEY_LENGTH, (err, derived) => {
      if (err !== null) return resolve(false);
      resolve(derived.length === stored.hash.length && timingSafeEqual(derived, stored.hash));
    });
  });
}
