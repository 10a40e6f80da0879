// Exchanges and their bindings: given a routing key (and headers), which queues get a copy, through
// bindings to queues and to other exchanges (exchange.bind, RabbitMQ's exchange-to-exchange
// bindings). Each type keeps an index suited to its matching rule, so routing cost does not grow
// with bindings.
import type { ExchangeType } from '../../shared/frames.js';
import { TopicTrie } from './topic-trie.js';

/** A binding as declared: destination (a queue, or an exchange), pattern (routing key or topic pattern) and arguments. */
export interface Binding<Q> {
  destination: Q;
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
    m.set(b.destination, (m.get(b.destination) ?? 0) + 1);
    this.cached.delete(b.pattern);
  }
  remove(b: Binding<Q>): void {
    const m = this.byKey.get(b.pattern);
    const n = m?.get(b.destination);
    if (m === undefined || n === undefined) return;
    if (n > 1) m.set(b.destination, n - 1);
    else m.delete(b.destination);
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
    this.counts.set(b.destination, (this.counts.get(b.destination) ?? 0) + 1);
    this.cached = null;
  }
  remove(b: Binding<Q>): void {
    const n = this.counts.get(b.destination);
    if (n === undefined) return;
    if (n <= 1) this.counts.delete(b.destination);
    else this.counts.set(b.destination, n - 1);
    this.cached = null;
  }
  route(): readonly Q[] {
    return (this.cached ??= [...this.counts.keys()]);
  }
}

class TopicRouter<Q> implements Router<Q> {
  private readonly trie = new TopicTrie<Q>();
  add(b: Binding<Q>): void { this.trie.add(b.pattern, b.destination); }
  remove(b: Binding<Q>): void { this.trie.remove(b.pattern, b.destination); }
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
    const i = this.bindings.findIndex((x) => x.b.destination === b.destination && x.b.pattern === b.pattern && sameArgs(x.b.args, b.args));
    if (i >= 0) this.bindings.splice(i, 1);
  }
  route(_key: string, headers: Record<string, unknown> | undefined): readonly Q[] {
    const out = new Set<Q>();
    const h = headers ?? {};
    for (const { b, any, keys } of this.bindings) {
      const hits = keys.filter((k) => k in h && (b.args[k] === undefined || b.args[k] === null || h[k] === b.args[k])).length;
      if (any ? hits > 0 : hits === keys.length) out.add(b.destination);
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
  /** Bindings to queues. */
  readonly bindings: Binding<Q>[] = [];
  /** Bindings to other exchanges, this one their source (exchange.bind). */
  readonly exchangeBindings: Binding<Exchange<Q>>[] = [];
  private readonly router: Router<Q>;
  /** Created with the first exchange binding: routing without any pays nothing for them. */
  private exchangeRouter: Router<Exchange<Q>> | null = null;

  constructor(
    readonly name: string,
    readonly type: ExchangeType,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly internal: boolean,
    readonly args: Record<string, unknown>,
  ) {
    this.router = routerOf(type);
  }

  /** Bindings of which this exchange is the source, to queues and to exchanges (what auto-delete and if-unused count). */
  get bindingCount(): number {
    return this.bindings.length + this.exchangeBindings.length;
  }

  /** Adds a binding to a queue; returns false when the same one exists already (binding is idempotent). */
  bind(queue: Q, pattern: string, args: Record<string, unknown>): boolean {
    if (findBinding(this.bindings, queue, pattern, args) >= 0) return false;
    const b = { destination: queue, pattern, args };
    this.bindings.push(b);
    this.router.add(b);
    return true;
  }

  /** Removes a binding to a queue; returns false when there was none. */
  unbind(queue: Q, pattern: string, args: Record<string, unknown>): boolean {
    const i = findBinding(this.bindings, queue, pattern, args);
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
      if (b.destination !== queue) continue;
      this.bindings.splice(i, 1);
      this.router.remove(b);
      n++;
    }
    return n;
  }

  /** Adds a binding to exchange `destination`; returns false when the same one exists already. */
  bindExchange(destination: Exchange<Q>, pattern: string, args: Record<string, unknown>): boolean {
    if (findBinding(this.exchangeBindings, destination, pattern, args) >= 0) return false;
    const b = { destination, pattern, args };
    this.exchangeBindings.push(b);
    (this.exchangeRouter ??= routerOf<Exchange<Q>>(this.type)).add(b);
    return true;
  }

  /** Removes a binding to exchange `destination`; returns false when there was none. */
  unbindExchange(destination: Exchange<Q>, pattern: string, args: Record<string, unknown>): boolean {
    const i = findBinding(this.exchangeBindings, destination, pattern, args);
    if (i < 0) return false;
    const [b] = this.exchangeBindings.splice(i, 1);
    this.exchangeRouter!.remove(b!);
    if (this.exchangeBindings.length === 0) this.exchangeRouter = null;
    return true;
  }

  /** Removes every binding to exchange `destination` (it is being deleted); returns how many. */
  unbindDestination(destination: Exchange<Q>): number {
    let n = 0;
    for (let i = this.exchangeBindings.length - 1; i >= 0; i--) {
      const b = this.exchangeBindings[i]!;
      if (b.destination !== destination) continue;
      this.exchangeBindings.splice(i, 1);
      this.exchangeRouter!.remove(b);
      n++;
    }
    if (this.exchangeBindings.length === 0) this.exchangeRouter = null;
    return n;
  }

  /**
   * The queues a message of this key and headers goes to: this exchange's own, and those of the
   * exchanges it is bound to, each matched by its own type and bindings with the same key and
   * headers (as RabbitMQ routes). Each queue gets one copy; an exchange reached twice (a cycle of
   * bindings, two paths) is routed through once.
   */
  route(routingKey: string, headers: Record<string, unknown> | undefined): readonly Q[] {
    const own = this.router.route(routingKey, headers);
    if (this.exchangeRouter === null) return own;
    const out = new Set(own);
    this.routeThrough(routingKey, headers, out, new Set<Exchange<Q>>([this]));
    return [...out];
  }

  private routeThrough(routingKey: string, headers: Record<string, unknown> | undefined, out: Set<Q>, seen: Set<Exchange<Q>>): void {
    for (const next of this.exchangeRouter!.route(routingKey, headers)) {
      if (seen.has(next)) continue;
      seen.add(next);
      for (const q of next.router.route(routingKey, headers)) out.add(q);
      if (next.exchangeRouter !== null) next.routeThrough(routingKey, headers, out, seen);
    }
  }
}

function routerOf<D>(type: ExchangeType): Router<D> {
  return type === 'direct' ? new DirectRouter() : type === 'fanout' ? new FanoutRouter() : type === 'topic' ? new TopicRouter() : new HeadersRouter();
}

function findBinding<D>(bindings: readonly Binding<D>[], destination: D, pattern: string, args: Record<string, unknown>): number {
  return bindings.findIndex((b) => b.destination === destination && b.pattern === pattern && sameArgs(b.args, args));
}
