// amqplib differential suite, delivery: the same scenarios on RabbitMQ and on broker-server's AMQP
// listener, compared record for record (test/amqp-diff/diff-helpers.ts): nack and reject with
// requeue (redelivered, back in place), reject without requeue to a dead-letter exchange, prefetch
// per consumer and per channel, basic.get with its message count and every basic property, purge
// counts, priority queues, requeue on channel close, and basic.cancel when a queue is deleted.
import t from 'tap';
import type { ConsumeMessage } from 'amqplib';
import { channel, confirmChannel, confirmed, diff, drain, messageRecord, settleAt, startTargets, WAIT_MS } from './diff-helpers.js';
import { until } from '../helpers/wait.js';

const targets = await startTargets(t);

/** Ready messages in `queue` (queue.declare-ok's message count). */
const ready = async (ch: { checkQueue(q: string): Promise<{ messageCount: number }> }, queue: string): Promise<number> => (await ch.checkQueue(queue)).messageCount;

diff(t, targets, 'nack and reject with requeue: back at their place, redelivered; nack multiple', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertQueue('d-nack');
  await confirmed(ch, () => {
    for (const body of ['one', 'two', 'three']) ch.sendToQueue('d-nack', Buffer.from(body));
  });
  const records: unknown[] = [];
  const first = await ch.get('d-nack');
  if (first === false) throw new Error('expected a message');
  records.push(messageRecord(first));
  ch.nack(first, false, true);
  const again = await ch.get('d-nack');
  if (again === false) throw new Error('expected the requeued message');
  records.push(messageRecord(again));
  ch.reject(again, true);
  const seen: ConsumeMessage[] = [];
  const { consumerTag } = await ch.consume('d-nack', (m) => { if (m !== null) seen.push(m); });
  await until(() => seen.length === 3, WAIT_MS, 'three deliveries');
  await ch.cancel(consumerTag);
  records.push(...seen.map(messageRecord));
  // After the cancel the deliveries are still the channel's, unacked: nack multiple requeues them all.
  ch.nack(seen[1]!, true, true);
  records.push(await drain(ch, 'd-nack'));
  ch.ack(seen[2]!);
  records.push(await drain(ch, 'd-nack'));
  return { consumerTag, records };
}, {
  consumerTag: 'amq.ctag-*',
  records: [
    { body: 'one', fields: { deliveryTag: 1, redelivered: false, messageCount: 2 } },
    { body: 'one', fields: { deliveryTag: 2, redelivered: true, messageCount: 2 } },
    { body: 'one', fields: { redelivered: true } },
    { body: 'two', fields: { redelivered: false } },
    { body: 'three', fields: { redelivered: false } },
    [{ body: 'one', fields: { redelivered: true } }, { body: 'two', fields: { redelivered: true } }],
    [],
  ],
});

diff(t, targets, 'reject and nack without requeue: dead-lettered with x-death, or dropped without a DLX', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertExchange('d-dlx', 'fanout');
  await ch.assertExchange('d-dlx-direct', 'direct');
  await ch.assertQueue('d-dead');
  await ch.bindQueue('d-dead', 'd-dlx', '');
  await ch.assertQueue('d-dead-rk');
  await ch.bindQueue('d-dead-rk', 'd-dlx-direct', 'rk');
  await ch.assertQueue('d-src', { deadLetterExchange: 'd-dlx' });
  await ch.assertQueue('d-src-rk', { deadLetterExchange: 'd-dlx-direct', deadLetterRoutingKey: 'rk' });
  await ch.assertQueue('d-src-none');
  await ch.assertExchange('d-in', 'direct');
  await ch.bindQueue('d-src', 'd-in', 'k');
  await confirmed(ch, () => {
    ch.publish('d-in', 'k', Buffer.from('rejected'), { messageId: 'm1', headers: { keep: 'me' }, persistent: true });
    ch.sendToQueue('d-src', Buffer.from('nacked'), { correlationId: 'c2' });
    ch.sendToQueue('d-src-rk', Buffer.from('with-key'), { headers: { n: 1 } });
    ch.sendToQueue('d-src-none', Buffer.from('dropped'));
  });
  const get = async (q: string): Promise<import('amqplib').GetMessage> => {
    const m = await ch.get(q);
    if (m === false) throw new Error(`nothing in ${q}`);
    return m;
  };
  const a = await get('d-src');
  const b = await get('d-src');
  ch.reject(a, false);
  ch.nack(b, true, false);
  ch.reject(await get('d-src-rk'), false);
  ch.reject(await get('d-src-none'), false);
  const dead: ConsumeMessage[] = [];
  await ch.consume('d-dead', (m) => { if (m !== null) dead.push(m); }, { noAck: true });
  await ch.consume('d-dead-rk', (m) => { if (m !== null) dead.push(m); }, { noAck: true });
  await until(() => dead.length === 3, WAIT_MS, 'three dead-lettered messages');
  dead.sort((x, y) => x.content.toString().localeCompare(y.content.toString()));
  return { dead: dead.map(messageRecord), left: [await ready(ch, 'd-src'), await ready(ch, 'd-src-none')] };
}, {
  dead: [
    { body: 'nacked', fields: { exchange: 'd-dlx', routingKey: 'd-src' }, properties: { headers: { 'x-death': [{ reason: 'rejected', queue: 'd-src', count: 1 }] } } },
    { body: 'rejected', fields: { exchange: 'd-dlx', routingKey: 'k' }, properties: { headers: { keep: 'me', 'x-first-death-reason': 'rejected' } } },
    { body: 'with-key', fields: { exchange: 'd-dlx-direct', routingKey: 'rk' } },
  ],
  left: [0, 0],
});

