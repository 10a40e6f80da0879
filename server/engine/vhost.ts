// A virtual host: its own namespace of exchanges and queues, with the predeclared exchanges
// every AMQP broker has (the nameless default exchange is implicit: it routes by queue name).
import { Exchange } from './exchange.js';
import type { Conn } from './connection.js';
import type { Queue } from './queue.js';

/** Predeclared in every vhost [AMQP 0-9-1 §3.1.3]; names starting `amq.` are reserved. */
export const PREDECLARED_EXCHANGES = [
  ['amq.direct', 'direct'],
  ['amq.topic', 'topic'],
  ['amq.fanout', 'fanout'],
  ['amq.headers', 'headers'],
] as const;

export class VHost {
  readonly exchanges = new Map<string, Exchange<Queue<Conn>>>();
  readonly queues = new Map<string, Queue<Conn>>();

  constructor(readonly name: string) {
    for (const [n, type] of PREDECLARED_EXCHANGES) this.exchanges.set(n, new Exchange(n, type, true, false, false, {}));
  }
}
