// The AMQP listener's handshake: users and vhosts as on the WebSocket side (PLAIN and AMQPLAIN), a
// wrong protocol header answered with ours, tune limits, the handshake timeout, heartbeats both
// ways, and closing in both directions; the broker serves the next connection after each.
import amqp from 'amqplib';
import t from 'tap';
import { FieldTable, PROTOCOL_HEADER } from '../../server/amqp/codec/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { AmqpRawClient } from '../helpers/amqp-raw-client.js';
import { channel, open, startAmqpBroker } from './amqp-helpers.js';

/** An AMQP heartbeat frame: type 8, channel 0, no payload, frame-end. */
const HEARTBEAT_FRAME = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]);

const USERS = [{ user: 'alice', password: 's3cret', vhosts: ['/'] }, { user: 'bob', password: 'pw' }];

function withCredentials(url: string, user: string, password: string, vhost = ''): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return `${u.toString().replace(/\/$/, '')}/${encodeURIComponent(vhost)}`;
}

t.test('no --amqp-port, no listener; the default guest connects from loopback', async (t) => {
  const plain = await startTestBroker(t);
  t.equal(plain.amqpUrl, undefined);
  const broker = await startAmqpBroker(t);
  t.match(broker.amqpUrl, /^amqp:\/\/127\.0\.0\.1:\d+$/);
  const conn = await open(t, broker.amqpUrl);
  const ch = await channel(conn);
  t.ok((await ch.assertQueue('')).queue, 'guest/guest is the built-in user');
});

t.test('good and bad credentials (PLAIN and AMQPLAIN), vhost permissions', async (t) => {
  const broker = await startAmqpBroker(t, { users: USERS, vhosts: ['/', 'other'] });
  const conn = await open(t, withCredentials(broker.amqpUrl, 'alice', 's3cret'));
  t.ok(await channel(conn), 'alice on /');
  const err = await amqp.connect(withCredentials(broker.amqpUrl, 'alice', 'wrong')).then(() => null, (e: Error) => e);
  t.match(err?.message, /ACCESS_REFUSED/, 'a wrong password is refused with 403 (authentication_failure_close)');
  const guest = await amqp.connect(broker.amqpUrl).then(() => null, (e: Error) => e);
  t.match(guest?.message, /ACCESS_REFUSED/, 'no built-in guest once users are configured');
  const amqplain = await open(t, broker.amqpUrl, { credentials: amqp.credentials.amqplain('bob', 'pw') });
  t.ok(await channel(amqplain), 'AMQPLAIN');
  await t.rejects(amqp.connect(withCredentials(broker.amqpUrl, 'alice', 's3cret', 'other')), 'amqplib: refused vhost');
  const raw = await AmqpRawClient.open(broker.amqpPort!);
  await t.rejects(raw.handshake({ user: 'alice', password: 's3cret', vhost: 'other' }), /refused: 530 NOT_ALLOWED - access to vhost 'other' refused for user 'alice'/, '530 for a vhost the user may not use');
  const raw2 = await AmqpRawClient.open(broker.amqpPort!);
  await t.rejects(raw2.handshake({ user: 'bob', password: 'pw', vhost: 'nope' }), /refused: 530 NOT_ALLOWED/, 'and for a vhost that does not exist');
  const other = await open(t, withCredentials(broker.amqpUrl, 'bob', 'pw', 'other'));
  const och = await channel(other);
  await och.assertQueue('only-in-other');
  const root = await channel(conn);
  await t.rejects(root.checkQueue('only-in-other'), 'vhosts are separate namespaces');
});

t.test('a refused login without authentication_failure_close just closes the socket', async (t) => {
  const broker = await startAmqpBroker(t, { users: USERS });
  const c = await AmqpRawClient.open(broker.amqpPort!);
  await t.rejects(c.handshake({ user: 'alice', password: 'nope' }));
  await c.whenClosed();
  t.notOk(c.inbox.some((f) => f.type === 'method' && f.method.name === 'connection.close'), 'no connection.close for an old client');
  const d = await AmqpRawClient.open(broker.amqpPort!);
  await t.rejects(d.handshake({ user: 'alice', password: 'nope', capabilities: { authentication_failure_close: true } }), /refused: 403 ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN/);
  await d.whenClosed();
});

t.test('a wrong protocol header is answered with AMQP 0-9-1\'s and the socket closed', async (t) => {
  const broker = await startAmqpBroker(t);
  for (const opening of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]), Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 8, 0])]) {
    const c = await AmqpRawClient.open(broker.amqpPort!);
    c.send(opening);
    await c.whenClosed();
    t.same(c.received, PROTOCOL_HEADER, `answered ${opening.subarray(0, 8).toString('hex')}`);
  }
  const ok = await AmqpRawClient.connect(broker.amqpPort!);
  t.ok(ok, 'the next connection is served');
  ok.destroy();
});

