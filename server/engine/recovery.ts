// Start-up: rebuild exchanges, queues and bindings from the store, then load the head of each
// durable queue. Every recovered message is flagged redelivered: after a crash the broker cannot
// know whether a consumer saw it (AMQP's redelivered is exactly that hint).
import type { ExchangeType, QueueOptions } from '../../shared/frames.js';
import type { BrokerStore } from '../store/store.js';
import type { Engine } from './engine.js';
import { Exchange } from './exchange.js';
import { Queue } from './queue.js';
import type { Conn } from './connection.js';
import { VHost } from './vhost.js';

export function recoverTopology(engine: Engine, store: BrokerStore): void {
  const topo = store.loadTopology();
  const vhostOf = (name: string): VHost => {
    let v = engine.vhosts.get(name);
    if (v === undefined) {
      v = new VHost(name);
      engine.vhosts.set(name, v);
    }
    return v;
  };
  for (const e of topo.exchanges) {
    vhostOf(e.vhost).exchanges.set(e.name, new Exchange<Queue<Conn>>(e.name, e.type as ExchangeType, true, e.autoDelete, e.internal, e.arguments));
  }
  const maxId = store.maxMessageId();
  const now = engine.now();
  for (const r of topo.queues) {
    const q = new Queue<Conn>(r.id, r.vhost, r.name, r.options as QueueOptions, null, now, engine.flow.gauge);
    q.recoveredMaxId = maxId;
    vhostOf(r.vhost).queues.set(r.name, q);
    // Loads the first page of each lane and of the delayed ones (the rest stays on disk until its turn).
    engine.flow.recoverQueue(q);
  }
  for (const b of topo.bindings) {
    const vhost = vhostOf(b.vhost);
    const q = vhost.queues.get(b.queue);
    const ex = vhost.exchanges.get(b.exchange);
    if (q !== undefined && ex !== undefined) ex.bind(q, b.pattern, b.arguments);
  }
  for (const b of topo.exchangeBindings) {
    const vhost = vhostOf(b.vhost);
    const source = vhost.exchanges.get(b.source);
    const destination = vhost.exchanges.get(b.destination);
    if (source !== undefined && destination !== undefined) source.bindExchange(destination, b.pattern, b.arguments);
  }
  const total = topo.queues.reduce((n, r) => n + (vhostOf(r.vhost).queues.get(r.name)?.messageCount ?? 0), 0);
  if (topo.queues.length > 0) engine.log('info', `recovered ${topo.exchanges.length} exchanges, ${topo.queues.length} queues, ${topo.bindings.length + topo.exchangeBindings.length} bindings, ${total} messages`);
}
