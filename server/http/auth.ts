// The one gate every HTTP request passes: who is asking (HTTP Basic, or the dashboard's session
// cookie with its CSRF header), and may they (tags as RabbitMQ's: monitoring reads, administrator acts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fail } from '../../shared/errors.js';
import type { Identity, UserTag } from '../auth/users.js';
import type { HttpDeps } from './http-deps.js';
import { CSRF_HEADER, SESSION_COOKIE, csrfMatches, type SessionStore, type WebSession } from './sessions.js';

/** How a route is guarded (its `config.auth`). */
export type RouteAuth =
  /** A user with a management tag (the default). */
  | 'required'
  /** As 'required' when credentials come; without any, the handler runs with `req.principal` null (a page that shows a login form). */
  | 'optional'
  /** No credentials asked: /healthz, /readyz, the login itself, /metrics with --metrics-open. */
  | 'none';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; default 'required'. */
    auth?: RouteAuth;
    /** The tag the route needs; default `monitoring` for GET and HEAD, `administrator` for every other method. */
    role?: UserTag;
    /** A probe (/healthz, /readyz): answers while the broker shuts down, when every other route refuses with ERR_SERVER_SHUTDOWN. */
    probe?: boolean;
  }
  interface FastifyRequest {
    /** Who made the request; null on routes with auth 'none', and 'optional' ones called without credentials. */
    principal: HttpPrincipal | null;
  }
}

/** An authenticated caller of the HTTP API. */
export interface HttpPrincipal extends Identity {
  /** How the request proved it: an Authorization header, or the session cookie. */
  readonly via: 'basic' | 'session';
  /** The dashboard session, when via is 'session'. */
  readonly session?: WebSession;
}

/** The challenge of a 401, so curl and browsers know to send Basic credentials. */
export const BASIC_CHALLENGE = 'Basic realm="celeriac", charset="UTF-8"';

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True when a user with `tags` holds `role`: administrator includes everything monitoring may do. */
export function hasRole(tags: readonly UserTag[], role: UserTag): boolean {
  return tags.includes('administrator') || tags.includes(role);
}

/**
 * The caller of a request that needs `role`: throws ERR_ACCESS_REFUSED (401) when nobody
 * authenticated, ERR_ACCESS_DENIED (403) when the user lacks the tag. For handlers that decide
 * inside (an 'optional' page); routes declare `config.role` instead and the gate checks it.
 */
export function requireRole(req: FastifyRequest, role: UserTag): HttpPrincipal {
  const who = req.principal;
  if (who === null) throw fail('ERR_ACCESS_REFUSED', 'this needs a user: send HTTP Basic credentials or log in');
  if (!hasRole(who.tags, role)) {
    throw fail('ERR_ACCESS_DENIED', `user '${who.user}' (${who.tags.join(', ') || 'no tags'}) may not do this: it needs the ${role} tag`, { role });
  }
  return who;
}

/** True when the caller may see and act in `vhost`. */
export function mayUseVhost(who: Identity, vhost: string): boolean {
  return who.vhosts === null || who.vhosts.has(vhost);
}

/**
 * Checks a vhost named in a path: ERR_ACCESS_DENIED when the caller may not use it,
 * ERR_NOT_FOUND when it does not exist.
 */
export function checkVhost(req: FastifyRequest, deps: Pick<HttpDeps, 'vhosts'>, vhost: string): void {
  const who = req.principal;
  if (who !== null && !mayUseVhost(who, vhost)) throw fail('ERR_ACCESS_DENIED', `user '${who.user}' may not use virtual host '${vhost}'`, { vhost });
  if (!deps.vhosts.includes(vhost)) throw fail('ERR_NOT_FOUND', `no virtual host '${vhost}'`, { vhost });
}

/** `Authorization: Basic base64(user:password)` -> the pair; undefined for any other scheme or a malformed value. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const m = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header);
  if (m === null) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  // RFC 7617: the user id cannot hold a colon, the password can.
  const at = text.indexOf(':');
  if (at < 0) return undefined;
  return { user: text.slice(0, at), password: text.slice(at + 1) };
}

/**
 * Refuses an unsafe request whose Origin is another site's. Browsers send Origin on every
 * cross-origin POST and DELETE; with SameSite=Strict on the cookie and the CSRF header, this also
 * stops a page elsewhere from riding on Basic credentials a browser remembers.
 */
