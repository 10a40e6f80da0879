// amqplib differential suite, routing: the same scenarios on RabbitMQ and on broker-server's AMQP
// listener, compared record for record (test/amqp-diff/diff-helpers.ts): direct, fanout, topic with
// # and * (empty words too), headers (x-match all / any), exchange-to-exchange bindings, mandatory
// returns (312 NO_ROUTE), server-named queues, and publisher confirms (acks, multiple, nacks).
import t from 'tap';
import type { Message } from 'amqplib';
import { bodies, channel, confirmChannel, confirmed, diff, messageRecord, startTargets, WAIT_MS } from './diff-helpers.js';
import { until } from '../helpers/wait.js';

const targets = await startTargets(t);

diff(t, targets, 'direct: each queue gets the keys it is bound with, in publish order', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertExchange('r-direct', 'direct');
  await ch.assertQueue('r-direct-a');
  await ch.assertQueue('r-direct-ab');
  await ch.bindQueue('r-direct-a', 'r-direct', 'a');
  await ch.bindQueue('r-direct-ab', 'r-direct', 'a');
  await ch.bindQueue('r-direct-ab', 'r-direct', 'b');
  // The same binding twice is one binding.
  await ch.bindQueue('r-direct-ab', 'r-direct', 'b');
  await confirmed(ch, () => {
    for (const [i, key] of ['a', 'b', 'c', 'a', 'A'].entries()) ch.publish('r-direct', key, Buffer.from(`${key}${i}`));
  });
  // The default exchange routes by queue name.
  await confirmed(ch, () => ch.publish('', 'r-direct-a', Buffer.from('default')));
  return { a: await bodies(ch, 'r-direct-a'), ab: await bodies(ch, 'r-direct-ab') };
}, { a: ['a0', 'a3', 'default'], ab: ['a0', 'b1', 'a3'] });

diff(t, targets, 'fanout: every bound queue, whatever the key', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertExchange('r-fan', 'fanout');
  for (const [q, key] of [['r-fan-1', ''], ['r-fan-2', 'ignored']]) {
    await ch.assertQueue(q!);
    await ch.bindQueue(q!, 'r-fan', key!);
  }
  await confirmed(ch, () => {
    ch.publish('r-fan', 'x', Buffer.from('one'));
    ch.publish('r-fan', '', Buffer.from('two'));
  });
  const got = await ch.get('r-fan-1');
  return { one: await bodies(ch, 'r-fan-1'), two: await bodies(ch, 'r-fan-2'), first: got === false ? false : messageRecord(got) };
}, { two: ['one', 'two'] });

diff(t, targets, 'topic: # matches zero or more words, * exactly one, empty words included', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertExchange('r-topic', 'topic');
  const patterns = ['#', 'a.#', 'a.*', '*.b.*', '#.c', 'a.#.c', 'a.b', '*', '*.*', '#.#', 'a.*.#', '', 'a..c', '*.*.c'];
  for (const [i, pattern] of patterns.entries()) {
    await ch.assertQueue(`r-topic-${i}`);
    await ch.bindQueue(`r-topic-${i}`, 'r-topic', pattern);
  }
  const keys = ['', 'a', 'a.b', 'a.b.c', 'a.x.y.c', 'x.b.y', 'b', 'c', 'a..c', '.', 'a.', '.a', 'A.b'];
  await confirmed(ch, () => {
    for (const key of keys) ch.publish('r-topic', key, Buffer.from(`[${key}]`));
  });
  const routed: Record<string, string[]> = {};
  for (const [i, pattern] of patterns.entries()) routed[pattern === '' ? '(empty)' : pattern] = await bodies(ch, `r-topic-${i}`);
  return routed;
}, { 'a.*': ['[a.b]', '[a.]'], 'a.b': ['[a.b]'] });

