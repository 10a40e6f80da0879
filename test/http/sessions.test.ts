// The dashboard's server-side sessions on an injected clock: random ids, idle and absolute expiry,
// a cap on how many are held, logout, and the CSRF token compared exactly.
import t from 'tap';
import { SessionStore, csrfMatches } from '../../server/http/sessions.js';
import type { Identity } from '../../server/auth/users.js';

const ADMIN: Identity = { user: 'admin', tags: ['administrator'], vhosts: null };

function clock(): { now: () => number; advance: (ms: number) => void } {
  let at = 1_000_000;
  return { now: () => at, advance: (ms) => { at += ms; } };
}

t.test('a session is found by its id until it idles out; use keeps it alive', async (t) => {
  const c = clock();
  const store = new SessionStore({ idleMs: 1_000, maxAgeMs: 10_000, max: 10 }, c.now);
  const { id, session } = store.create(ADMIN);
  t.match(id, /^[\w-]{43}$/, '32 random bytes, base64url');
  t.not(store.create(ADMIN).id, id, 'ids differ');
  t.equal(store.get(id), session);
  c.advance(900);
  t.equal(store.get(id), session, 'used within the idle time');
  c.advance(900);
  t.equal(store.get(id), session, 'the last use counts, not the login');
  c.advance(1_001);
  t.equal(store.get(id), undefined, 'idle too long');
  t.equal(store.get('not-an-id'), undefined);
});

t.test('a session ends at its maximum age however much it is used; logout ends it at once', async (t) => {
  const c = clock();
  const store = new SessionStore({ idleMs: 1_000, maxAgeMs: 3_000, max: 10 }, c.now);
  const { id } = store.create(ADMIN);
  for (let i = 0; i < 3; i++) {
    c.advance(900);
    t.ok(store.get(id), `still alive after ${(i + 1) * 900} ms`);
  }
  c.advance(900);
  t.equal(store.get(id), undefined, 'past the maximum age');
  const other = store.create(ADMIN);
  store.delete(other.id);
  t.equal(store.get(other.id), undefined, 'logged out');
});

t.test('at most `max` sessions: the oldest login goes first', async (t) => {
  const store = new SessionStore({ idleMs: 1_000, maxAgeMs: 3_000, max: 2 }, clock().now);
  const a = store.create(ADMIN);
  const b = store.create(ADMIN);
  const c = store.create(ADMIN);
  t.equal(store.size, 2);
  t.equal(store.get(a.id), undefined);
  t.ok(store.get(b.id));
  t.ok(store.get(c.id));
});

t.test('the CSRF token must match exactly', async (t) => {
  const { session } = new SessionStore().create(ADMIN);
  t.ok(csrfMatches(session, session.csrfToken));
  t.notOk(csrfMatches(session, undefined));
  t.notOk(csrfMatches(session, ''));
  t.notOk(csrfMatches(session, session.csrfToken.slice(0, -1)));
  t.notOk(csrfMatches(session, `${session.csrfToken}x`));
});
