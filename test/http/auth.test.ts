// Who may use the HTTP API, through real HTTP to a real broker: the refusal matrix (no credentials,
// a wrong password, an unknown user, a monitoring user acting, a user without tags), with coded
// errors and nothing acted on; the dashboard's cookie login and its CSRF guard; the Origin check;
// the built-in guest from loopback only; /metrics left open by the flag.
import t, { type Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { connect, type Connection } from '../../client/index.js';
import type { Broker } from '../../server/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { api, basic, queuePath, type ApiOptions, type ErrorJson } from '../helpers/http.js';

const USERS = [
  { user: 'admin', password: 'adm1n', tags: ['administrator' as const] },
  { user: 'eye', password: 'w4tch', tags: ['monitoring' as const] },
  { user: 'app', password: 'w0rk' },
];
const ADMIN = basic('admin', 'adm1n');
const EYE = basic('eye', 'w4tch');

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

async function client(t: Test, broker: Broker, user = 'admin', password = 'adm1n'): Promise<Connection> {
  const conn = await connect(broker.url, { reconnect: false, user, password });
  t.teardown(() => conn.close());
  return conn;
}

/** A queue holding `n` messages, declared over the WebSocket protocol. */
async function queueWith(t: Test, broker: Broker, n: number): Promise<{ conn: Connection; name: string }> {
  const conn = await client(t, broker);
  const name = unique('auth-q');
  await conn.assertQueue(name, { durable: true });
  for (let i = 0; i < n; i++) await conn.sendToQueue(name, `m${i}`, { persistent: true });
  return { conn, name };
}

/** The four actions of the API on queue `name`. */
function actions(name: string): [string, string, ApiOptions][] {
  return [
    ['delete', queuePath(name), { method: 'DELETE' }],
    ['purge', `${queuePath(name)}/contents`, { method: 'DELETE' }],
    ['get', `${queuePath(name)}/get`, { method: 'POST', json: { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' } }],
    ['publish', '/api/exchanges/%2F/amq.default/publish', { method: 'POST', json: { routing_key: name, payload: 'more', payload_encoding: 'string', properties: {} } }],
  ];
}

/** The queue's message count as the administrator reads it. */
async function messages(broker: Broker, name: string): Promise<number> {
  const q = await api<{ messages: number }>(broker, queuePath(name), { auth: ADMIN });
  if (q.status !== 200) throw new Error(`queue ${name}: ${q.status}`);
  return q.body.messages;
}

t.test('no credentials, a wrong password, an unknown user, a bad header: 401 with the challenge; a monitoring user acting: 403; nothing acted on', async (t) => {
  const broker = await startTestBroker(t, { users: USERS });
  const { name } = await queueWith(t, broker, 3);
  const refused: [string, string | null][] = [
    ['no credentials', null],
    ['a wrong password', basic('admin', 'adm1n!')],
    ['an unknown user', basic('nobody', 'adm1n')],
    ['a header that is not Basic', 'Bearer adm1n'],
  ];
  for (const [action, path, options] of actions(name)) {
    for (const [who, auth] of refused) {
      const res = await api<ErrorJson>(broker, path, { ...options, auth });
      t.equal(res.status, 401, `${action} with ${who}: 401`);
      t.equal(res.body.error?.code, 'ERR_ACCESS_REFUSED', `${action} with ${who}: ERR_ACCESS_REFUSED`);
      t.equal(res.headers.get('www-authenticate'), 'Basic realm="celeriac", charset="UTF-8"', `${action} with ${who}: the Basic challenge`);
    }
    // The monitoring user's right password also clears the two failures of this round, as any correct login does.
    const denied = await api<ErrorJson>(broker, path, { ...options, auth: EYE });
    t.equal(denied.status, 403, `${action} by a monitoring user: 403`);
    t.equal(denied.body.error.code, 'ERR_ACCESS_DENIED');
    t.match(denied.body.error.message, /needs the administrator tag/);
    t.equal(denied.headers.get('www-authenticate'), null, 'no challenge: the credentials were fine');
  }
  t.equal(await messages(broker, name), 3, 'the queue still holds its three messages');
  const read = await api<{ name: string }>(broker, queuePath(name), { auth: EYE });
  t.equal(read.status, 200, 'the monitoring user reads');
  const listing = await api(broker, '/api/queues', { auth: null });
  t.equal(listing.status, 401, 'reads need credentials too');
});

t.test('a user without tags uses the WebSocket protocol only: the API answers 403', async (t) => {
  const broker = await startTestBroker(t, { users: USERS });
  const conn = await client(t, broker, 'app', 'w0rk');
  await conn.assertQueue(unique('app-q'));
  const res = await api<ErrorJson>(broker, '/api/overview', { auth: basic('app', 'w0rk') });
  t.equal(res.status, 403);
  t.equal(res.body.error.code, 'ERR_ACCESS_DENIED');
  t.match(res.body.error.message, /no management tag/);
  const login = await api<ErrorJson>(broker, '/api/login', { method: 'POST', json: { user: 'app', password: 'w0rk' }, auth: null });
  t.equal(login.status, 403, 'nor may it log in to the dashboard');
});

t.test('an administrator acts with Basic credentials', async (t) => {
  const broker = await startTestBroker(t, { users: USERS });
  const { name } = await queueWith(t, broker, 2);
  const purged = await api(broker, `${queuePath(name)}/contents`, { method: 'DELETE', auth: ADMIN });
  t.equal(purged.status, 204);
  t.equal(await messages(broker, name), 0);
});

t.test('the built-in guest user is an administrator from loopback', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await connect(broker.url, { reconnect: false });
  t.teardown(() => conn.close());
  const name = unique('guest-q');
  await conn.assertQueue(name);
  await conn.sendToQueue(name, 'x');
  t.equal((await api(broker, '/api/users')).status, 200, 'reads what only administrators read');
  t.equal((await api(broker, `${queuePath(name)}/contents`, { method: 'DELETE' })).status, 204, 'acts');
  t.equal((await api(broker, '/api/overview', { auth: basic('guest', 'wrong') })).status, 401);
});

const external = Object.values(networkInterfaces()).flat().find((a) => a !== undefined && !a.internal && a.family === 'IPv4');
const noExternal = external === undefined ? 'this machine has no non-loopback IPv4 address to connect from' : false;

t.test('the built-in guest user is refused from an address that is not loopback', { skip: noExternal }, async (t) => {
  if (external === undefined) return;
  const broker = await startTestBroker(t, { host: '0.0.0.0' });
  const from = { httpUrl: `http://${external.address}:${broker.port}` };
  const res = await api<ErrorJson>(from, '/api/overview');
  t.equal(res.status, 401, `guest from ${external.address}`);
  t.equal(res.body.error.code, 'ERR_ACCESS_REFUSED');
  t.match(res.body.error.message, /may only connect from localhost/);
  t.equal((await api(from, '/healthz', { auth: null })).status, 200, 'the probes stay open');
});

t.test('dashboard login: a session cookie; reads with it; an action needs the CSRF header; logout ends it', async (t) => {
  const broker = await startTestBroker(t, { users: USERS });
  const { name } = await queueWith(t, broker, 3);

  const wrong = await api<ErrorJson>(broker, '/api/login', { method: 'POST', json: { user: 'admin', password: 'nope' }, auth: null });
  t.equal(wrong.status, 401);
  t.equal(wrong.body.error.code, 'ERR_ACCESS_REFUSED');
  t.equal(wrong.headers.get('www-authenticate'), null, 'a login form, not a Basic prompt');
  t.equal(wrong.headers.get('set-cookie'), null, 'no cookie');

  const login = await api<{ name: string; tags: string[]; via: string; csrfToken: string }>(broker, '/api/login', {
    method: 'POST', json: { user: 'admin', password: 'adm1n' }, auth: null,
  });
  t.equal(login.status, 200);
  t.match(login.body, { name: 'admin', tags: ['administrator'], via: 'session' });
  t.match(login.body.csrfToken, /^[\w-]{20,}$/);
  const setCookie = login.headers.get('set-cookie') ?? '';
  t.match(setCookie, /^celeriac_session=[\w-]{40,};/);
  t.match(setCookie, /HttpOnly/i);
  t.match(setCookie, /SameSite=Strict/i);
  t.match(setCookie, /Path=\//);
  const cookie = setCookie.split(';')[0]!;

  const whoami = await api<{ name: string; via: string; csrfToken: string }>(broker, '/api/whoami', { auth: null, headers: { cookie } });
  t.equal(whoami.status, 200, 'the cookie reads');
  t.match(whoami.body, { name: 'admin', via: 'session', csrfToken: login.body.csrfToken });

  const purge = `${queuePath(name)}/contents`;
  const noToken = await api<ErrorJson>(broker, purge, { method: 'DELETE', auth: null, headers: { cookie } });
  t.equal(noToken.status, 403, 'an action with the cookie and no CSRF header');
  t.equal(noToken.body.error.code, 'ERR_ACCESS_DENIED');
  t.match(noToken.body.error.message, /x-celeriac-csrf/);
  const badToken = await api<ErrorJson>(broker, purge, { method: 'DELETE', auth: null, headers: { cookie, 'x-celeriac-csrf': `${login.body.csrfToken}x` } });
  t.equal(badToken.status, 403, 'a wrong CSRF token');
  t.equal(await messages(broker, name), 3, 'nothing purged');

  const done = await api(broker, purge, { method: 'DELETE', auth: null, headers: { cookie, 'x-celeriac-csrf': login.body.csrfToken } });
  t.equal(done.status, 204, 'with the token');
  t.equal(await messages(broker, name), 0);

  const logout = await api(broker, '/api/logout', { method: 'POST', auth: null, headers: { cookie } });
  t.equal(logout.status, 204);
  t.match(logout.headers.get('set-cookie'), /^celeriac_session=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/i, 'the cookie is cleared');
  const after = await api<ErrorJson>(broker, '/api/whoami', { auth: null, headers: { cookie } });
  t.equal(after.status, 401, 'the session is gone on the server too');
  t.equal(after.body.error.code, 'ERR_ACCESS_REFUSED');
  t.equal(after.headers.get('www-authenticate'), null, "no Basic challenge to a page's script: it shows its own login form");
  const script = await api(broker, '/api/overview', { auth: null, headers: { 'x-requested-with': 'fetch' } });
  t.equal(script.status, 401);
  t.equal(script.headers.get('www-authenticate'), null, 'nor with X-Requested-With');
});

t.test('a form login works too; a monitoring session reads but may not act', async (t) => {
  const broker = await startTestBroker(t, { users: USERS });
  const { name } = await queueWith(t, broker, 1);
  const res = await fetch(`${broker.httpUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ user: 'eye', password: 'w4tch' }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  t.equal(res.status, 200);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  t.equal((await api(broker, queuePath(name), { auth: null, headers: { cookie } })).status, 200);
  const act = await api<ErrorJson>(broker, queuePath(name), { method: 'DELETE', auth: null, headers: { cookie, 'x-celeriac-csrf': csrfToken } });
  t.equal(act.status, 403);
  t.equal(act.body.error.code, 'ERR_ACCESS_DENIED');
  t.equal(await messages(broker, name), 1);
  const formAction = await fetch(`${broker.httpUrl}/api/exchanges/%2F/amq.default/publish`, {
    method: 'POST',
    headers: { authorization: ADMIN, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ routing_key: name, payload: 'x', payload_encoding: 'string' }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  t.equal(formAction.status, 415, 'actions take JSON only: a form of another site cannot post one');
  await formAction.arrayBuffer();
  t.equal(await messages(broker, name), 1);
});

t.test('an action from another origin is refused, whatever the credentials', async (t) => {
  const broker = await startTestBroker(t, { users: USERS });
  const { name } = await queueWith(t, broker, 2);
  const res = await api<ErrorJson>(broker, `${queuePath(name)}/contents`, { method: 'DELETE', auth: ADMIN, headers: { origin: 'https://evil.example' } });
  t.equal(res.status, 403);
  t.equal(res.body.error.code, 'ERR_ACCESS_DENIED');
  t.match(res.body.error.message, /cross-origin/);
  t.equal(await messages(broker, name), 2);
  const same = await api(broker, `${queuePath(name)}/contents`, { method: 'DELETE', auth: ADMIN, headers: { origin: broker.httpUrl } });
  t.equal(same.status, 204, 'the broker\'s own origin is fine');
});

t.test('a right password is remembered for Basic, a wrong one never', async (t) => {
  const broker = await startTestBroker(t, { users: USERS });
  t.equal((await api(broker, '/api/overview', { auth: ADMIN })).status, 200);
  t.equal((await api(broker, '/api/overview', { auth: basic('admin', 'adm1nX') })).status, 401, 'a wrong password after a right one');
  t.equal((await api(broker, '/api/overview', { auth: basic('admin', 'adm1') })).status, 401, 'nor a prefix of it');
  t.equal((await api(broker, '/api/overview', { auth: ADMIN })).status, 200);
});

t.test('/metrics needs a user unless metricsOpen; every other route still does', async (t) => {
  const closed = await startTestBroker(t, { users: USERS });
  t.equal((await api(closed, '/metrics', { auth: null })).status, 401);
  const scraped = await api<string>(closed, '/metrics', { auth: EYE });
  t.equal(scraped.status, 200, 'a monitoring user scrapes');
  t.match(scraped.body, /^# HELP /);

  const open = await startTestBroker(t, { users: USERS, metricsOpen: true });
  const res = await api<string>(open, '/metrics', { auth: null });
  t.equal(res.status, 200);
  t.match(res.body, /celeriac_queues 0/);
  t.equal((await api(open, '/api/overview', { auth: null })).status, 401);
  t.equal((await api(open, '/healthz', { auth: null })).status, 200, '/healthz and /readyz are always open');
  t.equal((await api(open, '/readyz', { auth: null })).status, 200);
});