diff(t, targets, 'headers: x-match all and any, typed values, the x- arguments left out of the match', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertExchange('r-headers', 'headers');
  const bindings: Record<string, Record<string, unknown>> = {
    all: { 'x-match': 'all', a: 1, b: 'x' },
    any: { 'x-match': 'any', a: 1, c: true },
    default: { a: 1, b: 'x' },
    none: { 'x-match': 'all' },
    'any-none': { 'x-match': 'any' },
    'with-x': { 'x-match': 'all', a: 1, 'x-other': 'y' },
  };
  for (const [name, args] of Object.entries(bindings)) {
    await ch.assertQueue(`r-headers-${name}`);
    await ch.bindQueue(`r-headers-${name}`, 'r-headers', 'ignored', args);
  }
  const messages: [string, Record<string, unknown> | undefined][] = [
    ['ab', { a: 1, b: 'x' }],
    ['ab-extra', { a: 1, b: 'x', d: 4 }],
    ['a', { a: 1 }],
    ['a-string', { a: '1' }],
    ['c', { c: true }],
    ['b-wrong', { a: 1, b: 'y' }],
    ['none', undefined],
    ['empty', {}],
  ];
  await confirmed(ch, () => {
    for (const [body, headers] of messages) ch.publish('r-headers', 'k', Buffer.from(body), headers === undefined ? {} : { headers });
  });
  const routed: Record<string, string[]> = {};
  for (const name of Object.keys(bindings)) routed[name] = await bodies(ch, `r-headers-${name}`);
  return routed;
}, { all: ['ab', 'ab-extra'] });

diff(t, targets, 'exchange-to-exchange bindings: through each exchange\'s own type, once per queue, cycles cut', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertExchange('r-e2e-src', 'topic');
  await ch.assertExchange('r-e2e-fan', 'fanout');
  await ch.assertExchange('r-e2e-direct', 'direct');
  await ch.bindExchange('r-e2e-fan', 'r-e2e-src', 'a.#');
  await ch.bindExchange('r-e2e-direct', 'r-e2e-src', '#');
  // A cycle: the fanout back to the topic exchange.
  await ch.bindExchange('r-e2e-src', 'r-e2e-fan', '');
  await ch.assertQueue('r-e2e-q');
  await ch.assertQueue('r-e2e-d');
  await ch.bindQueue('r-e2e-q', 'r-e2e-fan', '');
  await ch.bindQueue('r-e2e-q', 'r-e2e-src', 'a.b');
  await ch.bindQueue('r-e2e-d', 'r-e2e-direct', 'a.b');
  await confirmed(ch, () => {
    for (const key of ['a.b', 'a.c', 'b']) ch.publish('r-e2e-src', key, Buffer.from(key));
  });
  const before = { q: await bodies(ch, 'r-e2e-q'), d: await bodies(ch, 'r-e2e-d') };
  await ch.unbindExchange('r-e2e-fan', 'r-e2e-src', 'a.#');
  await confirmed(ch, () => ch.publish('r-e2e-src', 'a.c', Buffer.from('after-unbind')));
  const q = await ch.get('r-e2e-q');
  return { before, afterUnbind: q === false ? null : messageRecord(q) };
}, { before: { q: ['a.b', 'a.c'], d: ['a.b'] }, afterUnbind: null });

