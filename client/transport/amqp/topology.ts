// What was declared through a transport, in order, so a reconnect can declare it all again
// (a broker restarted without its data, or auto-delete entities gone with the old connection).
import type { Channel } from 'amqplib';
import type { ExchangeOptions, ExchangeType, QueueOptions } from '../../../shared/frames.js';
import { queueArguments } from './arguments.js';

type Declaration =
  | { kind: 'exchange'; name: string; type: ExchangeType; options: ExchangeOptions }
  | { kind: 'queue'; name: string; options: QueueOptions }
  | { kind: 'bindQueue'; queue: string; exchange: string; pattern: string; args: Record<string, unknown> | undefined }
  | { kind: 'bindExchange'; destination: string; source: string; pattern: string; args: Record<string, unknown> | undefined };

/** The declarations made so far, each kept once (the latest of the same entity wins). */
export class Topology {
  readonly #entries = new Map<string, Declaration>();

  exchange(name: string, type: ExchangeType, options: ExchangeOptions): void {
    this.#entries.set(`e:${name}`, { kind: 'exchange', name, type, options });
  }

  queue(name: string, options: QueueOptions): void {
    this.#entries.set(`q:${name}`, { kind: 'queue', name, options });
  }

  bindQueue(queue: string, exchange: string, pattern: string, args: Record<string, unknown> | undefined): void {
    this.#entries.set(`b:${queue}\0${exchange}\0${pattern}\0${JSON.stringify(args ?? {})}`, { kind: 'bindQueue', queue, exchange, pattern, args });
  }

  bindExchange(destination: string, source: string, pattern: string, args: Record<string, unknown> | undefined): void {
    this.#entries.set(`x:${destination}\0${source}\0${pattern}\0${JSON.stringify(args ?? {})}`, { kind: 'bindExchange', destination, source, pattern, args });
  }

  /** True when this binding of exchange to exchange is recorded (declared on the broker). */
  hasExchangeBinding(destination: string, source: string, pattern: string, args: Record<string, unknown> | undefined): boolean {
    return this.#entries.has(`x:${destination}\0${source}\0${pattern}\0${JSON.stringify(args ?? {})}`);
  }

  has(kind: 'e' | 'q', name: string): boolean {
    return this.#entries.has(`${kind}:${name}`);
  }

  /** Forgets a deleted queue and its bindings. */
  dropQueue(name: string): void {
    this.#entries.delete(`q:${name}`);
    for (const [key, d] of this.#entries) if (d.kind === 'bindQueue' && d.queue === name) this.#entries.delete(key);
  }

  /** Declares everything again on `ch`, in the order first declared (exchanges and queues before their bindings). */
  async replay(ch: Channel): Promise<void> {
    for (const d of this.#entries.values()) {
      switch (d.kind) {
        case 'exchange':
          await ch.assertExchange(d.name, d.type, d.options);
          break;
        case 'queue':
          // A server-named queue gone with its connection cannot be declared again by name.
          if (d.name !== '') await ch.assertQueue(d.name, queueArguments(d.options));
          break;
        case 'bindQueue':
          await ch.bindQueue(d.queue, d.exchange, d.pattern, d.args);
          break;
        case 'bindExchange':
          await ch.bindExchange(d.destination, d.source, d.pattern, d.args);
          break;
      }
    }
  }
}
