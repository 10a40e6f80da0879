// What this client declared (exchanges, queues, bindings), in declaration order, so a new
// socket can declare it all again after a reconnect. Passive checks are not recorded.
import type { ExchangeOptions, ExchangeType, QueueOptions } from '../shared/frames.js';

/** One thing to declare again. */
export type TopologyEntry =
  | { kind: 'exchange'; name: string; type: ExchangeType; options: ExchangeOptions }
  | { kind: 'queue'; name: string; options: QueueOptions; serverNamed: boolean }
  | { kind: 'binding'; queue: string; exchange: string; pattern: string; args: Record<string, unknown> };

function bindingKey(queue: string, exchange: string, pattern: string, args: Record<string, unknown>): string {
  return `b\0${queue}\0${exchange}\0${pattern}\0${JSON.stringify(args)}`;
}

/**
 * Invariant: every binding comes after the declarations of its queue and exchange when this
 * client declared them, because a Map keeps insertion order and a redeclaration keeps its place.
 */
export class Topology {
  private readonly entries = new Map<string, TopologyEntry>();

  exchangeDeclared(name: string, type: ExchangeType, options: ExchangeOptions): void {
    this.entries.set(`x\0${name}`, { kind: 'exchange', name, type, options });
  }

  /** The broker deleted the exchange, and with it every binding to it. */
  exchangeDeleted(name: string): void {
    this.entries.delete(`x\0${name}`);
    for (const [key, e] of this.entries) if (e.kind === 'binding' && e.exchange === name) this.entries.delete(key);
  }

  /** `name` is the name the broker answered with; `serverNamed` when the client asked for ''. */
  queueDeclared(name: string, options: QueueOptions, serverNamed: boolean): void {
    const key = `q\0${name}`;
    const old = this.entries.get(key);
    // A later declare of a server-named queue by its name must not make it client-named.
    const keepServerNamed = old !== undefined && old.kind === 'queue' && old.serverNamed;
    this.entries.set(key, { kind: 'queue', name, options, serverNamed: serverNamed || keepServerNamed });
  }

  /** The broker deleted the queue, and with it every binding of it. */
  queueDeleted(name: string): void {
    this.entries.delete(`q\0${name}`);
    for (const [key, e] of this.entries) if (e.kind === 'binding' && e.queue === name) this.entries.delete(key);
  }

  bound(queue: string, exchange: string, pattern: string, args: Record<string, unknown>): void {
    this.entries.set(bindingKey(queue, exchange, pattern, args), { kind: 'binding', queue, exchange, pattern, args });
  }

  unbound(queue: string, exchange: string, pattern: string, args: Record<string, unknown>): void {
    this.entries.delete(bindingKey(queue, exchange, pattern, args));
  }

  /**
   * A server-named queue came back under a new name after a reconnect: rename it and its
   * bindings in place (keeping their order).
   */
  renameQueue(from: string, to: string): void {
    const renamed = new Map<string, TopologyEntry>();
    for (const [key, e] of this.entries) {
      if (e.kind === 'queue' && e.name === from) renamed.set(`q\0${to}`, { ...e, name: to });
      else if (e.kind === 'binding' && e.queue === from) renamed.set(bindingKey(to, e.exchange, e.pattern, e.args), { ...e, queue: to });
      else renamed.set(key, e);
    }
    this.entries.clear();
    for (const [key, e] of renamed) this.entries.set(key, e);
  }

  /** Everything to declare again, in order. */
  list(): TopologyEntry[] {
    return [...this.entries.values()];
  }
}
