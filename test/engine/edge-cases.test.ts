// Engine edge cases found in review: each would lose, duplicate or stall messages, or let one
// client wedge the broker.
import t from 'tap';
import { TopicTrie } from '../../server/engine/topic-trie.js';
import { until } from '../helpers/wait.js';
import { openHarness, text } from './engine-harness.js';

t.test('many # in a pattern match in polynomial time', async (t) => {
  const trie = new TopicTrie<string>();
  trie.add('#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.x', 'q');
  trie.add('#.a.#.b.#.c.#.d.#.e.#.f.#.g.#', 'r');
  const words = Array.from({ length: 60 }, (_, i) => `w${i}`);
  t.same(trie.match(words.join('.')), []);
  t.same(trie.match([...words, 'x'].join('.')), ['q']);
  t.same(trie.match(['a', 'b', 'c', 'd', 'e', 'f', 'g'].join('.')), ['r']);
});

t.test('routing keys and binding patterns longer than 255 bytes are refused', async (t) => {
  const h = openHarness(t);
  const { conn } = h.connect();
  h.engine.declareExchange(conn, 'ex', 'topic', {});
  h.engine.declareQueue(conn, 'q', {});
  await t.rejects(h.publish(conn, 'ex', 'k'.repeat(256), 'x'), { code: 'ERR_INVALID_ARGUMENT' });
  t.throws(() => h.engine.bindQueue(conn, 'q', 'ex', 'p'.repeat(300), {}), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(h.publish(conn, 'ex', 'k', 'x', { headers: 'nope' }), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('bindings that differ only in arguments are separate: unbinding one leaves the other', async (t) => {
  const h = openHarness(t);
  const { conn } = h.connect();
  for (const type of ['direct', 'topic'] as const) {
    h.engine.declareExchange(conn, type, type, {});
    h.engine.declareQueue(conn, `q-${type}`, {});
    h.engine.bindQueue(conn, `q-${type}`, type, 'k', {});
    h.engine.bindQueue(conn, `q-${type}`, type, 'k', { a: 1 });
    h.engine.unbindQueue(conn, `q-${type}`, type, 'k', { a: 1 });
    await h.publish(conn, type, 'k', 'still routed', {}, true);
    t.equal(h.engine.declareQueue(conn, `q-${type}`, {}).messageCount, 1, type);
  }
});

t.test('a durable exclusive queue is never written to disk and loses nothing when deep', async (t) => {
  const h = openHarness(t, ':memory:', { pagingThreshold: 3 });
  const { conn } = h.connect();
  h.engine.declareQueue(conn, 'mine', { durable: true, exclusive: true });
  for (let i = 0; i < 6; i++) await h.publish(conn, '', 'mine', `m${i}`, { persistent: true });
  const got: string[] = [];
  for (let m = h.engine.get(conn, 'mine', true); m !== null; m = h.engine.get(conn, 'mine', true)) got.push(text(m));
  t.same(got, ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  t.equal(h.store.maxMessageId(), 0, 'no row written');
});

t.test('a page of only delayed rows does not hide the ready ones behind it', async (t) => {
  const h = openHarness(t, ':memory:', { pagingThreshold: 1 });
  const { conn } = h.connect();
  h.engine.declareQueue(conn, 'deep', { durable: true });
  await h.publish(conn, '', 'deep', 'first', { persistent: true });
  await h.publish(conn, '', 'deep', 'second', { persistent: true });
  const later = [];
  for (let i = 0; i < 4_500; i++) later.push(h.publish(conn, '', 'deep', 'later', { persistent: true, delay: 60_000 }));
  await Promise.all(later);
  await h.publish(conn, '', 'deep', 'third', { persistent: true });
  const got = [0, 1, 2].map(() => h.engine.get(conn, 'deep', true)).map((m) => (m === null ? null : text(m)));
  t.same(got, ['first', 'second', 'third']);
  t.equal(h.engine.get(conn, 'deep', true), null, 'the delayed ones are not ready');
});

t.test('a deep priority queue still delivers the highest priority first', async (t) => {
  const h = openHarness(t, ':memory:', { pagingThreshold: 50 });
  const { conn } = h.connect();
  h.engine.declareQueue(conn, 'prio', { durable: true, maxPriority: 9 });
  const sends = [];
  for (let i = 0; i < 300; i++) sends.push(h.publish(conn, '', 'prio', 'low', { persistent: true, priority: 1 }));
  await Promise.all(sends);
  await h.publish(conn, '', 'prio', 'urgent', { persistent: true, priority: 9 });
  t.equal(text(h.engine.get(conn, 'prio', true)!), 'urgent');
});

t.test('dead-lettered copies respect the target queue maxLength', async (t) => {
  const h = openHarness(t);
  const { conn } = h.connect();
  h.engine.declareQueue(conn, 'dead', { maxLength: 2, overflow: 'reject-publish' });
  h.engine.declareQueue(conn, 'work', { deadLetterExchange: '', deadLetterRoutingKey: 'dead' });
  for (let i = 0; i < 5; i++) await h.publish(conn, '', 'work', `m${i}`);
  for (let i = 0; i < 5; i++) {
    const m = h.engine.get(conn, 'work', false)!;
    h.engine.reject(conn, m.deliveryTag, false);
  }
  t.equal(h.engine.declareQueue(conn, 'dead', { maxLength: 2, overflow: 'reject-publish' }).messageCount, 2);
});

t.test('purging a deep queue removes its disk tail and keeps held delayed messages', async (t) => {
  const h = openHarness(t, ':memory:', { pagingThreshold: 10 });
  const { conn } = h.connect();
  h.engine.declareQueue(conn, 'deep', { durable: true });
  const sends = [];
  for (let i = 0; i < 100; i++) sends.push(h.publish(conn, '', 'deep', `m${i}`, { persistent: true }));
  sends.push(h.publish(conn, '', 'deep', 'delayed', { persistent: true, delay: 200 }));
  await Promise.all(sends);
  t.equal(h.engine.purgeQueue(conn, 'deep').messageCount, 100);
  t.equal(h.engine.get(conn, 'deep', true), null);
  let due: ReturnType<typeof h.engine.get> = null;
  await until(() => (due = h.engine.get(conn, 'deep', true)) !== null, 10_000, 'the delayed message to come due');
  t.equal(text(due!), 'delayed');
});
