// Password hashing for broker users: scrypt with a random salt per user, compared in constant time.
// Hashing happens once at start-up (sync); checks run on the libuv pool so a login never blocks the loop.
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/** A password as the broker keeps it: never the password itself. */
export interface PasswordHash {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

/**
 * The exact bytes scrypt is keyed with. scrypt's PBKDF2-HMAC pads a key shorter than a block with
 * zeros and hashes one longer than a block, so "s3cret" and "s3cret\0" (or a long password and its
 * SHA-256) would be the same key. A SHA-256 of every UTF-16 code unit (lone surrogates included,
 * which UTF-8 would fold into U+FFFD) is always one 32-byte key: equal keys only for equal strings.
 */
function keyOf(password: string): Buffer {
  return createHash('sha256').update(Buffer.from(password, 'utf16le')).digest();
}

/** Hashes a password with a fresh random salt. */
export function hashPassword(password: string): PasswordHash {
  const salt = randomBytes(SALT_LENGTH);
  return { salt, hash: scryptSync(keyOf(password), salt, KEY_LENGTH) };
}

/** True when `password` matches; the comparison takes the same time whatever the bytes. */
export function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  return new Promise((resolve) => {
    scrypt(keyOf(password), stored.salt, KEY_LENGTH, (err, derived) => {
      if (err !== null) return resolve(false);
      resolve(derived.length === stored.hash.length && timingSafeEqual(derived, stored.hash));
    });
  });
}
