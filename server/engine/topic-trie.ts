// Topic-exchange routing: binding patterns in a trie over dot-separated words, with a bounded
// cache of routing key -> destinations, so routing never scans every binding. [AMQP 0-9-1 §3.1.3.3]

/**
 * Splits a topic key into words the way RabbitMQ does: '' is zero words, 'a.' is ['a', ''].
 * Empty words are real words: '*' matches one, '#' may match them.
 */
export function topicWords(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

class TrieNode<T> {
  constructor(readonly id: number) {}
  children = new Map<string, TrieNode<T>>();
  /**
   * Destinations whose pattern ends here, counted: two bindings of one queue with the same
   * pattern (different arguments) are two entries, and unbinding one leaves the other routing.
   */
  ends = new Map<T, number>();
}

/** Pattern words with runs of '#' collapsed: '#.#' matches exactly what '#' matches. */
function patternWords(pattern: string): string[] {
  const out: string[] = [];
  for (const w of topicWords(pattern)) if (!(w === '#' && out[out.length - 1] === '#')) out.push(w);
  return out;
}

/** Maps topic patterns to destinations of type T; `match` returns each destination once. */
export class TopicTrie<T> {
  private nodes = 0;
  private readonly root = new TrieNode<T>(0);
  private readonly cache = new Map<string, readonly T[]>();

  constructor(private readonly cacheLimit = 10_000) {}

  add(pattern: string, dest: T): void {
    let node = this.root;
    for (const word of patternWords(pattern)) {
      let next = node.children.get(word);
      if (next === undefined) {
        next = new TrieNode<T>(++this.nodes);
        node.children.set(word, next);
      }
      node = next;
    }
    node.ends.set(dest, (node.ends.get(dest) ?? 0) + 1);
    this.cache.clear();
  }

  remove(pattern: string, dest: T): void {
    const path: [TrieNode<T>, string][] = [];
    let node = this.root;
    for (const word of patternWords(pattern)) {
      const next = node.children.get(word);
      if (next === undefined) return;
      path.push([node, word]);
      node = next;
    }
    const n = node.ends.get(dest);
    if (n === undefined) return;
    if (n > 1) node.ends.set(dest, n - 1);
    else node.ends.delete(dest);
    // Prune nodes left empty so a churn of bindings does not grow the trie forever.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, word] = path[i]!;
      const child = parent.children.get(word)!;
      if (child.ends.size > 0 || child.children.size > 0) break;
      parent.children.delete(word);
    }
    this.cache.clear();
  }

  /** Every destination with at least one pattern matching `routingKey`, each once. */
  match(routingKey: string): readonly T[] {
    const hit = this.cache.get(routingKey);
    if (hit !== undefined) return hit;
    const found = new Set<T>();
    const words = topicWords(routingKey);
    this.walk(this.root, words, 0, found, new Set<number>());
    const result = [...found];
    if (this.cache.size >= this.cacheLimit) this.cache.clear();
    this.cache.set(routingKey, result);
    return result;
  }

  /**
   * Depth-first match. `seen` memoizes (node, word index) pairs: with '#' a pair can be reached
   * along many paths, and without the memo a pattern of several '#' is exponential in the key.
   */
  private walk(node: TrieNode<T>, words: string[], i: number, found: Set<T>, seen: Set<number>): void {
    const key = node.id * (words.length + 1) + i;
    if (seen.has(key)) return;
    seen.add(key);
    // '#' matches zero or more words: try every split point after it.
    const hash = node.children.get('#');
    if (hash !== undefined) {
      for (let j = i; j <= words.length; j++) this.walk(hash, words, j, found, seen);
    }
    if (i === words.length) {
      for (const d of node.ends.keys()) found.add(d);
      return;
    }
    const word = words[i]!;
    const exact = word === '#' || word === '*' ? undefined : node.children.get(word);
    if (exact !== undefined) this.walk(exact, words, i + 1, found, seen);
    const star = node.children.get('*');
    if (star !== undefined) this.walk(star, words, i + 1, found, seen);
  }
}
