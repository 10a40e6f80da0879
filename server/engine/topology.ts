// Topology operations: declare and delete exchanges and queues, bind and unbind, purge. They
// change the engine's maps and write durable entities straight to the store (rare, so unbatched).
import { randomBytes } from 'node:crypto';
import { fail } from '../../shared/errors.js';
import type { DeleteExchangeOptions, DeleteQueueOptions, ExchangeOptions, ExchangeType, QueueInfo, QueueOptions } from '../../shared/frames.js';
import { asConn, type Conn } from './connection.js';
import type { Engine } from './engine.js';
import { Exchange } from './exchange.js';
import { Queue } from './queue.js';
import { assertExchangeEquivalent, assertQueueEquivalent, lockedQueue } from './equivalence.js';
import { validateExchangeType, validateName, validateQueueOptions } from './queue-options.js';
import type { EngineConnection } from './types.js';
import type { VHost } from './vhost.js';

/** The topology half of the engine; the engine delegates its topology methods here. */
export class TopologyOps {
  constructor(private readonly e: Engine) {}

  declareExchange(c: EngineConnection, name: string, type: ExchangeType, options: ExchangeOptions): void {
    const conn = asConn(c);
    const vhost = this.e.vhostOf(conn);
    validateName('exchange', name);
    const t = validateExchangeType(type);
    const existing = vhost.exchanges.get(name);
    if (name === '') throw fail('ERR_ACCESS_DENIED', 'the default exchange cannot be declared');
    const durable = options.durable === true;
    if (existing !== undefined) {
      assertExchangeEquivalent(existing, t, options, name, vhost.name);
      return;
    }
    if (name.startsWith('amq.')) throw fail('ERR_ACCESS_DENIED', `exchange names starting with 'amq.' are reserved`, { exchange: name });
    const ex = new Exchange<Queue<Conn>>(name, t, durable, options.autoDelete === true, options.internal === true, options.arguments ?? {});
    if (durable) {
      this.e.options.writer.flush();
      this.e.options.store.saveExchange({ vhost: vhost.name, name, type: t, autoDelete: ex.autoDelete, internal: ex.internal, arguments: ex.args });
    }
    vhost.exchanges.set(name, ex);
  }

  deleteExchange(c: EngineConnection, name: string, options: DeleteExchangeOptions): void {
    const conn = asConn(c);
    const vhost = this.e.vhostOf(conn);
    if (name === '' || name.startsWith('amq.')) throw fail('ERR_ACCESS_DENIED', `exchange '${name}' cannot be deleted`, { exchange: name });
    const ex = vhost.exchanges.get(name);
    if (ex === undefined) return; // deleting what is not there succeeds, as in RabbitMQ 3.x
    if (options.ifUnused === true && ex.bindingCount > 0) throw fail('ERR_PRECONDITION_FAILED', `exchange '${name}' has bindings`, { exchange: name });
    this.removeExchange(vhost, ex);
  }

  removeExchange(vhost: VHost, ex: Exchange<Queue<Conn>>): void {
    vhost.exchanges.delete(ex.name);
    // Bindings to it from other exchanges go with it; a source left without bindings may auto-delete.
    const emptied: Exchange<Queue<Conn>>[] = [];
    for (const source of vhost.exchanges.values()) {
      if (source.unbindDestination(ex) > 0 && source.autoDelete && source.bindingCount === 0) emptied.push(source);
    }
    if (ex.durable) {
      this.e.options.writer.flush();
      // The store drops the exchange's bindings (and those to it) with it, in one transaction (one fsync).
      this.e.options.store.deleteExchange(vhost.name, ex.name);
    }
    for (const source of emptied) if (vhost.exchanges.get(source.name) === source) this.removeExchange(vhost, source);
  }