diff(t, targets, 'mandatory: an unroutable message comes back as basic.return 312 NO_ROUTE, before its confirm', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertExchange('r-mand', 'direct');
  await ch.assertQueue('r-mand-q');
  await ch.bindQueue('r-mand-q', 'r-mand', 'here');
  const events: unknown[] = [];
  ch.on('return', (m: Message) => events.push({ returned: messageRecord(m), reply: [(m.fields as unknown as { replyCode: number }).replyCode, (m.fields as unknown as { replyText: string }).replyText] }));
  const publish = (ex: string, key: string, body: string, mandatory: boolean): Promise<void> => new Promise((resolve, reject) => {
    ch.publish(ex, key, Buffer.from(body), { mandatory, headers: { h: 'kept', n: 7 }, messageId: body, contentType: 'text/plain' }, (err) => {
      events.push(`confirmed ${body}`);
      if (err) reject(err); else resolve();
    });
  });
  await publish('r-mand', 'nowhere', 'unroutable', true);
  await publish('r-mand', 'nowhere', 'not-mandatory', false);
  await publish('r-mand', 'here', 'routed', true);
  await publish('', 'r-mand-missing', 'no-such-queue', true);
  return { events, queued: await bodies(ch, 'r-mand-q') };
}, { events: [{ reply: [312, 'NO_ROUTE'] }, 'confirmed unroutable', 'confirmed not-mandatory', 'confirmed routed'] });

diff(t, targets, 'server-named queues: amq.gen- names, declare-ok counts, the channel\'s last queue for an empty name', async ({ open }) => {
  const conn = await open();
  const ch = await confirmChannel(conn);
  const first = await ch.assertQueue('', { exclusive: true });
  const second = await ch.assertQueue('', { exclusive: false, durable: false, autoDelete: true });
  await ch.assertExchange('r-named', 'direct');
  // An empty queue name in bind, publish-side routing and purge means the channel's last declared queue.
  await ch.bindQueue('', 'r-named', 'k');
  await confirmed(ch, () => ch.publish('r-named', 'k', Buffer.from('to-last')));
  const last = await ch.checkQueue(second.queue);
  const got = await ch.get(second.queue, { noAck: true });
  const other = await channel(conn);
  const fromOtherChannel = await other.checkQueue(first.queue);
  return {
    first: { ...first, sameAsSecond: first.queue === second.queue },
    second,
    last,
    got: got === false ? null : messageRecord(got),
    fromOtherChannel,
  };
}, { first: { queue: 'amq.gen-*', messageCount: 0, consumerCount: 0, sameAsSecond: false }, last: { messageCount: 1 } });

diff(t, targets, 'publisher confirms: every publish acked once, multiple covering earlier tags; reject-publish nacks', async ({ open }) => {
  const ch = await confirmChannel(await open());
  await ch.assertQueue('r-confirm', { durable: true });
  await ch.assertQueue('r-confirm-full', { arguments: { 'x-max-length': 2, 'x-overflow': 'reject-publish' } });
  // Which acks carry multiple is the server's choice: the record is which tags each outcome covered.
  // A multiple ack or nack settles every tag up to its own that is not settled yet [AMQP 0-9-1 §1.8.3.13].
  const covered: Record<string, string> = {};
  const cover = (kind: string) => (f: { deliveryTag: number; multiple: boolean }): void => {
    const tags = f.multiple ? Array.from({ length: f.deliveryTag }, (_, i) => i + 1).filter((tag) => covered[tag] === undefined) : [f.deliveryTag];
    for (const tag of tags) covered[tag] = covered[tag] === undefined ? kind : `${covered[tag]}+${kind}`;
  };
  ch.on('ack', cover('ack'));
  ch.on('nack', cover('nack'));
  const outcomes = await Promise.all([
    ...Array.from({ length: 30 }, (_, i) => ['r-confirm', i % 3 === 0] as const),
    ...Array.from({ length: 4 }, () => ['r-confirm-full', true] as const),
  ].map(([queue, persistent], i) => new Promise<string>((resolve) => {
    ch.sendToQueue(queue, Buffer.from(`m${i}`), { persistent }, (err) => resolve(err ? 'nack' : 'ack'));
  })));
  await until(() => Object.keys(covered).length >= outcomes.length, WAIT_MS, 'every publish confirmed');
  const counts = [(await ch.checkQueue('r-confirm')).messageCount, (await ch.checkQueue('r-confirm-full')).messageCount];
  return { outcomes, covered, counts, full: await bodies(ch, 'r-confirm-full') };
}, { counts: [30, 2], full: ['m30', 'm31'] });
