// amqplib differential suite, TTL and errors: the same scenarios on RabbitMQ and on broker-server's
// AMQP listener, compared record for record (test/amqp-diff/diff-helpers.ts): per-message and
// per-queue TTL dead-lettered with x-death (reason, queue, exchange, routing keys, count,
// original-expiration, x-first-death-*), two deaths in one history; and the soft errors a client
// meets: an exclusive queue of another connection (405), missing queues and exchanges (404), a
// redeclare with other arguments or options (406) — each with its reply code, class, method and text.
import t from 'tap';
import type { ConsumeMessage } from 'amqplib';
import { channel, confirmChannel, confirmed, diff, drain, messageRecord, onFreshChannel, startTargets, WAIT_MS, type Ch } from './diff-helpers.js';
import { sleep, until } from '../helpers/wait.js';

const targets = await startTargets(t);

diff(t, targets, 'per-message and per-queue TTL dead-lettered through a DLX, with x-death; two deaths in one history', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertExchange('t-dlx', 'direct');
  await ch.assertExchange('t-dlx-fan', 'fanout');
  await ch.assertExchange('t-src', 'direct');
  // Per-message TTL, dead-lettered with a routing key of the queue's.
  await ch.assertQueue('t-msg', { deadLetterExchange: 't-dlx', deadLetterRoutingKey: 't-dead' });
  await ch.assertQueue('t-dead');
  await ch.bindQueue('t-dead', 't-dlx', 't-dead');
  // Per-queue TTL, dead-lettered with the message's own routing key; its dead queue rejects onwards.
  await ch.assertQueue('t-q', { messageTtl: 30, deadLetterExchange: 't-dlx-fan' });
  await ch.bindQueue('t-q', 't-src', 'k');
  await ch.assertQueue('t-dead2', { deadLetterExchange: '', deadLetterRoutingKey: 't-dead3' });
  await ch.bindQueue('t-dead2', 't-dlx-fan', '');
  await ch.assertQueue('t-dead3');
  await confirmed(ch, () => {
    ch.sendToQueue('t-msg', Buffer.from('per-message'), { expiration: '30', messageId: 'm1', headers: { h: 1 } });
    ch.publish('t-src', 'k', Buffer.from('per-queue'), { messageId: 'm2', persistent: true });
  });
  const dead: ConsumeMessage[] = [];
  await ch.consume('t-dead', (m) => { if (m !== null) dead.push(m); }, { noAck: true });
  await ch.consume('t-dead2', (m) => {
    if (m === null) return;
    dead.push(m);
    ch.reject(m, false);
  });
  await ch.consume('t-dead3', (m) => { if (m !== null) dead.push(m); }, { noAck: true });
  await until(() => dead.length === 3, WAIT_MS, 'three dead-lettered deliveries');
  const byQueue = (ex: string): unknown => messageRecord(dead.find((m) => m.fields.exchange === ex)!);
  return { perMessage: byQueue('t-dlx'), perQueue: byQueue('t-dlx-fan'), twice: byQueue('') };
}, {
  perMessage: {
    body: 'per-message',
    fields: { exchange: 't-dlx', routingKey: 't-dead' },
    properties: { messageId: 'm1', headers: { h: 1, 'x-death': [{ reason: 'expired', queue: 't-msg', 'original-expiration': '30', 'routing-keys': ['t-msg'] }] } },
  },
  perQueue: { fields: { exchange: 't-dlx-fan', routingKey: 'k' }, properties: { headers: { 'x-death': [{ reason: 'expired', queue: 't-q', exchange: 't-src' }] } } },
  twice: { fields: { exchange: '', routingKey: 't-dead3' }, properties: { headers: { 'x-death': [{ reason: 'rejected', queue: 't-dead2' }, { reason: 'expired', queue: 't-q' }] } } },
});

diff(t, targets, 'per-message TTL behind a message without one: counted until it reaches the head, then gone', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertQueue('t-head');
  await confirmed(ch, () => {
    ch.sendToQueue('t-head', Buffer.from('keeps'));
    ch.sendToQueue('t-head', Buffer.from('expires'), { expiration: '10' });
    ch.sendToQueue('t-head', Buffer.from('expires-now'), { expiration: '0' });
  });
  // A negative check: time for the 10 ms TTL to pass.
  await sleep(100);
  const counted = (await ch.checkQueue('t-head')).messageCount;
  return { counted, got: (await drain(ch, 't-head')).map((m) => m['body']) };
}, { got: ['keeps'] });

/** One soft error per action, each on a channel of its own. */
async function errors(conn: Parameters<typeof onFreshChannel>[0], cases: Record<string, (ch: Ch) => Promise<unknown>>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [what, act] of Object.entries(cases)) out[what] = await onFreshChannel(conn, act);
  return out;
}

diff(t, targets, 'an exclusive queue of another connection: 405 RESOURCE_LOCKED for each use; publishing to it is allowed', async ({ open }) => {
  const owner = await open();
  const mine = await channel(owner);
  await mine.assertQueue('t-excl', { exclusive: true });
  await mine.assertExchange('t-excl-ex', 'direct');
  const other = await open();
  const out = await errors(other, {
    declare: (ch) => ch.assertQueue('t-excl', { exclusive: true }),
    'declare non-exclusive': (ch) => ch.assertQueue('t-excl'),
    'passive declare': (ch) => ch.checkQueue('t-excl'),
    consume: (ch) => ch.consume('t-excl', () => undefined),
    get: (ch) => ch.get('t-excl'),
    purge: (ch) => ch.purgeQueue('t-excl'),
    delete: (ch) => ch.deleteQueue('t-excl'),
    bind: (ch) => ch.bindQueue('t-excl', 't-excl-ex', 'k'),
    publish: async (ch) => ch.sendToQueue('t-excl', Buffer.from('from-other')),
  });
  const got = await drain(mine, 't-excl');
  await owner.close();
  // Gone with its connection: the other may declare the name now.
  const after = await (await channel(other)).assertQueue('t-excl');
  return { ...out, ownerGot: got.map((m) => m['body']), after };
}, {
  declare: { code: 405, classId: 50, methodId: 10 },
  'passive declare': { code: 405 },
  consume: { code: 405, classId: 60, methodId: 20 },
  publish: { closed: false },
  ownerGot: ['from-other'],
});

