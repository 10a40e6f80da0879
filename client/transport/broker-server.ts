// The transport contract over broker-server's Connection (WebSocket + msgpack). The Connection
// already recovers by itself (reconnect, re-declare, re-publish); this maps the contract onto it.
import type {
  ConsumeOptions, DeleteQueueOptions, ExchangeOptions, ExchangeType, QueueInfo, QueueOptions,
} from '../../shared/frames.js';
import type { Connection } from '../connection.js';
import type { Delivery, EventLog, Transport, TransportEvents, TransportPublishOptions } from './transport.js';

/** A broker-server Connection seen as a Transport. The Connection stays usable on its own. */
export class BrokerServerTransport implements Transport {
  constructor(
    /** The connection underneath: for the app's broker-level API and the result backend sharing it. */
    readonly connection: Connection,
  ) {}

  get connected(): boolean {
    return this.connection.connected;
  }

  get blocked(): boolean {
    return this.connection.blocked;
  }

  get heartbeat(): number {
    return this.connection.heartbeat;
  }

  assertExchange(name: string, type: ExchangeType, options?: ExchangeOptions): Promise<{ exchange: string }> {
    return this.connection.assertExchange(name, type, options);
  }

  assertQueue(name: string, options?: QueueOptions): Promise<QueueInfo> {
    return this.connection.assertQueue(name, options);
  }

  bindQueue(queue: string, exchange: string, pattern: string, args?: Record<string, unknown>): Promise<void> {
    return this.connection.bindQueue(queue, exchange, pattern, args);
  }

  deleteQueue(name: string, options?: DeleteQueueOptions): Promise<{ messageCount: number }> {
    return this.connection.deleteQueue(name, options);
  }

  publish(exchange: string, routingKey: string, body: Uint8Array | string, options?: TransportPublishOptions): Promise<void> {
    return this.connection.publish(exchange, routingKey, body, options);
  }

  consume(queue: string, handler: (msg: Delivery) => unknown, options?: ConsumeOptions): Promise<{ consumerTag: string }> {
    return this.connection.consume(queue, handler, options);
  }

  cancel(consumerTag: string): Promise<void> {
    return this.connection.cancel(consumerTag);
  }

  /** broker-server keeps the events exchange's messages when it announces the 'events' capability. */
  eventLog(): EventLog | undefined {
    return this.connection.capabilities.includes('events') ? this.connection : undefined;
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  // The Connection's events are a superset of the contract's, with a Message (a Delivery) where it says Delivery.
  on<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this {
    this.connection.on(event, listener as never);
    return this;
  }

  once<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this {
    this.connection.once(event, listener as never);
    return this;
  }

  off<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this {
    this.connection.off(event, listener as never);
    return this;
  }
}
