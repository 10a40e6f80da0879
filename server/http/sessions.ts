// Dashboard logins: server-side sessions behind a random cookie id, each with its CSRF token.
// In memory only: a broker restart logs everyone out, which is what a restart should do.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Identity } from '../auth/users.js';

/** Name of the session cookie (HttpOnly, SameSite=Strict, Path=/). */
export const SESSION_COOKIE = 'celeriac_session';
/** The header an action made with the session cookie must carry, holding the session's CSRF token. */
export const CSRF_HEADER = 'x-celeriac-csrf';

/** How long sessions live; {@link DEFAULT_SESSION_SETTINGS} is what brokers use. */
export interface SessionSettings {
  /** A session unused this long is gone. */
  readonly idleMs: number;
  /** A session is gone this long after its login, used or not. */
  readonly maxAgeMs: number;
  /** Sessions held at most; the oldest login goes first. */
  readonly max: number;
}

export const DEFAULT_SESSION_SETTINGS: Readonly<SessionSettings> = Object.freeze({ idleMs: 30 * 60_000, maxAgeMs: 12 * 3_600_000, max: 10_000 });

/** One logged-in browser. */
export interface WebSession {
  readonly identity: Identity;
  /** Sent back in {@link CSRF_HEADER} with every action: a page of another site cannot read it. */
  readonly csrfToken: string;
  readonly createdAt: number;
  lastSeen: number;
}

/**
 * The sessions of one broker, keyed by a hash of their id, so the map holds nothing a cookie
 * could be rebuilt from. The clock is a parameter so tests drive expiry.
 */
export class SessionStore {
  private readonly sessions = new Map<string, WebSession>();

  constructor(private readonly settings: Readonly<SessionSettings> = DEFAULT_SESSION_SETTINGS, private readonly now: () => number = Date.now) {}

  /** Starts a session; the id goes in the cookie and nowhere else. */
  create(identity: Identity): { id: string; session: WebSession } {
    const id = randomBytes(32).toString('base64url');
    const at = this.now();
    const session: WebSession = { identity, csrfToken: randomBytes(24).toString('base64url'), createdAt: at, lastSeen: at };
    this.sessions.set(keyOf(id), session);
    for (const oldest of this.sessions.keys()) {
      if (this.sessions.size <= this.settings.max) break;
      this.sessions.delete(oldest);
    }
    return { id, session };
  }

  /** The live session with this id (and marks it used), or undefined. */
  get(id: string): WebSession | undefined {
    const key = keyOf(id);
    const s = this.sessions.get(key);
    if (s === undefined) return undefined;
    const at = this.now();
    if (at - s.lastSeen > this.settings.idleMs || at - s.createdAt > this.settings.maxAgeMs) {
      this.sessions.delete(key);
      return undefined;
    }
    s.lastSeen = at;
    return s;
  }

  /** Ends a session (logout); unknown ids are ignored. */
  delete(id: string): void {
    this.sessions.delete(keyOf(id));
  }

  /** Sessions held now, expired ones not yet noticed included. */
  get size(): number {
    return this.sessions.size;
  }
}

/** True when `given` is the session's CSRF token; compared in constant time. */
export function csrfMatches(session: WebSession, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(session.csrfToken);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function keyOf(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}
