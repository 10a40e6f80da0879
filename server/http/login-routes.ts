// POST /api/login and /api/logout (the dashboard's session cookie) and GET /api/whoami. A login
// checks the password as every other login does (throttle, hashing slots, loopback rule).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { fail } from '../../shared/errors.js';
import type { HttpPrincipal } from './auth.js';
import type { HttpDeps } from './http-deps.js';
import { WHOAMI_SCHEMA } from './schemas.js';
import { SESSION_COOKIE, type SessionStore } from './sessions.js';

interface LoginBody {
  user: string;
  password: string;
}

/** How the cookie is set: the browser sends it to this broker's pages only, and scripts there cannot read it. */
const COOKIE_OPTIONS = { httpOnly: true, sameSite: 'strict', path: '/' } as const;

function whoami(who: HttpPrincipal): Record<string, unknown> {
  return {
    name: who.user,
    tags: [...who.tags],
    vhosts: who.vhosts === null ? null : [...who.vhosts],
    via: who.via,
    ...(who.session === undefined ? {} : { csrfToken: who.session.csrfToken }),
  };
}

function clearCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, COOKIE_OPTIONS);
}

/**
 * Registers the login routes. Form bodies (application/x-www-form-urlencoded) are parsed for
 * these routes only: every other action takes JSON, which a form of another site cannot send.
 */
export function registerLoginRoutes(app: FastifyInstance, deps: Pick<HttpDeps, 'users'>, sessions: SessionStore): void {
  app.register(async (login) => {
    login.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    login.post<{ Body: LoginBody }>('/api/login', {
      schema: {
        tags: ['auth'],
        summary: 'Log in for the dashboard: sets the session cookie',
        description: 'JSON or form body. The answer carries `csrfToken`: every action made with the cookie must send it in the x-celeriac-csrf header.',
        security: [],
        body: {
          type: 'object',
          required: ['user', 'password'],
          additionalProperties: false,
          properties: { user: { type: 'string', minLength: 1, maxLength: 1024 }, password: { type: 'string', maxLength: 4096 } },
        },
        response: { 200: WHOAMI_SCHEMA },
      },
      bodyLimit: 16 * 1024,
      config: { auth: 'none' },
    }, async (req, reply) => {
      const identity = await deps.users.identify(req.body.user, req.body.password, req.socket.remoteAddress);
      if (identity.tags.length === 0) {
        throw fail('ERR_ACCESS_DENIED', `user '${identity.user}' has no management tag: give it administrator or monitoring to use the dashboard`);
      }
      const old = req.cookies[SESSION_COOKIE];
      if (old !== undefined) sessions.delete(old);
      const { id, session } = sessions.create(identity);
      reply.setCookie(SESSION_COOKIE, id, COOKIE_OPTIONS);
      return whoami({ ...identity, via: 'session', session });
    });
  });

  app.post('/api/logout', {
    schema: { tags: ['auth'], summary: 'End the session and clear its cookie', security: [], response: { 204: { type: 'null' } } },
    config: { auth: 'none' },
  }, async (req, reply) => {
    const id = req.cookies[SESSION_COOKIE];
    if (id !== undefined) sessions.delete(id);
    clearCookie(reply);
    return reply.code(204).send();
  });

  app.get('/api/whoami', {
    schema: { tags: ['auth'], summary: 'The user making the request, its tags, and (with a session) its CSRF token', response: { 200: WHOAMI_SCHEMA } },
  }, async (req) => whoami(req.principal!));
}