function checkOrigin(req: FastifyRequest): void {
  const origin = req.headers.origin;
  if (origin === undefined || SAFE_METHODS.has(req.method)) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    host = '';
  }
  if (host === '' || host !== req.headers.host) throw fail('ERR_ACCESS_DENIED', `cross-origin request refused (Origin ${origin})`, { origin });
}

/**
 * Who the request's credentials belong to, or null when it carries none (or, on an 'optional'
 * route, only a session cookie that has expired: the page shows its login form). Throws for wrong ones.
 */
async function authenticate(req: FastifyRequest, deps: Pick<HttpDeps, 'users'>, sessions: SessionStore, optional: boolean): Promise<HttpPrincipal | null> {
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    const pair = parseBasic(authorization);
    if (pair === undefined) throw fail('ERR_ACCESS_REFUSED', 'the Authorization header is not HTTP Basic credentials (Basic base64(user:password))');
    // A peer that hangs up while its login waits (throttle, hashing slot) gives up its place.
    const socket = req.raw.socket;
    const gone = new AbortController();
    const onClose = (): void => gone.abort();
    socket.once('close', onClose);
    try {
      const who = await deps.users.identify(pair.user, pair.password, socket.remoteAddress, { signal: gone.signal, remember: true });
      return { ...who, via: 'basic' };
    } finally {
      socket.off('close', onClose);
    }
  }
  const id = req.cookies[SESSION_COOKIE];
  if (id === undefined || id === '') return null;
  const session = sessions.get(id);
  if (session === undefined) {
    if (optional) return null;
    throw fail('ERR_ACCESS_REFUSED', 'the session has expired or was logged out: log in again');
  }
  if (!SAFE_METHODS.has(req.method)) {
    const given = req.headers[CSRF_HEADER];
    if (!csrfMatches(session, typeof given === 'string' ? given : undefined)) {
      throw fail('ERR_ACCESS_DENIED', `an action with the session cookie needs the ${CSRF_HEADER} header holding the token given at login`);
    }
  }
  return { ...session.identity, via: 'session', session };
}

/**
 * Adds the 401 challenge to a refusal for want of credentials, except for a page's own script: a
 * request with the session cookie or `X-Requested-With` shows its login form, and a challenge
 * would pop the browser's Basic dialog over it.
 */
export function challenge(req: FastifyRequest, reply: FastifyReply): void {
  if (req.cookies[SESSION_COOKIE] !== undefined || req.headers['x-requested-with'] !== undefined) return;
  reply.header('www-authenticate', BASIC_CHALLENGE);
}

/**
 * Installs the gate as an onRequest hook of `app` (so it runs for every route, unknown URLs
 * included, before any body is read): the Origin check, then the credentials, then the role.
 */
export function registerAuth(app: FastifyInstance, deps: Pick<HttpDeps, 'users'>, sessions: SessionStore): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req, reply) => {
    checkOrigin(req);
    const config = req.routeOptions.config;
    const mode: RouteAuth = config.auth ?? 'required';
    if (mode === 'none') return;
    let who: HttpPrincipal | null;
    try {
      who = await authenticate(req, deps, sessions, mode === 'optional');
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ERR_ACCESS_REFUSED') challenge(req, reply);
      throw err;
    }
    if (who === null) {
      if (mode === 'optional') return;
      challenge(req, reply);
      throw fail('ERR_ACCESS_REFUSED', 'this needs a user: send HTTP Basic credentials (curl -u NAME:PASSWORD) or log in');
    }
    req.principal = who;
    if (who.tags.length === 0) {
      throw fail('ERR_ACCESS_DENIED', `user '${who.user}' has no management tag: give it administrator or monitoring (NAME+monitoring:PASSWORD) to use the HTTP API`);
    }
    requireRole(req, config.role ?? (SAFE_METHODS.has(req.method) ? 'monitoring' : 'administrator'));
  });
}
