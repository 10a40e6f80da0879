// Correct user name + password pairs seen lately, so HTTP Basic (credentials on every request)
// does not cost an scrypt per request. Keyed by an HMAC under a per-broker random key: never the password.
import { createHmac, randomBytes } from 'node:crypto';

/** How long a correct pair is remembered after its last check, and how many pairs at most. */
export interface VerifiedLoginsSettings {
  readonly ttlMs: number;
  readonly max: number;
}

export const DEFAULT_VERIFIED_LOGINS: Readonly<VerifiedLoginsSettings> = Object.freeze({ ttlMs: 5 * 60_000, max: 1_000 });

/**
 * A bounded, expiring set of verified pairs. Only successes go in, so it can never let a wrong
 * password through; the least recently added pair goes first when full. The clock is a parameter.
 */
export class VerifiedLogins {
  private readonly key = randomBytes(32);
  /** HMAC of the pair -> expiry (ms); Map order = insertion order, oldest first. */
  private readonly pairs = new Map<string, number>();

  constructor(private readonly settings: Readonly<VerifiedLoginsSettings> = DEFAULT_VERIFIED_LOGINS, private readonly now: () => number = Date.now) {}

  /** True when this exact pair was verified within the TTL. */
  has(user: string, password: string): boolean {
    const k = this.keyOf(user, password);
    const until = this.pairs.get(k);
    if (until === undefined) return false;
    if (until <= this.now()) {
      this.pairs.delete(k);
      return false;
    }
    return true;
  }

  /** Remembers a pair that just passed the password check. */
  add(user: string, password: string): void {
    const k = this.keyOf(user, password);
    this.pairs.delete(k);
    this.pairs.set(k, this.now() + this.settings.ttlMs);
    for (const oldest of this.pairs.keys()) {
      if (this.pairs.size <= this.settings.max) break;
      this.pairs.delete(oldest);
    }
  }

  private keyOf(user: string, password: string): string {
    // Lengths first, so ("a:b", "c") and ("a", "b:c") can never share a key; UTF-16 as the hash keys passwords.
    return createHmac('sha256', this.key)
      .update(`${user.length}:${password.length}:`)
      .update(Buffer.from(user, 'utf16le'))
      .update(Buffer.from(password, 'utf16le'))
      .digest('base64url');
  }
}
