// The engine's periodic chores: expire messages at queue heads, delete unused queues (expires),
// cancel consumers past their ack timeout, check the memory and store limits (flow-control.ts) and
// prune the event log to its retention.
import { fail } from '../../shared/errors.js';
import type { Engine } from './engine.js';

/** How often TTL heads are checked; message TTL is honoured to within this. */
const TTL_TICK = 100;
/** How often queue expiry, ack timeouts and resource limits are checked. */
const SLOW_TICK = 1_000;

export class Sweeper {
  private readonly fast: NodeJS.Timeout;
  private readonly slow: NodeJS.Timeout;

  constructor(private readonly engine: Engine) {
    this.fast = setInterval(() => this.guard(() => engine.flow.sweepExpired()), TTL_TICK);
    this.slow = setInterval(() => this.guard(() => this.slowTick()), SLOW_TICK);
    // Timers never keep a process alive on their own: closing the broker is what ends it.
    this.fast.unref();
    this.slow.unref();
  }

  /** A chore that fails (a store error) is logged and retried next tick; it never kills the broker. */
  private guard(chore: () => void): void {
    try {
      chore();
    } catch (err) {
      this.engine.log('error', `periodic chore failed: ${(err as Error).message}`);
    }
  }

  private slowTick(): void {
    const e = this.engine;
    const now = e.now();
    this.expireQueues(now);
    e.results.sweep();
    e.revocations.sweep(now);
    e.groups.sweep(now);
    e.rates.sweep(now);
    e.eventLog.prune();
    this.checkAckTimeouts(now);
    this.checkLimits();
  }

  /** Queue `expires`: a queue unused (no consumers, no get, no redeclare) that long is deleted. */
  private expireQueues(now: number): void {
    for (const vhost of this.engine.vhosts.values()) {
      for (const q of [...vhost.queues.values()]) {
        const ttl = q.options.expires;
        if (ttl !== undefined && q.consumers.length === 0 && now - q.lastUsed >= ttl) this.engine.removeQueue(q, 'expired');
      }
    }
  }

  /**
   * A delivery unacked past its queue's consumerTimeout cancels its consumer and requeues that
   * consumer's deliveries (RabbitMQ closes the channel; a consumer is our closest unit).
   */
  private checkAckTimeouts(now: number): void {
    const e = this.engine;
    let shortest = e.defaultConsumerTimeout;
    for (const vhost of e.vhosts.values()) {
      for (const q of vhost.queues.values()) {
        const t = q.options.consumerTimeout;
        if (t !== undefined && t < shortest) shortest = t;
      }
    }
    for (const conn of e.conns) {
      for (const [tag, u] of conn.unacked) {
        // Entries are in delivery order: once one is younger than the shortest timeout, all are.
        if (now - u.at < shortest) break;
        const limit = u.queue.options.consumerTimeout ?? e.defaultConsumerTimeout;
        if (now - u.at < limit) continue;
        const consumer = u.consumer;
        if (consumer === null) {
          conn.unacked.delete(tag);
          e.flow.settleNegative(u, true);
          e.flow.drain(u.queue);
          continue;
        }
        e.log('warn', `consumer '${consumer.tag}' on queue '${u.queue.name}' held delivery ${tag} past ${limit} ms; cancelled and requeued`);
        e.detachConsumer(consumer);
        e.requeueAll(conn, (x) => x.consumer === consumer);
        const err = fail('ERR_ACK_TIMEOUT', `delivery ${tag} was not acknowledged within ${limit} ms`);
        conn.sink.consumerCancelled(consumer.tag, `${err.code}: ${err.message}`);
        break; // the map changed under the loop; the rest waits for the next tick
      }
    }
  }

  private checkLimits(): void {
    this.engine.flowControl.check();
  }

  stop(): void {
    clearInterval(this.fast);
    clearInterval(this.slow);
  }
}
