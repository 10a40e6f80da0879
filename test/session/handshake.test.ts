// The handshake over real sockets: welcome contents, timeout, default and configured users,
// and the loopback-only rule of the default user (tested as a function: tests only use 127.0.0.1).
import t from 'tap';
import { allowedFrom, isLoopback, UserRegistry } from '../../server/auth/users.js';
import { negotiateHeartbeat } from '../../server/session/session.js';
import type { ErrorFrame, WelcomeFrame } from '../../shared/frames.js';
import { DEFAULT_LIMITS } from '../../shared/limits.js';
import { OP, PROTOCOL_VERSION } from '../../shared/opcodes.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

t.test('welcome carries version, limits, capabilities and the heartbeat', async (t) => {
  const broker = await startTestBroker(t, { limits: { maxBodySize: 1234 } });
  const c = await RawClient.open(broker.url);
  t.teardown(() => c.close());
  const w = (await c.hello({ client: 'handshake-test' })) as WelcomeFrame;
  t.equal(w.op, OP.welcome);
  t.equal(w.id, 1, 'welcome echoes the hello id');
  t.equal(w.version, PROTOCOL_VERSION);
  t.match(w.server, /^celeriac\/\d+\.\d+\.\d+/);
  t.type(w.connectionId, 'string');
  t.equal(w.limits.maxBodySize, 1234, 'configured limits are announced');
  t.equal(w.limits.maxMessageSize, DEFAULT_LIMITS.maxMessageSize);
  t.equal(w.heartbeat, DEFAULT_LIMITS.heartbeat);
  t.ok(w.capabilities.includes('batch') && w.capabilities.includes('confirms'));
});

t.test('a client may ask for a shorter heartbeat, not a longer one', async (t) => {
  t.equal(negotiateHeartbeat(30_000, 5_000), 5_000);
  t.equal(negotiateHeartbeat(30_000, 60_000), 30_000);
  t.equal(negotiateHeartbeat(30_000, 0), 30_000);
  t.equal(negotiateHeartbeat(30_000, undefined), 30_000);
  t.equal(negotiateHeartbeat(0, undefined), 0);
  const broker = await startTestBroker(t);
  const c = await RawClient.open(broker.url);
  t.teardown(() => c.close());
  const w = (await c.hello({ heartbeat: 1_000 })) as WelcomeFrame;
  t.equal(w.heartbeat, 1_000);
});

t.test('no hello within handshakeTimeout: ERR_HANDSHAKE_TIMEOUT and close', async (t) => {
  // Long enough for the other client's hello to arrive in time on a loaded machine.
  const broker = await startTestBroker(t, { limits: { handshakeTimeout: 1_500 } });
  const other = await RawClient.connect(broker.url);
  t.teardown(() => other.close());
  const c = await RawClient.open(broker.url);
  t.teardown(() => c.close());
  const err = (await c.next((f) => f.op === OP.error, 15_000)) as ErrorFrame;
  t.equal(err.code, 'ERR_HANDSHAKE_TIMEOUT');
  t.equal((await c.waitClose()).code, 1008);
  // the connection that did its handshake is not affected by the timer
  await other.ok({ op: OP.declareQueue, id: other.id(), name: `hs-${Date.now()}`, options: {} });
  t.equal(other.closed, null);
});

t.test('hello without credentials logs in as the default guest user from loopback', async (t) => {
  const broker = await startTestBroker(t);
  const a = await RawClient.open(broker.url);
  const b = await RawClient.open(broker.url);
  t.teardown(() => { a.close(); b.close(); });
  t.equal((await a.hello()).op, OP.welcome);
  t.equal((await b.hello({ user: 'guest', password: 'guest' })).op, OP.welcome);
});

t.test('configured users: each with its password and vhosts', async (t) => {
  const broker = await startTestBroker(t, {
    vhosts: ['/', 'jobs'],
    users: [{ user: 'alice', password: 'a-pass' }, { user: 'bob', password: 'b-pass', vhosts: ['jobs'] }],
  });
  for (const [user, password, vhost, expected] of [
    ['alice', 'a-pass', '/', OP.welcome],
    ['alice', 'a-pass', 'jobs', OP.welcome],
    ['bob', 'b-pass', 'jobs', OP.welcome],
    ['bob', 'b-pass', '/', OP.error],
    ['bob', 'a-pass', 'jobs', OP.error],
  ] as const) {
    const c = await RawClient.open(broker.url);
    t.teardown(() => c.close());
    const reply = await c.hello({ user, password, vhost });
    t.equal(reply.op, expected, `${user} on '${vhost}'`);
    if (reply.op === OP.error) t.equal(reply.code, 'ERR_ACCESS_REFUSED');
  }
});

t.test('the default user is accepted from loopback addresses only', async (t) => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) t.ok(isLoopback(a), `${a} is loopback`);
  for (const a of ['10.0.0.1', '192.168.1.20', '::ffff:10.0.0.1', '2001:db8::1', '128.0.0.1', undefined]) t.notOk(isLoopback(a), `${String(a)} is not loopback`);
  t.notOk(allowedFrom(true, '10.0.0.1'), 'loopback-only user refused from 10.0.0.1');
  t.ok(allowedFrom(true, '127.0.0.1'));
  t.ok(allowedFrom(false, '10.0.0.1'), 'a configured user may connect from anywhere');

  const defaults = new UserRegistry(undefined);
  t.same(await defaults.authenticate('guest', 'guest', '/', '127.0.0.1'), { user: 'guest', vhost: '/' });
  await t.rejects(defaults.authenticate('guest', 'guest', '/', '10.0.0.1'), { code: 'ERR_ACCESS_REFUSED', message: /localhost/ });
  const configured = new UserRegistry([{ user: 'alice', password: 'pw' }]);
  t.same(await configured.authenticate('alice', 'pw', '/', '10.0.0.1'), { user: 'alice', vhost: '/' });
  await t.rejects(configured.authenticate('guest', 'guest', '/', '127.0.0.1'), { code: 'ERR_ACCESS_REFUSED' });
});

t.test('a close frame from the client is answered ok and the socket closes normally', async (t) => {
  const broker = await startTestBroker(t);
  const c = await RawClient.connect(broker.url);
  t.teardown(() => c.close());
  c.send({ op: OP.close, id: 42, reason: 'done' });
  t.match(await c.next((f) => f.op === OP.ok), { id: 42 });
  t.equal((await c.waitClose()).code, 1000);
});