  declareQueue(c: EngineConnection, rawName: string, raw: QueueOptions): QueueInfo {
    const conn = asConn(c);
    const vhost = this.e.vhostOf(conn);
    validateName('queue', rawName);
    const passive = raw.passive === true;
    const options = validateQueueOptions(raw as Record<string, unknown>);
    const name = rawName === '' && !passive ? `amq.gen-${randomBytes(16).toString('base64url')}` : rawName;
    const existing = vhost.queues.get(name);
    if (existing !== undefined) {
      assertQueueEquivalent({ options: existing.options, exclusive: existing.owner !== null, ownedByCaller: existing.owner === conn.owner }, options, passive, name, vhost.name);
      existing.lastUsed = this.e.now();
      return { queue: name, messageCount: existing.readyCount + existing.diskBacklog, consumerCount: existing.consumers.length };
    }
    if (passive) throw fail('ERR_NOT_FOUND', `no queue '${name}' in vhost '${vhost.name}'`, { queue: name });
    if (name.startsWith('amq.') && rawName !== '') throw fail('ERR_ACCESS_DENIED', `queue names starting with 'amq.' are reserved`, { queue: name });
    const exclusive = options.exclusive === true;
    const q = new Queue<Conn>(0, vhost.name, name, options, exclusive ? conn.owner : null, this.e.now(), this.e.flow.gauge);
    // Exclusive queues die with their connection, so they are never written to disk.
    if (q.durable && !exclusive) {
      this.e.options.writer.flush();
      q.id = this.e.options.store.saveQueue({ id: 0, vhost: vhost.name, name, autoDelete: options.autoDelete === true, options: options as Record<string, unknown> });
    }
    vhost.queues.set(name, q);
    if (exclusive) conn.owner.exclusiveQueues.add(q);
    return { queue: name, messageCount: 0, consumerCount: 0 };
  }

  deleteQueue(c: EngineConnection, name: string, options: DeleteQueueOptions): { messageCount: number } {
    const conn = asConn(c);
    const q = this.e.vhostOf(conn).queues.get(name);
    if (q === undefined) return { messageCount: 0 };
    if (q.owner !== null && q.owner !== conn.owner) throw lockedQueue(name, q.vhost);
    if (options.ifUnused === true && q.consumers.length > 0) throw fail('ERR_PRECONDITION_FAILED', `queue '${name}' has consumers`, { queue: name });
    if (options.ifEmpty === true && q.messageCount > 0) throw fail('ERR_PRECONDITION_FAILED', `queue '${name}' is not empty`, { queue: name });
    const messageCount = q.readyCount + q.diskBacklog;
    this.removeQueue(q, 'queue-deleted');
    return { messageCount };
  }

  /** Deletes a queue: consumers get a cancel notice, bindings go, its messages go. */
  removeQueue(q: Queue<Conn>, reason: string): void {
    const vhost = this.e.vhosts.get(q.vhost)!;
    q.deleted = true;
    vhost.queues.delete(q.name);
    for (const consumer of [...q.consumers]) {
      this.e.detachConsumer(consumer, false);
      consumer.conn.sink.consumerCancelled(consumer.tag, reason);
    }
    for (const ex of [...vhost.exchanges.values()]) {
      if (ex.unbindQueue(q) > 0 && ex.autoDelete && ex.bindingCount === 0) this.removeExchange(vhost, ex);
    }
    this.e.flow.dropDelayed(q);
    this.e.flow.ttlQueues.delete(q);
    q.clearReady();
    for (const lane of q.lanes) lane.onDisk = 0; // the store drops the rows with the queue
    q.diskBacklog = 0;
    if (q.owner !== null) q.owner.exclusiveQueues.delete(q);
    if (q.id !== 0) {
      this.e.options.writer.flush();
      this.e.options.store.deleteQueue(q.id);
    }
  }