diff(t, targets, 'missing queues and exchanges: 404 NOT_FOUND where RabbitMQ says so, nothing where it does not', async ({ open }) => {
  const conn = await open();
  const setup = await channel(conn);
  await setup.assertQueue('t-present');
  await setup.assertExchange('t-present-ex', 'direct');
  const out = await errors(conn, {
    'passive declare of a missing queue': (ch) => ch.checkQueue('t-missing'),
    'passive declare of a missing exchange': (ch) => ch.checkExchange('t-missing-ex'),
    'consume a missing queue': (ch) => ch.consume('t-missing', () => undefined),
    'get from a missing queue': (ch) => ch.get('t-missing'),
    'purge a missing queue': (ch) => ch.purgeQueue('t-missing'),
    'bind a missing queue': (ch) => ch.bindQueue('t-missing', 't-present-ex', 'k'),
    'bind to a missing exchange': (ch) => ch.bindQueue('t-present', 't-missing-ex', 'k'),
    'bind a missing exchange to one': (ch) => ch.bindExchange('t-missing-ex', 't-present-ex', 'k'),
    'publish to a missing exchange': async (ch) => ch.publish('t-missing-ex', 'k', Buffer.from('x')),
    'publish to a missing queue via the default exchange': async (ch) => ch.sendToQueue('t-missing', Buffer.from('x')),
    'delete a missing queue': (ch) => ch.deleteQueue('t-missing'),
    'delete a missing exchange': (ch) => ch.deleteExchange('t-missing-ex'),
    'unbind what was never bound': (ch) => ch.unbindQueue('t-present', 't-present-ex', 'never'),
  });
  return { ...out, connectionErrors: conn.errors.length };
}, {
  'passive declare of a missing queue': { code: 404, classId: 50, methodId: 10, text: "NOT_FOUND - no queue 't-missing' in vhost '/'" },
  'passive declare of a missing exchange': { code: 404, classId: 40, methodId: 10 },
  'publish to a missing queue via the default exchange': { closed: false },
  connectionErrors: 0,
});

diff(t, targets, 'a redeclare with other arguments or options: 406 PRECONDITION_FAILED; an equal or passive one is fine', async ({ open }) => {
  const conn = await open();
  const setup = await channel(conn);
  await setup.assertQueue('t-args', { durable: true, arguments: { 'x-message-ttl': 1000, 'x-max-priority': 3 } });
  await setup.assertQueue('t-plain');
  await setup.assertExchange('t-ex', 'direct', { durable: true });
  const out = await errors(conn, {
    'the same arguments': (ch) => ch.assertQueue('t-args', { durable: true, arguments: { 'x-message-ttl': 1000, 'x-max-priority': 3 } }),
    'another x-message-ttl': (ch) => ch.assertQueue('t-args', { durable: true, arguments: { 'x-message-ttl': 2000, 'x-max-priority': 3 } }),
    'an x-message-ttl left out': (ch) => ch.assertQueue('t-args', { durable: true, arguments: { 'x-max-priority': 3 } }),
    'an argument added': (ch) => ch.assertQueue('t-plain', { arguments: { 'x-max-length': 5 } }),
    'another durable': (ch) => ch.assertQueue('t-args', { durable: false, arguments: { 'x-message-ttl': 1000, 'x-max-priority': 3 } }),
    'another auto-delete': (ch) => ch.assertQueue('t-plain', { autoDelete: true }),
    'passive with other arguments': (ch) => ch.checkQueue('t-args'),
    'an exchange of another type': (ch) => ch.assertExchange('t-ex', 'topic', { durable: true }),
    'an exchange with another durable': (ch) => ch.assertExchange('t-ex', 'direct', { durable: false }),
    'an exchange with another auto-delete': (ch) => ch.assertExchange('t-ex', 'direct', { durable: true, autoDelete: true }),
    'an exchange with another internal': (ch) => ch.assertExchange('t-ex', 'direct', { durable: true, internal: true }),
    'an exchange with another alternate-exchange': (ch) => ch.assertExchange('t-ex', 'direct', { durable: true, alternateExchange: 'ae' }),
    'exclusive asked of a queue that is not': (ch) => ch.assertQueue('t-plain', { exclusive: true }),
    'a dead-letter exchange added': (ch) => ch.assertQueue('t-plain', { deadLetterExchange: 'dlx' }),
    'the same exchange': (ch) => ch.assertExchange('t-ex', 'direct', { durable: true }),
  });
  return out;
}, {
  'the same arguments': { closed: false },
  'another x-message-ttl': { code: 406, classId: 50, methodId: 10 },
  'another durable': { code: 406 },
  'an exchange of another type': { code: 406, classId: 40, methodId: 10 },
  'exclusive asked of a queue that is not': { code: 405 },
  'passive with other arguments': { closed: false },
});
