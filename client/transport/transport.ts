// The transport contract: what the task layer (tasks, worker, canvas, control, events, beat) asks
// of a message broker. Types only; implementations live beside this file (broker-server.ts).
import type { CeleriacError } from '../../shared/errors.js';
import type {
  ConsumeOptions, DeleteQueueOptions, EventPage, ExchangeOptions, ExchangeType, MessageProperties, QueueInfo, QueueOptions,
} from '../../shared/frames.js';

/** Delivery facts, named as amqplib names them. */
export interface DeliveryFields {
  /** Tag the transport settles the message with; unique on the channel it arrived on. */
  readonly deliveryTag: number;
  /** True when the message was delivered before and not acked (requeued, or its consumer dropped). */
  readonly redelivered: boolean;
  /** How many times it was delivered, this one included (at least 2 when `redelivered`, when the broker does not count). */
  readonly deliveryCount: number;
  readonly exchange: string;
  readonly routingKey: string;
  readonly consumerTag: string;
}

/** A message handed to a consumer. Settled once: a second ack/nack/reject throws ERR_UNKNOWN_DELIVERY_TAG. */
export interface Delivery {
  readonly body: Buffer;
  readonly fields: DeliveryFields;
  readonly properties: MessageProperties;
  /** True once ack, nack or reject was called (always for a noAck consume). */
  readonly settled: boolean;
  /**
   * True while the broker still holds this delivery for us: unsettled and its channel is up. False
   * once the channel dropped: the broker requeued it, so work on this copy must not be reported done.
   */
  readonly deliveryLive: boolean;
  /**
   * Done with: removed from the queue. `multiple` also acks every earlier unsettled delivery of the
   * channel, which become settled here too (settling one of them again throws, nothing is sent).
   */
  ack(options?: { multiple?: boolean }): void;
  /** Given back: requeued (default) or, with `requeue: false`, dropped or dead-lettered. `multiple` as for ack. */
  nack(options?: { requeue?: boolean; multiple?: boolean }): void;
  /** Refused: dropped or dead-lettered (default), or requeued with `requeue: true`. */
  reject(options?: { requeue?: boolean }): void;
}

/**
 * Publish options every transport takes: the message properties (`persistent`, `priority`,
 * `expiration`, `headers`, ids, content type and encoding, and `delay`, ms, for delayed delivery)
 * plus `mandatory` (ERR_NO_ROUTE when no queue takes the message).
 */
export interface TransportPublishOptions extends MessageProperties {
  mandatory?: boolean;
}

/** Passed with 'reconnecting'. */
export interface TransportReconnecting {
  /** 1 for the first attempt after a drop. */
  attempt: number;
  /** Milliseconds until this attempt. */
  delay: number;
  /** Why the link dropped, or why the previous attempt failed. */
  error: CeleriacError;
}

/** The events of a transport and their arguments. */
export interface TransportEvents {
  /** A coded error no call waits for (emitted only when a listener is registered). */
  error: [err: CeleriacError];
  /** Closed for good: by close() (no error), or a drop it will not recover from (the error). */
  close: [err: CeleriacError | undefined];
  /** The link dropped (or an attempt failed); another attempt follows after `delay`. */
  reconnecting: [info: TransportReconnecting];
  /** Up again, with every exchange, queue, binding and consumer declared again. */
  reconnected: [];
  /** The broker asked publishers to stop (flow control); publishes are held until 'unblocked'. */
  blocked: [reason: string];
  unblocked: [];
  /**
   * The broker ended a consumer (queue deleted, ack timeout), or re-subscribing it failed: the
   * consumer is gone (cancel() no longer knows it) and its unsettled deliveries are not live.
   */
  cancel: [consumerTag: string, reason: string];
  /** A consumer handler threw or rejected; the delivery is left as the handler left it. */
  handlerError: [err: unknown, msg: Delivery];
}

/** A read of the stored events (see EventLog). */
export interface EventReadQuery {
  /** Events after this event id (default 0: from the oldest the broker keeps). */
  since?: number;
  /** Or from the first event the broker stored at or after this time (epoch ms or a Date), when that is later. */
  from?: number | Date;
  /** At most this many (default 1,000, at most 10,000; 0 = none, only the cursor). */
  limit?: number;
  /** Only these event types ('task-failed', ...); default all. */
  types?: readonly string[];
}

/** A broker that keeps the events exchange's messages, readable from a cursor (optional capability). */
export interface EventLog {
  readEvents(query: EventReadQuery): Promise<EventPage>;
}

/**
 * A link to a message broker, recovering by itself: after a drop it reconnects and declares again
 * what was declared through it (exchanges, queues, bindings, consumers), and re-sends publishes
 * not confirmed yet. Every method rejects with a CeleriacError carrying a code from shared/errors.
 */
export interface Transport {
  /** True while the link is up and usable (false while reconnecting and after close). */
  readonly connected: boolean;
  /** True while the broker holds back this link's publishes (flow control). */
  readonly blocked: boolean;
  /** Heartbeat interval in force, ms (0 = none): the peer takes a link silent for two of them for dead. */
  readonly heartbeat: number;

  /** Declares an exchange (idempotent when the options agree; ERR_PRECONDITION_FAILED when not). */
  assertExchange(name: string, type: ExchangeType, options?: ExchangeOptions): Promise<{ exchange: string }>;
  /**
   * Declares a queue with its arguments (TTL, expiry, max length and overflow, dead-lettering,
   * max priority, delivery limit); '' asks for a server-named queue. ERR_PRECONDITION_FAILED when it
   * exists with other arguments, or when its type cannot hold an option (RabbitMQ: a delivery limit
   * on a classic queue), then with `details.unsupportedOption` naming the option.
   */
  assertQueue(name: string, options?: QueueOptions): Promise<QueueInfo>;
  /** Binds a queue to an exchange with a routing pattern (topic: `*` one word, `#` zero or more). */
  bindQueue(queue: string, exchange: string, pattern: string, args?: Record<string, unknown>): Promise<void>;
  /** Deletes a queue; its consumers are cancelled. */
  deleteQueue(name: string, options?: DeleteQueueOptions): Promise<{ messageCount: number }>;
  /**
   * Publishes with a confirm: resolves once the broker took the message (for a persistent message
   * to a durable queue: stored durably). `delay` (ms) holds it in the broker, not in any client,
   * until due. A publish cut off by a drop is sent again after the reconnect.
   */
  publish(exchange: string, routingKey: string, body: Uint8Array | string, options?: TransportPublishOptions): Promise<void>;
  /**
   * Subscribes `handler`; the broker keeps at most `prefetch` deliveries unacked to it. The
   * handler settles each delivery unless `noAck`; one left unsettled when the link drops is
   * requeued by the broker. The consumer is subscribed again after a reconnect, same tag.
   */
  consume(queue: string, handler: (msg: Delivery) => unknown, options?: ConsumeOptions): Promise<{ consumerTag: string }>;
  /** Stops a consumer. Deliveries already on their way still reach its handler. */
  cancel(consumerTag: string): Promise<void>;
  /** The broker's stored event history, when it keeps one; else undefined. */
  eventLog(): EventLog | undefined;
  /** Waits (bounded) for pending publishes, then closes. Idempotent. */
  close(): Promise<void>;

  on<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): unknown;
  once<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): unknown;
  off<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): unknown;
}