  purgeQueue(c: EngineConnection, name: string): { messageCount: number } {
    const q = this.e.queueFor(asConn(c), name);
    this.e.options.writer.flush(); // rows bound for the disk tail land first, so purge reads them
    let count = 0;
    for (const msg of q.clearReady()) {
      if (msg.persisted) this.e.options.writer.delete(msg.id);
      count++;
    }
    // Each lane's on-disk tail in one statement (delayed messages are not ready: they stay).
    q.lanes.forEach((lane, p) => {
      if (lane.onDisk > 0) count += this.e.options.store.deleteLaneAfter(q.id, p, lane.cursor);
      lane.onDisk = 0;
    });
    q.diskBacklog = 0;
    this.e.flow.ttlQueues.delete(q);
    this.e.flow.releaseWaiting(q); // due delayed messages that waited for room have it now
    return { messageCount: count };
  }

  bindQueue(c: EngineConnection, queue: string, exchange: string, pattern: string, args: Record<string, unknown>): void {
    const conn = asConn(c);
    if (exchange === '') throw fail('ERR_ACCESS_DENIED', 'queues cannot be bound to the default exchange');
    validateName('binding pattern', pattern);
    const q = this.e.queueFor(conn, queue);
    const ex = this.e.exchangeFor(conn, exchange);
    if (ex.bind(q, pattern, args) && ex.durable && q.durable && q.id !== 0) {
      this.e.options.writer.flush();
      this.e.options.store.saveBinding({ vhost: q.vhost, exchange, queue, pattern, arguments: args });
    }
  }

  unbindQueue(c: EngineConnection, queue: string, exchange: string, pattern: string, args: Record<string, unknown>): void {
    const conn = asConn(c);
    if (exchange === '') throw fail('ERR_ACCESS_DENIED', 'queues cannot be unbound from the default exchange');
    const q = this.e.queueFor(conn, queue);
    const vhost = this.e.vhostOf(conn);
    const ex = this.e.exchangeFor(conn, exchange);
    if (!ex.unbind(q, pattern, args)) return;
    if (ex.durable && q.durable && q.id !== 0) {
      this.e.options.writer.flush();
      this.e.options.store.deleteBinding({ vhost: q.vhost, exchange, queue, pattern, arguments: args });
    }
    if (ex.autoDelete && ex.bindingCount === 0) this.removeExchange(vhost, ex);
  }

  /**
   * Binds exchange `destination` to `source` (exchange.bind): what `source` matches by `pattern`
   * (and `args`) is routed on by `destination` as well. Both must exist; the default exchange can
   * be neither (ERR_ACCESS_DENIED, as RabbitMQ refuses it). Stored when both are durable.
   */
  bindExchange(c: EngineConnection, destination: string, source: string, pattern: string, args: Record<string, unknown>): void {
    const conn = asConn(c);
    if (source === '' || destination === '') throw fail('ERR_ACCESS_DENIED', 'the default exchange cannot be bound to or from');
    validateName('binding pattern', pattern);
    const dest = this.e.exchangeFor(conn, destination);
    const src = this.e.exchangeFor(conn, source);
    if (src.bindExchange(dest, pattern, args) && src.durable && dest.durable) {
      this.e.options.writer.flush();
      this.e.options.store.saveExchangeBinding({ vhost: conn.info.vhost, source, destination, pattern, arguments: args });
    }
  }

  unbindExchange(c: EngineConnection, destination: string, source: string, pattern: string, args: Record<string, unknown>): void {
    const conn = asConn(c);
    if (source === '' || destination === '') throw fail('ERR_ACCESS_DENIED', 'the default exchange cannot be bound to or from');
    const dest = this.e.exchangeFor(conn, destination);
    const src = this.e.exchangeFor(conn, source);
    if (!src.unbindExchange(dest, pattern, args)) return;
    if (src.durable && dest.durable) {
      this.e.options.writer.flush();
      this.e.options.store.deleteExchangeBinding({ vhost: conn.info.vhost, source, destination, pattern, arguments: args });
    }
    if (src.autoDelete && src.bindingCount === 0) this.removeExchange(this.e.vhostOf(conn), src);
  }

}
