// Which first-connection failures are worth a retry (the broker is not there yet) and which are
// not (wrong credentials, bad URL, not a broker), from real connect() failures; and the
// connection's offlinePublishTimeout, which bounds a publish held while the broker is down.
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { connect } from '../../client/index.js';
import { isUnreachable } from '../../client/unreachable.js';
import { CeleriacError } from '../../shared/errors.js';
import { startBroker } from '../../server/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { closedPort } from '../cli/celeriac-helpers.js';

const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => { throw new Error('connected'); }, (err: unknown) => err);

t.test('refused and unreachable are retried; credentials, URLs and non-brokers are not', async (t) => {
  const port = await closedPort();
  const refused = await failure(connect(`ws://127.0.0.1:${port}`));
  t.ok(isUnreachable(refused), `refused: ${String(refused)}`);

  const broker = await startTestBroker(t, { users: [{ user: 'app', password: 'right' }] });
  t.notOk(isUnreachable(await failure(connect(broker.url, { user: 'app', password: 'wrong' }))), 'wrong credentials');
  t.notOk(isUnreachable(await failure(connect('http://127.0.0.1:1'))), 'a URL that is not ws://');

  // Something answers HTTP on that port, but it is not a broker: no retry will change that.
  const http = createHttpServer((_req, res) => { res.statusCode = 404; res.end(); });
  await new Promise<void>((res) => http.listen(0, '127.0.0.1', res));
  t.teardown(() => new Promise<void>((res) => http.close(() => res())));
  const notBroker = await failure(connect(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`));
  t.match(notBroker, { code: 'ERR_CONNECTION_CLOSED' });
  t.notOk(isUnreachable(notBroker), 'an HTTP answer');

  t.ok(isUnreachable(new CeleriacError('ERR_TIMEOUT', 'no welcome')), 'no welcome in time');
  t.ok(isUnreachable(new CeleriacError('ERR_CONNECTION_CLOSED', 'closed during the handshake', { details: { closeCode: 1001 } })), 'closed during the handshake');
  t.notOk(isUnreachable(new Error('plain')), 'only coded errors');
});

t.test('offlinePublishTimeout: a publish held while the broker is down fails with ERR_PUBLISH_FAILED', async (t) => {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', dataFile: ':memory:' });
  const conn = await connect(broker.url, { offlinePublishTimeout: 200 });
  t.teardown(() => conn.close());
  await conn.assertQueue('offline-q');
  await conn.publish('', 'offline-q', 'before');
  await broker.close();
  const err = await failure(conn.publish('', 'offline-q', 'while down')) as CeleriacError;
  t.equal(err.code, 'ERR_PUBLISH_FAILED');
  t.match(err.message, /^publish to exchange '' \(routing key 'offline-q'\) abandoned: the connection was down for \d+ ms \(offlinePublishTimeout 200 ms\)/);
  t.ok(err.cause instanceof CeleriacError, 'the last connection error is the cause');
  t.equal(conn.connected, false, 'still reconnecting: only the publish gave up');
  await t.rejects(connect(broker.url, { offlinePublishTimeout: -1 }), { code: 'ERR_INVALID_ARGUMENT' });
});