diff(t, targets, 'prefetch: per consumer (global false), per channel (global true), both at once', async ({ open }) => {
  const ch = await channel(await open());
  for (const q of ['d-pf1', 'd-pf2', 'd-pf3']) {
    await ch.assertQueue(q);
    for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.from(`${q}-${i}`));
  }
  const held: { q: string; m: ConsumeMessage }[] = [];
  const count = (q?: string): number => held.filter((h) => q === undefined || h.q === q).length;
  const consume = async (q: string): Promise<string> => (await ch.consume(q, (m) => { if (m !== null) held.push({ q, m }); })).consumerTag;
  const steps: Record<string, unknown> = {};
  // Per consumer: each consumer keeps the prefetch set before it started.
  await ch.prefetch(1);
  await consume('d-pf1');
  steps['one consumer at prefetch 1'] = await settleAt(() => count('d-pf1'), 1, 'd-pf1 at 1');
  await ch.prefetch(2);
  await consume('d-pf2');
  steps['a second consumer at prefetch 2'] = [await settleAt(() => count('d-pf2'), 2, 'd-pf2 at 2'), count('d-pf1')];
  ch.ack(held.find((h) => h.q === 'd-pf1')!.m);
  steps['an ack frees one slot of its consumer'] = await settleAt(() => count('d-pf1'), 2, 'd-pf1 at 2');
  ch.ackAll();
  steps['ackAll refills both'] = await settleAt(() => count(), 7, 'both refilled');
  ch.ackAll();
  // The channel's limit, shared by its consumers, beside each consumer's own.
  await settleAt(() => count(), 10, 'both refilled again');
  const before = count();
  await ch.prefetch(3, true);
  ch.ackAll();
  const total = await settleAt(() => count() - before, 3, 'deliveries within the channel limit');
  steps['the channel limit caps the refill'] = total;
  await ch.prefetch(4);
  await consume('d-pf3');
  // The channel is at its limit: the new consumer gets nothing until something is acked.
  steps['a new consumer on a full channel'] = await settleAt(() => count('d-pf3'), 0, 'nothing for d-pf3');
  ch.ackAll();
  steps['the channel limit after an ack of all'] = await settleAt(() => count() - before - total, 3, 'three more');
  return steps;
}, {
  'one consumer at prefetch 1': 1,
  'a second consumer at prefetch 2': [2, 1],
  'an ack frees one slot of its consumer': 2,
  'the channel limit caps the refill': 3,
});

diff(t, targets, 'basic.get: get-empty, message count, delivery tags, every basic property and header type', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertQueue('d-get');
  const empty = await ch.get('d-get');
  const headers = {
    str: 'text', int: 42, neg: -7, big: 2 ** 40, float: 1.5, bool: true, nul: null, bytes: Buffer.from([0, 1, 255]),
    list: [1, 'two', false], table: { nested: { deep: 'yes' } },
    byte: { '!': 'byte', value: -3 }, short: { '!': 'short', value: 300 }, uint: { '!': 'int', value: 70000 },
    decimal: { '!': 'decimal', value: { places: 2, digits: 12345 } }, timestamp: { '!': 'timestamp', value: 1_700_000_000 },
  };
  await confirmed(ch, () => {
    ch.sendToQueue('d-get', Buffer.from('full'), {
      contentType: 'application/json', contentEncoding: 'utf-8', headers, deliveryMode: 2, priority: 3,
      correlationId: 'corr', replyTo: 'reply-q', expiration: '60000', messageId: 'mid', timestamp: 1_700_000_000,
      type: 'kind', userId: 'guest', appId: 'app',
    });
    ch.sendToQueue('d-get', Buffer.from('bare'));
    ch.sendToQueue('d-get', Buffer.alloc(0));
  });
  const got: unknown[] = [];
  for (let i = 0; i < 4; i++) {
    const m = await ch.get('d-get', { noAck: i > 0 });
    got.push(m === false ? false : messageRecord(m));
  }
  return { empty, got };
}, {
  empty: false,
  got: [
    { body: 'full', fields: { deliveryTag: 1, messageCount: 2 }, properties: { headers: { str: 'text', list: [1, 'two', false] }, priority: 3 } },
    { body: 'bare', fields: { deliveryTag: 2, messageCount: 1 } },
    { body: '', fields: { deliveryTag: 3, messageCount: 0 } },
    false,
  ],
});

