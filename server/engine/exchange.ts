// Exchanges and their bindings: given a routing key (and headers), which queues get a copy.
// Each type keeps an index suited to its matching rule, so routing cost does not grow with bindings.
import type { ExchangeType } from '../../shared/frames.js';
import { TopicTrie } from './topic-trie.js';

/** A binding as declared: queue, pattern (routing key or topic pattern) and arguments. */
export interface Binding<Q> {
  queue: Q;
  pattern: string;
  args: Record<string, unknown>;
}

/** Routing index of one exchange. */
interface Router<Q> {
  add(b: Binding<Q>): void;
  remove(b: Binding<Q>): void;
  route(routingKey: string, headers: Record<string, unknown> | undefined): readonly Q[];
}

class DirectRouter<Q> implements Router<Q> {
  // Counted per (key, queue): bindings that differ only in arguments route once, unbind one by one.
  private readonly byKey = new Map<string, Map<Q, number>>();
  private readonly cached = new Map<string, Q[]>();
  add(b: Binding<Q>): void {
    let m = this.byKey.get(b.pattern);
    if (m === undefined) this.byKey.set(b.pattern, (m = new Map()));
    m.set(b.queue, (m.get(b.queue) ?? 0) + 1);
    this.cached.delete(b.pattern);
  }
  remove(b: Binding<Q>): void {
    const m = this.byKey.get(b.pattern);
    const n = m?.get(b.queue);
    if (m === undefined || n === undefined) return;
    if (n > 1) m.set(b.queue, n - 1);
    else m.delete(b.queue);
    if (m.size === 0) this.byKey.delete(b.pattern);
    this.cached.delete(b.pattern);
  }
  route(routingKey: string): readonly Q[] {
    let list = this.cached.get(routingKey);
    if (list === undefined) {
      const m = this.byKey.get(routingKey);
      if (m === undefined) return [];
      list = [...m.keys()];
      this.cached.set(routingKey, list);
    }
    return list;
  }
}

class FanoutRouter<Q> implements Router<Q> {
  // Counted per queue: a queue bound twice (two patterns) still gets one copy.
  private readonly counts = new Map<Q, number>();
  private cached: Q[] | null = null;
  add(b: Binding<Q>): void {
    this.counts.set(b.queue, (this.counts.get(b.queue) ?? 0) + 1);
    this.cached = null;
  }
  remove(b: Binding<Q>): void {
    const n = this.counts.get(b.queue);
    if (n === undefined) return;
    if (n <= 1) this.counts.delete(b.queue);
    else this.counts.set(b.queue, n - 1);
    this.cached = null;
  }
  route(): readonly Q[] {
    return (this.cached ??= [...this.counts.keys()]);
  }
}

class TopicRouter<Q> implements Router<Q> {
  private readonly trie = new TopicTrie<Q>();
  add(b: Binding<Q>): void { this.trie.add(b.pattern, b.queue); }
  remove(b: Binding<Q>): void { this.trie.remove(b.pattern, b.queue); }
  route(routingKey: string): readonly Q[] { return this.trie.match(routingKey); }
}

/**
 * Headers exchange [AMQP 0-9-1 §3.1.3.4]: `x-match` all (default) or any over the binding's other
 * arguments. Matching is a scan of this exchange's bindings; headers exchanges are rare and small.
 */
class HeadersRouter<Q> implements Router<Q> {
  // The keys to compare are worked out once per binding, not once per message.
  private readonly bindings: { b: Binding<Q>; any: boolean; keys: string[] }[] = [];
  add(b: Binding<Q>): void {
    this.bindings.push({ b, any: b.args['x-match'] === 'any', keys: Object.keys(b.args).filter((k) => !k.startsWith('x-')) });
  }
  remove(b: Binding<Q>): void {
    const i = this.bindings.findIndex((x) => x.b.queue === b.queue && x.b.pattern === b.pattern && sameArgs(x.b.args, b.args));
    if (i >= 0) this.bindings.splice(i, 1);
  }
  route(_key: string, headers: Record<string, unknown> | undefined): readonly Q[] {
    const out = new Set<Q>();
    const h = headers ?? {};
    for (const { b, any, keys } of this.bindings) {
      const hits = keys.filter((k) => k in h && (b.args[k] === undefined || b.args[k] === null || h[k] === b.args[k])).length;
      if (any ? hits > 0 : hits === keys.length) out.add(b.queue);
    }
    return [...out];
  }
}

/** JSON with object keys sorted at every level, so equal arguments give equal text. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v instanceof Uint8Array) return `bin:${Buffer.from(v).toString('base64')}`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

/** Equality of binding arguments (plain msgpack values), ignoring key order. */
export function sameArgs(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return canonical(a) === canonical(b);
}

/** An exchange of one virtual host with its bindings. */
export class Exchange<Q> {
  readonly bindings: Binding<Q>[] = [];
  private readonly router: Router<Q>;

  constructor(
    readonly name: string,
    readonly type: ExchangeType,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly internal: boolean,
    readonly args: Record<string, unknown>,
  ) {
    this.router = type === 'direct' ? new DirectRouter() : type === 'fanout' ? new FanoutRouter() : type === 'topic' ? new TopicRouter() : new HeadersRouter();
  }

  /** Adds a binding; returns false when the same one exists already (binding is idempotent). */
  bind(queue: Q, pattern: string, args: Record<string, unknown>): boolean {
    if (this.findBinding(queue, pattern, args) >= 0) return false;
    const b = { queue, pattern, args };
    this.bindings.push(b);
    this.router.add(b);
    return true;
  }

  /** Removes a binding; returns false when there was none. */
  unbind(queue: Q, pattern: string, args: Record<string, unknown>): boolean {
    const i = this.findBinding(queue, pattern, args);
    if (i < 0) return false;
    const [b] = this.bindings.splice(i, 1);
    this.router.remove(b!);
    return true;
  }

  /** Removes every binding of a queue (the queue is being deleted); returns how many. */
  unbindQueue(queue: Q): number {
    let n = 0;
    for (let i = this.bindings.length - 1; i >= 0; i--) {
      const b = this.bindings[i]!;
      if (b.queue !== queue) continue;
      this.bindings.splice(i, 1);
      this.router.remove(b);
      n++;
    }
    return n;
  }

  route(routingKey: string, headers: Record<string, unknown> | undefined): readonly Q[] {
    return this.router.route(routingKey, headers);
  }

  private findBinding(queue: Q, pattern: string, args: Record<string, unknown>): number {
    return this.bindings.findIndex((b) => b.queue === queue && b.pattern === pattern && sameArgs(b.args, args));
  }
}
