// The HTTP gate on its own, on a bare fastify server over real HTTP: the route modes a page needs
// ('optional': the handler runs without a user and shows its login form, also for an expired
// session; wrong credentials are still refused), the role defaults by method, and requireRole.
import t, { type Test } from 'tap';
import fastifyCookie from '@fastify/cookie';
import Fastify from 'fastify';
import { UserRegistry } from '../../server/auth/users.js';
import { registerAuth, requireRole } from '../../server/http/auth.js';
import { errorBody, httpStatusOf } from '../../server/http/http-deps.js';
import { SESSION_COOKIE, SessionStore } from '../../server/http/sessions.js';
import { CeleriacError } from '../../shared/errors.js';
import { api, basic } from '../helpers/http.js';

async function gated(t: Test): Promise<{ httpUrl: string; sessions: SessionStore }> {
  const users = new UserRegistry([
    { user: 'admin', password: 'adm1n', tags: ['administrator'] },
    { user: 'eye', password: 'w4tch', tags: ['monitoring'] },
  ]);
  const sessions = new SessionStore({ idleMs: 60_000, maxAgeMs: 60_000, max: 10 });
  const app = Fastify();
  app.setErrorHandler(async (err: CeleriacError, _req, reply) => reply.code(httpStatusOf(err.code)).send(errorBody(err)));
  await app.register(fastifyCookie);
  await app.register(async (api) => {
    registerAuth(api, { users }, sessions);
    api.get('/page', { config: { auth: 'optional' } }, async (req) => (req.principal === null ? 'login form' : `hello ${req.principal.user}`));
    api.get('/danger', { config: { auth: 'optional' } }, async (req) => `done by ${requireRole(req, 'administrator').user}`);
    api.post('/act', async (req) => `acted as ${req.principal!.user}`);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const address = app.server.address() as { port: number };
  return { httpUrl: `http://127.0.0.1:${address.port}`, sessions };
}

t.test("an 'optional' route runs without a user (a page's login form), with one, and refuses wrong credentials", async (t) => {
  const { httpUrl, sessions } = await gated(t);
  const s = { httpUrl };
  const anonymous = await api(s, '/page', { auth: null });
  t.equal(anonymous.status, 200);
  t.equal(anonymous.body, 'login form', 'no credentials: the handler runs with no principal');
  t.equal(anonymous.headers.get('www-authenticate'), null, 'and no Basic prompt');
  t.equal((await api(s, '/page', { auth: basic('eye', 'w4tch') })).body, 'hello eye');
  t.equal((await api(s, '/page', { auth: basic('eye', 'nope') })).status, 401, 'wrong credentials are refused even here');
  const { id } = sessions.create({ user: 'eye', tags: ['monitoring'], vhosts: null });
  t.equal((await api(s, '/page', { auth: null, headers: { cookie: `${SESSION_COOKIE}=${id}` } })).body, 'hello eye');
  sessions.delete(id);
  const expired = await api(s, '/page', { auth: null, headers: { cookie: `${SESSION_COOKIE}=${id}` } });
  t.equal(expired.body, 'login form', 'an expired session: the login form again, not an error');
});

t.test('requireRole inside a handler; a POST needs administrator by default', async (t) => {
  const { httpUrl } = await gated(t);
  const s = { httpUrl };
  t.equal((await api(s, '/danger', { auth: null })).status, 401);
  t.equal((await api(s, '/danger', { auth: basic('eye', 'w4tch') })).status, 403);
  t.equal((await api(s, '/danger', { auth: basic('admin', 'adm1n') })).body, 'done by admin');
  t.equal((await api(s, '/act', { method: 'POST', auth: basic('eye', 'w4tch') })).status, 403, 'a route that names no role: actions are for administrators');
  t.equal((await api(s, '/act', { method: 'POST', auth: basic('admin', 'adm1n') })).body, 'acted as admin');
});
