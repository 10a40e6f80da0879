// connect(): the first connection rejects with a coded error (refused port, wrong credentials,
// unknown vhost, bad URL or option); credentials and vhost from the URL; reconnect: false.
import { createServer } from 'node:net';
import t from 'tap';
import { connect, type Connection } from '../../client/index.js';
import { CeleriacError } from '../../shared/errors.js';
import { startTestBroker } from '../helpers/broker.js';

/** A port nobody listens on: bound, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function onceWithin<T>(conn: Connection, event: 'close', ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    conn.once(event, (arg) => { clearTimeout(timer); resolve(arg as T); });
  });
}

t.test('a refused port rejects with ERR_CONNECTION_CLOSED carrying the socket error', async (t) => {
  const port = await freePort();
  const err = await connect(`ws://127.0.0.1:${port}`, { requestTimeout: 5_000 }).then(() => null, (e: unknown) => e);
  t.ok(err instanceof CeleriacError);
  t.match(err, { code: 'ERR_CONNECTION_CLOSED', message: /ECONNREFUSED/ });
  t.match((err as CeleriacError).cause, { code: 'ECONNREFUSED' });
});

t.test('bad URLs and options reject with ERR_INVALID_ARGUMENT', async (t) => {
  await t.rejects(connect('http://127.0.0.1:1'), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(connect('not a url'), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(connect('ws://127.0.0.1:1', { requestTimeout: -5 }), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('credentials: wrong ones are refused, right ones work from options or the URL', async (t) => {
  const broker = await startTestBroker(t, { users: [{ user: 'alice', password: 's3cret:/@' }], vhosts: ['/', 'prod'] });
  await t.rejects(connect(broker.url, { user: 'alice', password: 'nope' }), { code: 'ERR_ACCESS_REFUSED' });
  await t.rejects(connect(broker.url), { code: 'ERR_ACCESS_REFUSED' }, 'no guest once users are configured');
  await t.rejects(connect(broker.url, { user: 'alice', password: 's3cret:/@', vhost: 'nowhere' }), { code: 'ERR_ACCESS_REFUSED' });

  const viaOptions = await connect(broker.url, { user: 'alice', password: 's3cret:/@' });
  t.teardown(() => viaOptions.close());
  await viaOptions.assertQueue('connect-opts-q');

  const url = broker.url.replace('ws://', `ws://alice:${encodeURIComponent('s3cret:/@')}@`) + '/prod';
  const viaUrl = await connect(url);
  t.teardown(() => viaUrl.close());
  await viaUrl.assertQueue('connect-url-q');
  // The queue lives in vhost 'prod', so the '/' connection cannot see it.
  await t.rejects(viaOptions.checkQueue('connect-url-q'), { code: 'ERR_NOT_FOUND' });
  t.equal((await viaUrl.checkQueue('connect-url-q')).queue, 'connect-url-q');
});

t.test('close() is graceful and idempotent; later calls reject with ERR_CONNECTION_CLOSED', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await connect(broker.url);
  t.ok(conn.connected);
  const closed = onceWithin<CeleriacError | undefined>(conn, 'close', 5_000);
  await Promise.all([conn.close(), conn.close()]);
  t.equal(await closed, undefined, "'close' without an error");
  t.notOk(conn.connected);
  await t.rejects(conn.assertQueue('after-close'), { code: 'ERR_CONNECTION_CLOSED' });
  await t.rejects(conn.publish('', 'q', 'x'), { code: 'ERR_CONNECTION_CLOSED' });
});

t.test('reconnect: false — a drop fails pending work with ERR_CONNECTION_CLOSED and emits close', async (t) => {
  const broker = await startTestBroker(t);
  const conn = await connect(broker.url, { reconnect: false });
  await conn.assertQueue('noreconnect-q');
  const closed = onceWithin<CeleriacError | undefined>(conn, 'close', 5_000);
  let reconnecting = false;
  conn.on('reconnecting', () => { reconnecting = true; });
  await broker.close();
  const err = await closed;
  t.ok(err instanceof CeleriacError, 'close carries why');
  t.notOk(reconnecting);
  await t.rejects(conn.assertQueue('noreconnect-q'), { code: 'ERR_CONNECTION_CLOSED' });
  await conn.close();
});
