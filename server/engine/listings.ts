// The management views of bindings and consumers: read from the vhosts' maps on demand (rare calls),
// so the routing and delivery structures carry nothing extra for them.
import type { BindingOverview, ConsumerOverview } from './types.js';
import type { VHost } from './vhost.js';

/** Every binding, in vhost order; each queue's implicit binding to the default exchange first, as RabbitMQ lists it. */
export function listBindings(vhosts: Iterable<VHost>): BindingOverview[] {
  const out: BindingOverview[] = [];
  for (const vhost of vhosts) {
    for (const q of vhost.queues.values()) {
      out.push({ vhost: vhost.name, source: '', destination: q.name, destinationType: 'queue', routingKey: q.name, arguments: {} });
    }
    for (const ex of vhost.exchanges.values()) {
      for (const b of ex.bindings) {
        out.push({ vhost: vhost.name, source: ex.name, destination: b.destination.name, destinationType: 'queue', routingKey: b.pattern, arguments: b.args });
      }
      for (const b of ex.exchangeBindings) {
        out.push({ vhost: vhost.name, source: ex.name, destination: b.destination.name, destinationType: 'exchange', routingKey: b.pattern, arguments: b.args });
      }
    }
  }
  return out;
}

/** Every consumer, queue by queue in round-robin order. */
export function listConsumers(vhosts: Iterable<VHost>): ConsumerOverview[] {
  const out: ConsumerOverview[] = [];
  for (const vhost of vhosts) {
    for (const q of vhost.queues.values()) {
      for (const c of q.consumers) {
        out.push({
          vhost: vhost.name, queue: q.name, consumerTag: c.tag, connection: c.conn.info.id, user: c.conn.info.user,
          prefetch: c.prefetch, ackRequired: !c.noAck, exclusive: c.exclusive, unacked: c.unacked,
        });
      }
    }
  }
  return out;
}
