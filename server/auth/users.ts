// Who may connect: users with hashed passwords, the virtual hosts each may use, and the rule that
// the built-in default user (guest/guest) is accepted from loopback addresses only, as in RabbitMQ.
// A login waits for a hashing slot and, from an address with recent failures, for its delay.
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CeleriacError, fail } from '../../shared/errors.js';
import { HashSlots } from './hash-slots.js';
import { DEFAULT_THROTTLE, LoginThrottle, type ThrottleCounts, type ThrottleSettings } from './login-throttle.js';
import { hashPassword, verifyPassword, type PasswordHash } from './password.js';
import { peerKey } from './peer-key.js';

/** A user as given in the broker's options. */
export interface UserSpec {
  user: string;
  password: string;
  /** Virtual hosts this user may open; absent = every vhost of the broker. */
  vhosts?: string[];
}

/** The built-in user created when no users are configured (loopback only). */
export const DEFAULT_USER = Object.freeze({ user: 'guest', password: 'guest' });

interface UserEntry {
  readonly name: string;
  readonly password: PasswordHash;
  /** null = every vhost. */
  readonly vhosts: ReadonlySet<string> | null;
  readonly loopbackOnly: boolean;
}

/** What a successful login yields. */
export interface Principal {
  user: string;
  vhost: string;
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped IPv6 forms. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || a === '0:0:0:0:0:0:0:1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/**
 * The decision for the default user, apart so it is testable without a non-loopback socket:
 * a loopback-only user from any other address is refused.
 */
export function allowedFrom(loopbackOnly: boolean, peerAddress: string | undefined): boolean {
  return !loopbackOnly || isLoopback(peerAddress);
}

/**
 * At most this many scrypt runs at once (each ~16 MiB and a core for tens of ms): two, or one on a
 * machine of two cores or fewer, so hashing always leaves a core to the event loop and, of libuv's
 * four threads, at least two to everything else.
 */
export const MAX_CONCURRENT_HASHES = Math.max(1, Math.min(2, availableParallelism() - 1));

/** Login counts for /metrics. */
export interface LoginStats extends ThrottleCounts {
  /** Password checks running now. */
  hashing: number;
  /** Logins waiting for a hashing slot. */
  waiting: number;
}

/** The users of one broker; built once from validated options. */
export class UserRegistry {
  private readonly users = new Map<string, UserEntry>();
  /** Hashed once so an unknown user costs the same scrypt as a known one (no user enumeration by timing). */
  private readonly decoy: PasswordHash = hashPassword('decoy');
  private readonly slots = new HashSlots(MAX_CONCURRENT_HASHES);
  private readonly throttle: LoginThrottle;

  /** `specs` undefined = the default guest user only, restricted to loopback. */
  constructor(specs: readonly UserSpec[] | undefined, throttle: Readonly<ThrottleSettings> = DEFAULT_THROTTLE) {
    this.throttle = new LoginThrottle(throttle);
    if (specs === undefined) {
      this.users.set(DEFAULT_USER.user, { name: DEFAULT_USER.user, password: hashPassword(DEFAULT_USER.password), vhosts: null, loopbackOnly: true });
      return;
    }
    for (const s of specs) {
      this.users.set(s.user, { name: s.user, password: hashPassword(s.password), vhosts: s.vhosts === undefined ? null : new Set(s.vhosts), loopbackOnly: false });
    }
  }

  /** Failed, delayed and refused logins since start, and the hashing now. */
  stats(): LoginStats {
    return { ...this.throttle.counts, hashing: this.slots.running, waiting: this.slots.waiting };
  }

  /**
   * Checks a hello's credentials; resolves the principal or rejects with ERR_ACCESS_REFUSED.
   * The messages differ (a user needs to know which part was wrong) but the timing does not.
   * An address with recent failures waits first (or is refused while many of its attempts are
   * pending); `signal` aborts the wait when the peer leaves, so it takes no hashing slot.
   */
  async authenticate(user: string, password: string, vhost: string, peerAddress: string | undefined, signal?: AbortSignal): Promise<Principal> {
    const address = peerKey(peerAddress);
    const admission = this.throttle.begin(address);
    if (admission.kind === 'refuse') {
      // Answered after the address's delay all the same (no hash, no slot): a loop of bad logins
      // gains nothing by being refused, and cannot make the broker set up connections at full speed.
      await sleep(admission.delayMs, undefined, signal === undefined ? {} : { signal });
      throw fail('ERR_ACCESS_REFUSED', `login refused: ${admission.pending} logins from ${address} are already waiting after failed ones; retry later`, { pending: admission.pending });
    }
    const entry = this.users.get(user);
    let ok: boolean | null = null;
    try {
      if (admission.delayMs > 0) await sleep(admission.delayMs, undefined, signal === undefined ? {} : { signal });
      const release = await this.slots.acquire({ suspect: admission.suspect, ...(signal === undefined ? {} : { signal }) });
      try {
        ok = (await verifyPassword(password, entry?.password ?? this.decoy)) && entry !== undefined;
      } finally {
        release();
      }
    } finally {
      this.throttle.end(address, ok);
    }
    if (!ok || entry === undefined) throw fail('ERR_ACCESS_REFUSED', `login refused for user '${user}': wrong user name or password`);
    if (!allowedFrom(entry.loopbackOnly, peerAddress)) {
      throw fail('ERR_ACCESS_REFUSED', `user '${user}' may only connect from localhost; configure users to connect from ${peerAddress ?? 'elsewhere'}`);
    }
    if (entry.vhosts !== null && !entry.vhosts.has(vhost)) {
      throw new CeleriacError('ERR_ACCESS_REFUSED', `user '${user}' may not use virtual host '${vhost}'`, { details: { vhost } });
    }
    return { user, vhost };
  }
}
