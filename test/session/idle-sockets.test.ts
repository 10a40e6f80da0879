// Sockets that never finish their handshake are closed, and connections over the caps are
// refused with a coded reason: raw TCP sockets against a real broker, no WebSocket library.
import t from 'tap';
import net from 'node:net';
import { connect } from '../../client/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { GUEST } from '../helpers/http.js';
import { RawClient } from '../helpers/raw-client.js';

/** A raw TCP connection to the broker's port, from `localAddress`. */
function rawSocket(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when `s` closes; rejects after `ms` (the broker never closed it). */
function closed(s: net.Socket, ms: number): Promise<void> {
  if (s.destroyed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
    s.once('close', () => { clearTimeout(timer); resolve(); });
  });
}

/** Everything the socket receives until it closes (bounded by `ms`). */
function readAll(s: net.Socket, ms: number): Promise<string> {
  let text = '';
  s.setEncoding('utf8').on('data', (c: string) => { text += c; });
  s.on('error', () => undefined);
  return closed(s, ms).then(() => text);
}

async function metric(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`, { headers: { authorization: GUEST } })).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  if (m === null) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
}

t.test('a TCP connection that sends nothing is closed at the handshake timeout', async (t) => {
  const broker = await startTestBroker(t, { limits: { handshakeTimeout: 500 } });
  const s = await rawSocket(broker.port);
  t.teardown(() => s.destroy());
  s.on('error', () => undefined);
  await closed(s, 15_000);
  t.pass('closed by the broker');
  t.equal(await metric(broker.httpUrl, 'celeriac_handshake_timeouts_total'), 1);
});

t.test('an upgrade request trickled a byte at a time is closed at the handshake timeout', async (t) => {
  const broker = await startTestBroker(t, { limits: { handshakeTimeout: 800 } });
  const s = await rawSocket(broker.port);
  t.teardown(() => s.destroy());
  s.on('error', () => undefined);
  const request = 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
    `X-Padding: ${'a'.repeat(400)}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
  // One byte every 50 ms: the whole request would take over 25 s.
  let at = 0;
  const trickle = setInterval(() => { if (at < request.length && !s.destroyed) s.write(request[at++]!); }, 50);
  t.teardown(() => clearInterval(trickle));
  await closed(s, 15_000);
  t.ok(at < request.length, `closed after ${at} of ${request.length} bytes`);
});

t.test('an idle keep-alive HTTP connection is closed at the handshake timeout', async (t) => {
  const broker = await startTestBroker(t, { limits: { handshakeTimeout: 500 } });
  const s = await rawSocket(broker.port);
  t.teardown(() => s.destroy());
  const text = readAll(s, 15_000);
  s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
  t.match(await text, /^HTTP\/1\.1 200 /, 'answered, then closed while idle');
});

t.test('over the per-address cap: 503 ERR_TOO_MANY_CONNECTIONS; other addresses still connect', async (t) => {
  const broker = await startTestBroker(t, { maxConnectionsPerAddress: 2 });
  const held = [await rawSocket(broker.port, '127.0.0.7'), await rawSocket(broker.port, '127.0.0.7')];
  t.teardown(() => { for (const s of held) s.destroy(); });
  const third = await rawSocket(broker.port, '127.0.0.7');
  const answer = await readAll(third, 10_000);
  t.match(answer, /^HTTP\/1\.1 503 /);
  t.match(answer, /X-Celeriac-Error: ERR_TOO_MANY_CONNECTIONS/);
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
  t.equal(body.error.code, 'ERR_TOO_MANY_CONNECTIONS');
  t.match(body.error.message, /127\.0\.0\.7 holds 2 connections, the limit per address \(maxConnectionsPerAddress 2\)/);

  const other = await RawClient.open(broker.url, 5_000, '127.0.0.8');
  t.teardown(() => other.close());
  t.equal((await other.hello()).op !== undefined, true, 'another address is admitted');

  held[0]!.destroy();
  // The broker learns of the close a moment after this side: ask until it answers (bounded).
  const end = Date.now() + 10_000;
  let answerAfterClose = '';
  while (!answerAfterClose.startsWith('HTTP/1.1 200 ') && Date.now() < end) {
    const again = await rawSocket(broker.port, '127.0.0.7');
    const r = readAll(again, 10_000);
    again.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    answerAfterClose = await r;
  }
  t.match(answerAfterClose, /^HTTP\/1\.1 200 /, 'a freed place is taken again');
  t.ok(await metric(broker.httpUrl, 'celeriac_connections_refused_total') >= 1);
});

t.test('over the total cap: refused with the total in the reason; the client reports the code', async (t) => {
  const broker = await startTestBroker(t, { maxConnections: 2, maxConnectionsPerAddress: 0 });
  const held = [await rawSocket(broker.port, '127.0.0.9'), await rawSocket(broker.port, '127.0.0.10')];
  t.teardown(() => { for (const s of held) s.destroy(); });
  const answer = await readAll(await rawSocket(broker.port, '127.0.0.11'), 10_000);
  t.match(answer, /^HTTP\/1\.1 503 /);
  t.match(answer, /holds 2 connections, its limit \(maxConnections 2\)/);
  await t.rejects(connect(broker.url, { reconnect: false }), { code: 'ERR_TOO_MANY_CONNECTIONS', message: /refused the connection \(HTTP 503\).*maxConnections 2/ });
});
