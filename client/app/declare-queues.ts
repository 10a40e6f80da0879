// Declares the app's exchanges, queues and bindings on a transport, once per transport and
// queue, before the first publish or consume that needs them (Celery declares on use too).
// Task queues get a delivery limit (taskQueueDeliveryLimit) unless their arguments set one.
import { CeleriacError } from '../../shared/errors.js';
import type { QueueOptions } from '../../shared/frames.js';
import type { Transport } from '../transport/transport.js';
import { queueFor, type RoutingSettings } from './routing.js';
import { splitArguments, type QueueSetting } from './setting-shapes.js';

/** What the declarer reads: the routing settings and the default delivery limit of task queues. */
export interface DeclareSettings extends RoutingSettings {
  readonly taskQueueDeliveryLimit: number | null;
}

/**
 * The delivery limit of task queue `name`: its own `deliveryLimit` argument, else
 * taskQueueDeliveryLimit; null = none. Workers run a message at most this many times: the
 * delivery after that is refused (ERR_DELIVERY_LIMIT). The broker's deliveryLimit of the same
 * number is the backstop: it dead-letters a message returned after more deliveries than that,
 * i.e. only one the worker could not refuse.
 */
export function deliveryLimitOf(s: DeclareSettings, name: string): number | null {
  let declared: QueueSetting;
  try {
    declared = queueFor(s, name);
  } catch {
    return s.taskQueueDeliveryLimit; // a queue this app may not declare: consumed as it is
  }
  return declared.arguments.deliveryLimit ?? s.taskQueueDeliveryLimit;
}

/** Remembers what was declared on which connection (a reconnect re-declares by itself). */
export class QueueDeclarer {
  private readonly done = new WeakMap<Transport, Map<string, Promise<void>>>();
  /**
   * Queues that exist in the broker without the default delivery limit (declared before there
   * was one): only workers enforce it there. A worker warns about them.
   */
  readonly withoutDeliveryLimit = new Set<string>();
  /**
   * Queues of a type that holds no delivery limit (RabbitMQ's classic queues), declared without the
   * default one: the broker does not count their deliveries, so the limit is not enforced there.
   */
  readonly deliveryLimitUnsupported = new Set<string>();

  constructor(private readonly settings: DeclareSettings) {}

  /** Declares queue `name` (from taskQueues, or created as taskCreateMissingQueues allows) with its exchange and binding. */
  ensure(conn: Transport, name: string): Promise<void> {
    let declared = this.done.get(conn);
    if (declared === undefined) this.done.set(conn, (declared = new Map()));
    let p = declared.get(name);
    if (p === undefined) {
      p = this.declareOne(conn, queueFor(this.settings, name));
      // A failed declare is tried again by the next caller instead of failing forever.
      p.catch(() => declared.delete(name));
      declared.set(name, p);
    }
    return p;
  }

  /**
   * Declares queue `name` again on `conn` even if it was declared there before: the broker lost it
   * (deleted from outside, e.g. `rabbitmqctl delete_queue`), and the worker consuming it wants it back
   * with its exchange and binding, as kombu declares a consumer's queues again when it restarts.
   */
  redeclare(conn: Transport, name: string): Promise<void> {
    this.done.get(conn)?.delete(name);
    return this.ensure(conn, name);
  }

  /** Declares every queue of taskQueues. */
  async ensureAll(conn: Transport): Promise<void> {
    await Promise.all(this.settings.taskQueues.map((q) => this.ensure(conn, q.name)));
  }

  private async declareOne(conn: Transport, q: QueueSetting): Promise<void> {
    if (q.exchange !== '') await conn.assertExchange(q.exchange, q.exchangeType, { durable: true });
    const { named, passed } = splitArguments(q.arguments);
    const opts: QueueOptions = { ...named, durable: q.durable, autoDelete: q.autoDelete };
    if (Object.keys(passed).length > 0) opts.arguments = passed;
    if (q.maxPriority !== undefined) opts.maxPriority = q.maxPriority;
    // A queue whose type refused the limit on another connection of this app is not asked again.
    const defaultLimit = q.arguments.deliveryLimit === undefined && !this.deliveryLimitUnsupported.has(q.name) ? this.settings.taskQueueDeliveryLimit : null;
    if (defaultLimit !== null) opts.deliveryLimit = defaultLimit;
    try {
      await conn.assertQueue(q.name, opts);
    } catch (err) {
      if (defaultLimit === null || !(err instanceof CeleriacError) || err.code !== 'ERR_PRECONDITION_FAILED') throw err;
      // The broker refuses a redeclare whose arguments differ (as RabbitMQ does), and a queue
      // declared before the default delivery limit existed has none: take it as it is rather
      // than break a running deployment. A queue type that holds no limit (RabbitMQ's classic
      // queues) refuses it too: the default is the broker's to enforce, so it is left out there.
      // Any other difference still fails, with the first error.
      delete opts.deliveryLimit;
      await conn.assertQueue(q.name, opts).catch(() => { throw err; });
      if (err.details?.['unsupportedOption'] === 'deliveryLimit') this.deliveryLimitUnsupported.add(q.name);
      else this.withoutDeliveryLimit.add(q.name);
    }
    if (q.exchange !== '') await conn.bindQueue(q.name, q.exchange, q.routingKey);
  }
}
