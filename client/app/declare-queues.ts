// Declares the app's exchanges, queues and bindings on a connection, once per connection and
// queue, before the first publish or consume that needs them (Celery declares on use too).
import type { Connection } from '../connection.js';
import { queueFor, type RoutingSettings } from './routing.js';
import type { QueueSetting } from './setting-shapes.js';

/** Remembers what was declared on which connection (a reconnect re-declares by itself). */
export class QueueDeclarer {
  private readonly done = new WeakMap<Connection, Map<string, Promise<void>>>();

  constructor(private readonly settings: RoutingSettings) {}

  /** Declares queue `name` (from taskQueues, or created as taskCreateMissingQueues allows) with its exchange and binding. */
  ensure(conn: Connection, name: string): Promise<void> {
    let declared = this.done.get(conn);
    if (declared === undefined) this.done.set(conn, (declared = new Map()));
    let p = declared.get(name);
    if (p === undefined) {
      p = declareOne(conn, queueFor(this.settings, name));
      // A failed declare is tried again by the next caller instead of failing forever.
      p.catch(() => declared.delete(name));
      declared.set(name, p);
    }
    return p;
  }

  /** Declares every queue of taskQueues. */
  async ensureAll(conn: Connection): Promise<void> {
    await Promise.all(this.settings.taskQueues.map((q) => this.ensure(conn, q.name)));
  }
}

async function declareOne(conn: Connection, q: QueueSetting): Promise<void> {
  if (q.exchange !== '') await conn.assertExchange(q.exchange, q.exchangeType, { durable: true });
  const opts: Parameters<Connection['assertQueue']>[1] = { ...q.arguments, durable: q.durable, autoDelete: q.autoDelete };
  if (q.maxPriority !== undefined) opts.maxPriority = q.maxPriority;
  await conn.assertQueue(q.name, opts);
  if (q.exchange !== '') await conn.bindQueue(q.name, q.exchange, q.routingKey);
}
