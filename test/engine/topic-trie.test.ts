// Topic matching table: AMQP 0-9-1 topic semantics as RabbitMQ implements them.
import t from 'tap';
import { TopicTrie, topicWords } from '../../server/engine/topic-trie.js';

const table: [pattern: string, key: string, match: boolean][] = [
  ['#', '', true],
  ['#', 'a', true],
  ['#', 'a.b.c', true],
  ['#', '..', true],
  ['*', '', false],
  ['*', 'a', true],
  ['*', 'a.b', false],
  ['*', '.', false],
  ['a.#', 'a', true],
  ['a.#', 'a.b.c', true],
  ['a.#', 'b', false],
  ['a.#', 'ab', false],
  ['a.#.b', 'a.b', true],
  ['a.#.b', 'a.x.y.b', true],
  ['a.#.b', 'a.b.c', false],
  ['a.#.#.b', 'a.b', true],
  ['#.#', '', true],
  ['#.#', 'a.b', true],
  ['#.b', 'b', true],
  ['#.b', 'a.b', true],
  ['#.b', 'a.c', false],
  ['a.*.c', 'a..c', true],
  ['a.*', 'a.', true],
  ['a.*', 'a', false],
  ['a..c', 'a..c', true],
  ['a..c', 'a.b.c', false],
  ['*.*', 'a.b', true],
  ['*.*', 'a', false],
  ['*.#', '', false],
  ['*.#', 'a', true],
  ['*.#', 'a.b.c', true],
  ['#.*', '', false],
  ['#.*', 'a', true],
  ['*.#.*', 'a', false],
  ['*.#.*', 'a.b', true],
  ['*.#.*', 'a.b.c', true],
  ['', '', true],
  ['', 'a', false],
  ['a.b', 'a.b', true],
  ['a.b', 'a.b.c', false],
  ['a.b.c', 'a.b', false],
  ['task.#', 'task.default', true],
  ['web.#', 'web.add', true],
  ['web.#', 'task.add', false],
  ['*.orange.*', 'quick.orange.rabbit', true],
  ['*.*.rabbit', 'quick.orange.rabbit', true],
  ['lazy.#', 'lazy.orange.male.rabbit', true],
  ['*.orange.*', 'quick.orange.male.rabbit', false],
  ['lazy.#', 'quick.brown.fox', false],
];

t.test('words: empty key is zero words, trailing dot is an empty word', async (t) => {
  t.same(topicWords(''), []);
  t.same(topicWords('a.'), ['a', '']);
  t.same(topicWords('a..b'), ['a', '', 'b']);
});

for (const [pattern, key, expected] of table) {
  t.test(`'${pattern}' ${expected ? 'matches' : 'does not match'} '${key}'`, async (t) => {
    const trie = new TopicTrie<string>();
    trie.add(pattern, 'q');
    t.same(trie.match(key), expected ? ['q'] : []);
  });
}

t.test('a key matching several bindings of one queue yields it once', async (t) => {
  const trie = new TopicTrie<string>();
  for (const p of ['a.#', 'a.*', '#', 'a.b', '*.b']) trie.add(p, 'q');
  trie.add('a.b', 'r');
  t.same([...trie.match('a.b')].sort(), ['q', 'r']);
});

t.test('remove prunes and invalidates the cache', async (t) => {
  const trie = new TopicTrie<string>();
  trie.add('a.*', 'q');
  t.same(trie.match('a.b'), ['q']);
  trie.remove('a.*', 'q');
  t.same(trie.match('a.b'), []);
  trie.remove('not.there', 'q');
  trie.add('a.*', 'q');
  t.same(trie.match('a.b'), ['q']);
});

t.test('routing cost does not depend on unrelated bindings', async (t) => {
  // 50,000 bindings on distinct first words: a key only walks its own branch.
  const trie = new TopicTrie<number>();
  for (let i = 0; i < 50_000; i++) trie.add(`k${i}.*`, i);
  t.same(trie.match('k123.x'), [123]);
  t.same(trie.match('nothing.here'), []);
});

t.test('the cache is bounded', async (t) => {
  const trie = new TopicTrie<string>(10);
  trie.add('#', 'q');
  for (let i = 0; i < 100; i++) t.same(trie.match(`k${i}`), ['q']);
  t.ok((trie as unknown as { cache: Map<string, unknown> }).cache.size <= 10);
});
