// The AMQP listener over TLS (amqps://, Node's tls): amqplib connects with the broker's certificate as
// its CA and works as on the plain port; a plain AMQP client on the TLS port gets nowhere; the options
// go together.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import amqp from 'amqplib';
import t from 'tap';
import { startBroker } from '../../server/index.js';
import { AmqpRawClient } from '../helpers/amqp-raw-client.js';
import { startTestBroker } from '../helpers/broker.js';
import { channel, open, take } from './amqp-helpers.js';

/** A self-signed certificate for 127.0.0.1 and its key, made by Debian's openssl in `dir`. */
function selfSigned(dir: string): { cert: Buffer; key: Buffer } {
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

t.test('amqps: amqplib over TLS declares, publishes and consumes; the plain port works beside it', async (t) => {
  const { cert, key } = selfSigned(t.testdir());
  const broker = await startTestBroker(t, { amqpPort: 0, amqpsPort: 0, amqpsCert: cert, amqpsKey: key });
  t.match(broker.amqpsUrl, /^amqps:\/\/127\.0\.0\.1:\d+$/);
  t.not(broker.amqpsPort, broker.amqpPort);
  const secure = await open(t, broker.amqpsUrl!, { ca: [cert] });
  const plain = await open(t, broker.amqpUrl!);
  const sch = await channel(secure);
  const q = (await sch.assertQueue('tls-q')).queue;
  (await channel(plain)).sendToQueue(q, Buffer.from('over both'));
  const { messages } = await take(sch, q, 1);
  t.equal(messages[0]!.content.toString(), 'over both');
  await t.rejects(amqp.connect(broker.amqpsUrl!), 'a certificate the client does not trust is refused by the client');
});

t.test('a plain AMQP client on the TLS port gets no AMQP; the broker goes on', async (t) => {
  const { cert, key } = selfSigned(t.testdir());
  const broker = await startTestBroker(t, { amqpsPort: 0, amqpsCert: cert, amqpsKey: key, limits: { handshakeTimeout: 1_000 } });
  t.equal(broker.amqpUrl, undefined, 'TLS only');
  const raw = await AmqpRawClient.open(broker.amqpsPort!);
  await t.rejects(raw.handshake(), 'no connection.start in clear text');
  await raw.whenClosed(5_000);
  const ok = await open(t, broker.amqpsUrl!, { ca: [cert] });
  t.ok(await channel(ok));
});

t.test('amqpsPort, amqpsCert and amqpsKey go together', async (t) => {
  await t.rejects(startBroker({ port: 0, dataFile: ':memory:', amqpsPort: 0, amqpsCert: 'x' }), { code: 'ERR_INVALID_ARGUMENT', message: /amqpsKey/ });
  await t.rejects(startBroker({ port: 0, dataFile: ':memory:', amqpsCert: 'x', amqpsKey: 'y' }), { code: 'ERR_INVALID_ARGUMENT', message: /amqpsPort/ });
});
