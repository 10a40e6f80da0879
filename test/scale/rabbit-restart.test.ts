// startRabbit's restart(), for issue 11's "the broker goes away" tests: the node comes back on the
// same port with its data, so a persistent message in a durable queue is still there.
// Not in `npm test` (package.json's tap `exclude` has test/scale/): two RabbitMQ boots take 25-45 s
// on a busy 2-core machine. Run it alone: `npx tap test/scale/rabbit-restart.test.ts`.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { connect as amqpConnect } from 'amqplib';
import { startRabbit } from '../helpers/rabbitmq.js';
import { accepts } from '../helpers/ports.js';

const rabbit = await startRabbit(t);
t.comment(`booted in ${rabbit.bootMs()} ms`);

t.test('a persistent message in a durable queue outlives restart(), on the same port', async (t) => {
  const queue = `restart-q-${randomBytes(4).toString('hex')}`;
  const conn = await amqpConnect(rabbit.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true });
  ch.sendToQueue(queue, Buffer.from('kept'), { persistent: true });
  await ch.waitForConfirms();
  conn.on('error', () => undefined); // the restart closes it from the broker's side
  const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));

  await rabbit.restart();
  t.comment(`restarted in ${rabbit.bootMs()} ms`);
  await closed;
  t.ok(await accepts(rabbit.port), 'the same port accepts again');
  const again = await amqpConnect(rabbit.url);
  const msg = await (await again.createChannel()).get(queue, { noAck: true });
  t.equal(msg === false ? undefined : msg.content.toString(), 'kept');
  await again.close();
});
