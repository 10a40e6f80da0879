// The engine's view of one client connection: its consumers, its unacked deliveries by tag,
// and the exclusive queues it owns. Created by Engine.openConnection, handed back by sessions.
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
  /** Delivery tags are per connection, from 1, increasing (AMQP: per channel). */
  nextTag = 1;
  /** In tag order (Map keeps insertion order), which `multiple` settles and the timeout scan rely on. */
  readonly unacked = new Map<number, Unacked>();
  readonly consumers = new Map<string, Consumer<Conn>>();
  readonly exclusiveQueues = new Set<Queue<Conn>>();
  /** The sink said it cannot take more; nothing is delivered until resume(). */
  paused = false;
  closed = false;
  consumerSeq = 0;
  /** Result waits of this connection, cancelled when it closes. */
  readonly waits = new Set<() => void>();

  constructor(readonly info: ConnectionInfo, readonly sink: DeliverySink) {}
}

/** The engine's own connection behind a handle it gave out (openConnection returns a Conn). */
export function asConn(c: EngineConnection): Conn {
  return c as Conn;
}