t.test('tune: frame-max under 4096 or over the server\'s is refused with 530; channels over channel-max with 530', async (t) => {
  const broker = await startAmqpBroker(t);
  const small = await AmqpRawClient.open(broker.amqpPort!);
  await t.rejects(small.handshake({ frameMax: 1024 }), /530 NOT_ALLOWED - frame_max=1024 < 4096/);
  const large = await AmqpRawClient.open(broker.amqpPort!);
  await t.rejects(large.handshake({ frameMax: 1 << 20 }), /530 NOT_ALLOWED/);
  const c = await AmqpRawClient.connect(broker.amqpPort!, { channelMax: 3 });
  await c.openChannel(3);
  c.method(4, { name: 'channel.open' });
  const close = await c.expect('connection.close', 0);
  t.same([close.replyCode, close.classId, close.methodId], [530, 20, 10]);
  c.method(0, { name: 'connection.close-ok' });
  await c.whenClosed();
});

t.test('a connection not open within the handshake timeout is closed', async (t) => {
  const broker = await startAmqpBroker(t, { limits: { handshakeTimeout: 300 } });
  const silent = await AmqpRawClient.open(broker.amqpPort!);
  await silent.whenClosed(3_000);
  const halfway = await AmqpRawClient.open(broker.amqpPort!);
  halfway.send(PROTOCOL_HEADER);
  await halfway.expect('connection.start');
  await halfway.whenClosed(3_000);
  t.pass('both closed');
});

t.test('heartbeats: sent when idle for half the interval; a peer silent for two intervals is closed', async (t) => {
  const broker = await startAmqpBroker(t);
  const c = await AmqpRawClient.connect(broker.amqpPort!, { heartbeat: 2 });
  // The client heartbeats while it waits for the broker's two, so a stalled event loop on a busy
  // machine cannot make its silence, not the broker's heartbeats, what this part sees.
  const beat = setInterval(() => c.send(HEARTBEAT_FRAME), 250);
  try {
    await c.next((f) => f.type === 'heartbeat', 4_000);
    await c.next((f) => f.type === 'heartbeat', 4_000);
  } finally {
    clearInterval(beat);
  }
  t.pass('two heartbeats from the broker');
  // Now the client is silent: after two intervals of silence the broker closes the socket.
  const silent = Date.now();
  await c.whenClosed(10_000);
  t.ok(Date.now() - silent >= 3_000, 'not before the peer was silent for about two intervals');

  // A client that heartbeats (amqplib with ?heartbeat=1) stays connected past that.
  const conn = await open(t, `${broker.amqpUrl}?heartbeat=1`);
  await new Promise((r) => setTimeout(r, 2_600));
  const ch = await channel(conn);
  t.ok(await ch.assertQueue(''), 'still open after 2.6 s of idleness');
});

t.test('close in both directions: the client\'s close is answered close-ok; shutdown sends 320', async (t) => {
  const broker = await startAmqpBroker(t);
  const c = await AmqpRawClient.connect(broker.amqpPort!);
  c.method(0, { name: 'connection.close', replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });
  await c.expect('connection.close-ok', 0);
  await c.whenClosed();
  const d = await AmqpRawClient.connect(broker.amqpPort!, { capabilities: { 'connection.blocked': true } });
  const closing = d.expect('connection.close', 0);
  const shutdown = broker.close();
  const close = await closing;
  t.same([close.replyCode, close.replyText], [320, 'CONNECTION_FORCED - broker shutting down']);
  d.method(0, { name: 'connection.close-ok' });
  await shutdown;
  await d.whenClosed();
});

t.test('connection.start offers PLAIN and AMQPLAIN and the capabilities RabbitMQ clients look for', async (t) => {
  const broker = await startAmqpBroker(t);
  const c = await AmqpRawClient.open(broker.amqpPort!);
  c.send(PROTOCOL_HEADER);
  const start = await c.expect('connection.start', 0);
  t.same([start.versionMajor, start.versionMinor, start.mechanisms.toString(), start.locales.toString()], [0, 9, 'PLAIN AMQPLAIN', 'en_US']);
  const caps = start.serverProperties.get('capabilities');
  t.equal(caps?.type, 'F');
  t.same((caps as { value: FieldTable }).value.toObject(), {
    publisher_confirms: true, exchange_exchange_bindings: true, 'basic.nack': true, consumer_cancel_notify: true,
    'connection.blocked': true, authentication_failure_close: true, per_consumer_qos: true,
  });
  c.destroy();
});
