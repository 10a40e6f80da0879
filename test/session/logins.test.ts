// Logins over real sockets: exact passwords, failed logins throttled per peer address (127.0.0.x
// addresses stand in for separate hosts), and no lockout of the correct password.
import t from 'tap';
import type { ErrorFrame, Frame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const USERS = [{ user: 'alice', password: 's3cret' }];
// /metrics open: a scrape with credentials would itself be a login from the throttled loopback address.
const OPTIONS = { users: USERS, metricsOpen: true };

/** One login from `from`; resolves with the reply's op and, when refused, its code and message. */
async function login(url: string, password: string, from: string): Promise<{ op: number; code?: string; message?: string }> {
  const c = await RawClient.open(url, 5_000, from);
  try {
    const reply: Frame = await c.hello({ user: 'alice', password });
    if (reply.op !== OP.error) return { op: reply.op };
    const err = reply as ErrorFrame;
    return { op: err.op, code: err.code, message: err.message };
  } finally {
    c.close();
  }
}

/** A counter from /metrics. */
async function metric(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  if (m === null) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

t.test('the password must match byte for byte: s3cret\\0 is not s3cret', async (t) => {
  const broker = await startTestBroker(t, OPTIONS);
  t.match(await login(broker.url, 's3cret\0', '127.0.0.1'), { op: OP.error, code: 'ERR_ACCESS_REFUSED' });
  t.match(await login(broker.url, 's3cret', '127.0.0.1'), { op: OP.welcome });
});

t.test('failed logins delay their address; the correct password still gets in; other addresses are not delayed', async (t) => {
  const broker = await startTestBroker(t, OPTIONS);
  for (let i = 0; i < 3; i++) {
    t.match(await login(broker.url, 'wrong', '127.0.0.2'), { code: 'ERR_ACCESS_REFUSED', message: /wrong user name or password/ });
  }
  t.equal(await metric(broker.httpUrl, 'celeriac_logins_delayed_total'), 0, 'three failures are free');
  t.match(await login(broker.url, 'wrong', '127.0.0.2'), { code: 'ERR_ACCESS_REFUSED' });
  t.equal(await metric(broker.httpUrl, 'celeriac_logins_delayed_total'), 1, 'the fourth attempt was delayed');
  t.match(await login(broker.url, 's3cret', '127.0.0.2'), { op: OP.welcome }, 'no lockout: the right password logs in');
  t.equal(await metric(broker.httpUrl, 'celeriac_logins_delayed_total'), 2, 'after a delay');
  t.match(await login(broker.url, 's3cret', '127.0.0.3'), { op: OP.welcome });
  t.match(await login(broker.url, 's3cret', '127.0.0.2'), { op: OP.welcome });
  t.equal(await metric(broker.httpUrl, 'celeriac_logins_delayed_total'), 2, 'neither another address nor the cleared one waited');
  t.equal(await metric(broker.httpUrl, 'celeriac_login_failures_total'), 4);
});

t.test('a throttled address with many logins waiting gets the rest refused unchecked', async (t) => {
  const broker = await startTestBroker(t, OPTIONS);
  // Six failures: the next attempts wait 1.6 s each, ample time for all nine hellos to arrive.
  for (let i = 0; i < 6; i++) await login(broker.url, 'wrong', '127.0.0.4');
  const clients = await Promise.all(Array.from({ length: 9 }, () => RawClient.open(broker.url, 5_000, '127.0.0.4')));
  t.teardown(() => { for (const c of clients) c.close(); });
  const replies = await Promise.all(clients.map((c) => c.hello({ user: 'alice', password: 'wrong' }) as Promise<ErrorFrame>));
  const refusedUnchecked = replies.filter((r) => /already waiting/.test(r.message));
  t.equal(refusedUnchecked.length, 1, 'eight wait their turn, the ninth is refused');
  t.ok(replies.every((r) => r.code === 'ERR_ACCESS_REFUSED'));
  t.equal(await metric(broker.httpUrl, 'celeriac_logins_refused_total'), 1);
  t.equal(await metric(broker.httpUrl, 'celeriac_login_failures_total'), 6 + 8, 'the ninth was never checked');
  t.match(await login(broker.url, 's3cret', '127.0.0.5'), { op: OP.welcome }, 'another address logs in meanwhile');
});

t.test('a peer that leaves while its login waits gives up its place', async (t) => {
  const broker = await startTestBroker(t, OPTIONS);
  // Seven failures: the next attempts wait 3.2 s each, longer than the steps below take.
  for (let i = 0; i < 7; i++) await login(broker.url, 'wrong', '127.0.0.6');
  const delayedBefore = await metric(broker.httpUrl, 'celeriac_logins_delayed_total');
  const waiting = await Promise.all(Array.from({ length: 8 }, () => RawClient.open(broker.url, 5_000, '127.0.0.6')));
  for (const c of waiting) c.send({ op: OP.hello, id: c.id(), version: 1, user: 'alice', password: 'wrong' });
  await until(async () => (await metric(broker.httpUrl, 'celeriac_logins_delayed_total')) === delayedBefore + 8, 10_000, 'eight logins waiting');
  for (const c of waiting) c.close();
  await until(async () => (await metric(broker.httpUrl, 'celeriac_connections')) === 0, 10_000, 'the broker saw them leave');
  // Had they kept their places, eight would still be waiting and this one would be refused unchecked.
  t.match(await login(broker.url, 's3cret', '127.0.0.6'), { op: OP.welcome });
  t.equal(await metric(broker.httpUrl, 'celeriac_login_failures_total'), 7, 'the abandoned logins were never checked');
});

/** Resolves once `cond` holds (checked every 20 ms); rejects after `ms`. */
async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('with a short handshake timeout, a throttled address still logs in within it', async (t) => {
  // 1 s timeout: the delay is capped at 500 ms; uncapped, the 6th failure would cost 1.6 s.
  const broker = await startTestBroker(t, { users: USERS, limits: { handshakeTimeout: 1_000 } });
  for (let i = 0; i < 6; i++) t.match(await login(broker.url, 'wrong', '127.0.0.12'), { code: 'ERR_ACCESS_REFUSED' });
  t.match(await login(broker.url, 's3cret', '127.0.0.12'), { op: OP.welcome }, 'not ERR_HANDSHAKE_TIMEOUT');
});