diff(t, targets, 'purge and delete count ready messages only; unacked ones come back after', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertQueue('d-purge');
  await confirmed(ch, () => {
    for (let i = 0; i < 5; i++) ch.sendToQueue('d-purge', Buffer.from(`p${i}`));
  });
  const held = [await ch.get('d-purge'), await ch.get('d-purge')];
  const purged = [await ch.purgeQueue('d-purge'), await ch.purgeQueue('d-purge')];
  for (const m of held) if (m !== false) ch.nack(m, false, true);
  // basic.get follows the requeues on the channel's own path to the queue (RabbitMQ's queue.declare
  // may overtake them), so what came back is read, not counted.
  const back = await drain(ch, 'd-purge');
  await confirmed(ch, () => {
    for (let i = 0; i < 3; i++) ch.sendToQueue('d-purge', Buffer.from(`q${i}`));
  });
  const unacked = await ch.get('d-purge');
  const deleted = await ch.deleteQueue('d-purge');
  return { purged, back, unacked: unacked === false ? null : messageRecord(unacked), deleted };
}, {
  purged: [{ messageCount: 3 }, { messageCount: 0 }],
  back: [{ body: 'p0', fields: { redelivered: true } }, { body: 'p1', fields: { redelivered: true } }],
  deleted: { messageCount: 2 },
});

diff(t, targets, 'priority: x-max-priority orders by priority, FIFO within one, over the max counts as the max', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertQueue('d-prio', { maxPriority: 5 });
  await ch.assertQueue('d-noprio');
  const priorities = [undefined, 1, 5, 3, 9, 5, 0, 2, undefined, 3];
  await confirmed(ch, () => {
    for (const [i, priority] of priorities.entries()) {
      const options = priority === undefined ? {} : { priority };
      ch.sendToQueue('d-prio', Buffer.from(`p${i}`), options);
      ch.sendToQueue('d-noprio', Buffer.from(`p${i}`), options);
    }
  });
  const order = (await drain(ch, 'd-prio')).map((m) => [m['body'], (m['properties'] as { priority?: number }).priority ?? null]);
  // A consumer sees the same order for what is ready when it starts.
  await confirmed(ch, () => {
    for (const [i, priority] of [1, 4, 2].entries()) ch.sendToQueue('d-prio', Buffer.from(`c${i}`), { priority });
  });
  const consumed: string[] = [];
  await ch.prefetch(1);
  await ch.consume('d-prio', (m) => {
    if (m === null) return;
    consumed.push(m.content.toString());
    ch.ack(m);
  });
  await until(() => consumed.length === 3, WAIT_MS, 'three consumed');
  return { order, consumed, fifo: (await drain(ch, 'd-noprio')).map((m) => m['body']) };
}, {
  order: [['p2', 5], ['p4', 9], ['p5', 5], ['p3', 3], ['p9', 3], ['p7', 2], ['p1', 1], ['p0', null], ['p6', 0], ['p8', null]],
  consumed: ['c1', 'c2', 'c0'],
});

diff(t, targets, 'closing a channel requeues its unacked deliveries, redelivered; ack multiple settles up to a tag', async ({ open }) => {
  const conn = await open();
  const ch = await confirmChannel(conn);
  await ch.assertQueue('d-close');
  await confirmed(ch, () => {
    for (let i = 0; i < 5; i++) ch.sendToQueue('d-close', Buffer.from(`c${i}`));
  });
  const seen: ConsumeMessage[] = [];
  const other = await channel(conn);
  await other.consume('d-close', (m) => { if (m !== null) seen.push(m); });
  await until(() => seen.length === 5, WAIT_MS, 'five deliveries');
  other.ack(seen[2]!, true);
  await other.close();
  return { seen: seen.map(messageRecord), after: await drain(ch, 'd-close') };
}, { after: [{ body: 'c3', fields: { redelivered: true } }, { body: 'c4', fields: { redelivered: true } }] });

diff(t, targets, 'a consumer of a deleted queue gets basic.cancel; its channel goes on', async ({ open }) => {
  const conn = await open();
  const ch = await channel(conn);
  await ch.assertQueue('d-gone');
  const events: unknown[] = [];
  ch.on('cancel', (f: { consumerTag: string }) => events.push({ cancelEvent: f.consumerTag }));
  const { consumerTag } = await ch.consume('d-gone', (m) => events.push(m === null ? 'consumer callback: null' : messageRecord(m)));
  ch.sendToQueue('d-gone', Buffer.from('before'));
  await until(() => events.length === 1, WAIT_MS, 'one delivery');
  const admin = await channel(conn);
  const deleted = await admin.deleteQueue('d-gone');
  await until(() => events.length === 3, WAIT_MS, 'the cancel');
  const after = await ch.assertQueue('d-gone-after');
  return { consumerTag, events, deleted, after, errors: ch.errors.length };
}, { events: [{ body: 'before' }, 'consumer callback: null', { cancelEvent: 'amq.ctag-*' }], deleted: { messageCount: 0 } });
