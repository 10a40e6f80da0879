// The engine's view of one client connection, or of one channel of it: its consumers, its unacked
// deliveries by tag, and the exclusive queues its connection owns. Created by Engine.openConnection
// (a WebSocket connection, an AMQP connection) and Engine.openChannel (an AMQP channel).
import type { ConnectionInfo, DeliverySink, EngineConnection } from './types.js';
import type { QueuedMessage } from './message.js';
import type { Consumer, Queue } from './queue.js';

/** A delivery waiting for ack/nack/reject. consumer is null for a `get`. */
export interface Unacked {
  msg: QueuedMessage;
  queue: Queue<Conn>;
  consumer: Consumer<Conn> | null;
  /** When it was delivered (for the consumer ack timeout). */
  at: number;
}

export class Conn implements EngineConnection {
  /** Delivery tags are per Conn, from 1, increasing: per WebSocket connection, per AMQP channel. */
  nextTag = 1;
  /** In tag order (Map keeps insertion order), which `multiple` settles and the timeout scan rely on. */
  readonly unacked = new Map<number, Unacked>();
  readonly consumers = new Map<string, Consumer<Conn>>();
  /** Exclusive queues owned (only on a Conn without a parent: a channel's connection owns them). */
  readonly exclusiveQueues = new Set<Queue<Conn>>();
  /** Channels opened on this connection; they close with it. */
  readonly channels = new Set<Conn>();
  /**
   * Most unacked consumer deliveries across all of this Conn's consumers (AMQP basic.qos with
   * global set, as RabbitMQ reads it); 0 = no such limit. Each consumer's own prefetch applies too.
   */
  prefetch = 0;
  /** Consumer deliveries outstanding that need an ack: what `prefetch` bounds. */
  consumerUnacked = 0;
  /** The sink said it cannot take more; nothing is delivered until resume(). */
  paused = false;
  closed = false;
  consumerSeq = 0;
  /** Result waits of this connection, cancelled when it closes. */
  readonly waits = new Set<() => void>();

  /** @param parent the connection a channel belongs to; null for a connection. */
  constructor(readonly info: ConnectionInfo, readonly sink: DeliverySink, readonly parent: Conn | null = null) {}

  /** Who owns the exclusive queues declared here: the connection itself, or a channel's connection. */
  get owner(): Conn {
    return this.parent ?? this;
  }
}

/** The engine's own connection behind a handle it gave out (openConnection returns a Conn). */
export function asConn(c: EngineConnection): Conn {
  return c as Conn;
}
