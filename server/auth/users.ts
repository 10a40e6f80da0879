// Who may connect: users with hashed passwords, their tags (RabbitMQ's management roles), the
// virtual hosts each may use, and the rule that the built-in default user (guest/guest) is accepted
// from loopback addresses only, as in RabbitMQ. A login waits for a hashing slot and, from an
// address with recent failures, for its delay.
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CeleriacError, fail } from '../../shared/errors.js';
import { HashSlots } from './hash-slots.js';
import { DEFAULT_THROTTLE, LoginThrottle, type ThrottleCounts, type ThrottleSettings } from './login-throttle.js';
import { hashPassword, verifyPassword, type PasswordHash } from './password.js';
import { peerKey } from './peer-key.js';
import { VerifiedLogins } from './verified-logins.js';

/**
 * Tags a user may carry, RabbitMQ's names for management roles: `monitoring` reads the management
 * API (listings, overview, metrics), `administrator` also acts (delete, purge, publish, get...).
 * A user without either uses the WebSocket protocol only, as in RabbitMQ.
 */
export const USER_TAGS = ['administrator', 'monitoring'] as const;
/** One of {@link USER_TAGS}. */
export type UserTag = (typeof USER_TAGS)[number];

/** True when `v` is one of {@link USER_TAGS}. */
export function isUserTag(v: unknown): v is UserTag {
  return typeof v === 'string' && (USER_TAGS as readonly string[]).includes(v);
}

/** A user as given in the broker's options. */
export interface UserSpec {
  user: string;
  password: string;
  /** Virtual hosts this user may open; absent = every vhost of the broker. */
  vhosts?: string[];
  /** Management tags; absent or empty = no access to the HTTP API (WebSocket only). */
  tags?: UserTag[];
}

/** The built-in user created when no users are configured (loopback only, administrator). */
export const DEFAULT_USER = Object.freeze({ user: 'guest', password: 'guest', tags: Object.freeze(['administrator'] as const) });

interface UserEntry {
  readonly name: string;
  readonly password: PasswordHash;
  /** null = every vhost. */
  readonly vhosts: ReadonlySet<string> | null;
  readonly tags: readonly UserTag[];
  readonly loopbackOnly: boolean;
}

/** What a successful login yields. */
export interface Principal {
  user: string;
  vhost: string;
}

/** Who a checked user name and password belong to (no vhost chosen yet: the HTTP side). */
export interface Identity {
  readonly user: string;
  readonly tags: readonly UserTag[];
  /** Virtual hosts the user may use; null = every vhost of the broker. */
  readonly vhosts: ReadonlySet<string> | null;
}

/** A user as the management API lists it: never the password or its hash. */
export interface UserListing {
  name: string;
  tags: UserTag[];
  /** null = every vhost. */
  vhosts: string[] | null;
  /** True for the built-in guest user, accepted from loopback addresses only. */
  loopbackOnly: boolean;
}

/** Options of {@link UserRegistry.identify}. */
export interface IdentifyOptions {
  /** Aborts a login still waiting (its peer left): it takes no hashing slot. */
  signal?: AbortSignal;
  /**
   * Remember a correct name and password for a while, and answer them again without scrypt: for
   * HTTP Basic, where every request carries the credentials. Wrong ones are never remembered.
   */
  remember?: boolean;
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
  private readonly verified = new VerifiedLogins();

  /** `specs` undefined = the default guest user only, restricted to loopback. */
  constructor(specs: readonly UserSpec[] | undefined, throttle: Readonly<ThrottleSettings> = DEFAULT_THROTTLE) {
    this.throttle = new LoginThrottle(throttle);
    if (specs === undefined) {
      this.users.set(DEFAULT_USER.user, {
        name: DEFAULT_USER.user, password: hashPassword(DEFAULT_USER.password), vhosts: null, tags: DEFAULT_USER.tags, loopbackOnly: true,
      });
      return;
    }
    for (const s of specs) {
      this.users.set(s.user, {
        name: s.user,
        password: hashPassword(s.password),
        vhosts: s.vhosts === undefined ? null : new Set(s.vhosts),
        tags: Object.freeze([...new Set(s.tags ?? [])]),
        loopbackOnly: false,
      });
    }
  }

  /** Every user, for GET /api/users: names, tags and vhosts, never a password hash. */
  list(): UserListing[] {
    return [...this.users.values()].map((e) => ({
      name: e.name, tags: [...e.tags], vhosts: e.vhosts === null ? null : [...e.vhosts], loopbackOnly: e.loopbackOnly,
    }));
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
    const who = await this.identify(user, password, peerAddress, signal === undefined ? {} : { signal });
    if (who.vhosts !== null && !who.vhosts.has(vhost)) {
      throw new CeleriacError('ERR_ACCESS_REFUSED', `user '${user}' may not use virtual host '${vhost}'`, { details: { vhost } });
    }
    return { user, vhost };
  }

  /**
   * Checks a user name and password from `peerAddress` with the same throttle, hashing slots and
   * loopback rule as a WebSocket login; resolves who it is or rejects with ERR_ACCESS_REFUSED.
   */
  async identify(user: string, password: string, peerAddress: string | undefined, options: IdentifyOptions = {}): Promise<Identity> {
    const { signal, remember = false } = options;
    let entry = this.users.get(user);
    // A remembered pair skips the throttle and the hash: it was the right password a moment ago.
    const known = remember && entry !== undefined && this.verified.has(user, password);
    const address = peerKey(peerAddress);
    if (known) this.throttle.clear(address);
    else {
      const admission = this.throttle.begin(address);
      if (admission.kind === 'refuse') {
        // Answered after the address's delay all the same (no hash, no slot): a loop of bad logins
        // gains nothing by being refused, and cannot make the broker set up connections at full speed.
        await sleep(admission.delayMs, undefined, signal === undefined ? {} : { signal });
        throw fail('ERR_ACCESS_REFUSED', `login refused: ${admission.pending} logins from ${address} are already waiting after failed ones; retry later`, { pending: admission.pending });
      }
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
      if (!ok) entry = undefined;
      else if (remember) this.verified.add(user, password);
    }
    if (entry === undefined) throw fail('ERR_ACCESS_REFUSED', `login refused for user '${user}': wrong user name or password`);
    if (!allowedFrom(entry.loopbackOnly, peerAddress)) {
      throw fail('ERR_ACCESS_REFUSED', `user '${user}' may only connect from localhost; configure users to connect from ${peerAddress ?? 'elsewhere'}`);
    }
    return { user, tags: entry.tags, vhosts: entry.vhosts };
  }
}
