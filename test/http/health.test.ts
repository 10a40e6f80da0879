// The probes over real HTTP: /healthz while the process serves, /readyz 200 while ready and 503 from
// the first moment of broker.close() (when the other routes refuse with ERR_SERVER_SHUTDOWN), both
// without credentials even when the broker has users.
import t from 'tap';
import net from 'node:net';
import { startTestBroker } from '../helpers/broker.js';
import { api, type ErrorJson } from '../helpers/http.js';

const USERS = [{ user: 'admin', password: 'adm1n', tags: ['administrator' as const] }];

t.test('GET /healthz and /readyz answer without credentials', async (t) => {
  const broker = await startTestBroker(t, { users: USERS });
  const health = await api<{ ok: boolean; uptime: number }>(broker, '/healthz', { auth: null });
  t.equal(health.status, 200);
  t.equal(health.body.ok, true);
  t.ok(health.body.uptime >= 0, 'uptime in seconds');
  const ready = await api(broker, '/readyz', { auth: null });
  t.equal(ready.status, 200);
  t.strictSame(ready.body, { ready: true, state: 'ready', store: 'open' });
});

/**
 * A WebSocket that never answers the broker's close frame: the broker's shutdown waits its grace
 * period for it (up to a second) before cutting it, with the HTTP server still up.
 */
function stubbornSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('error', reject);
    let seen = '';
    s.on('data', (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      if (seen.includes('\r\n\r\n')) {
        s.removeAllListeners('data');
        s.pause(); // read nothing more: the close frame stays unanswered
        if (seen.startsWith('HTTP/1.1 101')) resolve(s);
        else reject(new Error(`no upgrade: ${seen.split('\r\n')[0]}`));
      }
    });
    s.write([
      'GET / HTTP/1.1', 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', '', '',
    ].join('\r\n'));
  });
}

t.test('/readyz answers 503 once the broker is shutting down; /healthz still 200', async (t) => {
  const broker = await startTestBroker(t);
  const ws = await stubbornSocket(broker.port);
  t.teardown(() => ws.destroy());
  const closing = broker.close();
  const ready = await api(broker, '/readyz', { auth: null });
  t.equal(ready.status, 503, 'not ready while closing');
  t.strictSame(ready.body, { ready: false, state: 'closing', store: 'open' }, 'the store is still open: it closes last');
  t.equal((await api(broker, '/healthz', { auth: null })).status, 200, 'the process still serves');
  const refused = await api<ErrorJson>(broker, '/api/overview');
  t.equal(refused.status, 503, 'every other route refuses');
  t.equal(refused.body.error.code, 'ERR_SERVER_SHUTDOWN');
  await closing;
  await t.rejects(api(broker, '/healthz', { auth: null }), 'nothing listens once closed');
});
