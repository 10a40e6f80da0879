// A message handed to a consumer or returned by get(): body, fields, properties and the
// settle methods. Settling twice throws here, so a double ack never reaches the broker.
import { fail } from '../shared/errors.js';
import type { MessageProperties } from '../shared/frames.js';
import type { Settler } from './outbox.js';

/** Delivery facts, named as amqplib names them. */
export interface MessageFields {
  /** Tag to settle the message with; unique on the socket it arrived on. */
  deliveryTag: number;
  /** True when the message was delivered before and not acked (requeued, or its consumer dropped). */
  redelivered: boolean;
  /** How many times the broker has delivered it, this delivery included. */
  deliveryCount: number;
  exchange: string;
  routingKey: string;
  /** The consumer it was delivered to; '' for a message fetched with get(). */
  consumerTag: string;
  /** get() only: messages left in the queue after this one. */
  messageCount?: number;
}

/** What a Message is built from (a deliver frame or a get reply). */
export interface MessageSource {
  deliveryTag: number;
  redelivered: boolean;
  deliveryCount: number;
  exchange: string;
  routingKey: string;
  props?: MessageProperties | undefined;
  body: Uint8Array;
}

const NO_PROPERTIES: MessageProperties = Object.freeze({});

/** Options of ack(). */
export interface AckOptions {
  /**
   * Also ack every earlier delivery still unsettled on the same socket: amqplib's
   * `channel.ack(msg, true)` ("all up to") [AMQP 0-9-1 §1.8.3.13 basic.ack, `multiple`].
   *
   * Earlier means a lower delivery tag. Tags count per connection (AMQP: per channel), not per
   * consumer, so this also settles unsettled messages of *other consumers* on this connection
   * and messages fetched with get() whose tags are lower. Those Message objects become settled
   * here too: settling one of them again throws, as a double ack does. Messages that arrived on
   * an earlier socket (before a reconnect) are not touched: their tags died with that socket and
   * the broker has requeued them. Default false.
   */
  multiple?: boolean;
}

/** Options of nack(). */
export interface NackOptions {
  /**
   * True (the default, as in amqplib): the message goes back to its queue, to be delivered again
   * flagged `redelivered`. False: it is dropped, or dead-lettered when its queue has a
   * dead-letter exchange.
   */
  requeue?: boolean;
  /**
   * Also nack every earlier delivery still unsettled on the same socket, with the same
   * `requeue`: amqplib's `channel.nack(msg, true, requeue)`. Same reach as
   * {@link AckOptions.multiple}: per connection, across consumers and get(), and those Message
   * objects become settled. Requeued ones come back in their queue order. Default false.
   */
  multiple?: boolean;
}

/**
 * Options of reject(): `requeue` defaults to false (the message is dropped or dead-lettered).
 * There is no `multiple` here, as in AMQP's basic.reject; use nack({ multiple: true }).
 */
export interface RejectOptions { requeue?: boolean }

/** Marks a Message settled without telling the broker; set by the class below. */
let settleLocally: (m: Message) => void;

/**
 * A delivered message. Settle it exactly once with ack(), nack() or reject() unless it was
 * consumed with `noAck`.
 *
 * If the socket it arrived on has dropped since, settling is a silent no-op: its delivery tag
 * died with that socket and the broker has already requeued the message (it will arrive again,
 * flagged `redelivered`). Sending the dead tag on the new socket would be a protocol error.
 */
export class Message {
  /** The body, as a Buffer over the received bytes (no copy). */
  readonly body: Buffer;
  readonly fields: MessageFields;
  /** Properties the publisher set; an empty frozen object when it set none. */
  readonly properties: MessageProperties;
  #settler: Settler;
  #noAck: boolean;
  #settled: boolean;

  /** @internal Built by the client; user code receives messages, it does not construct them. */
  constructor(src: MessageSource, consumerTag: string, settler: Settler, noAck: boolean, messageCount?: number) {
    const b = src.body;
    this.body = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    this.fields = {
      deliveryTag: src.deliveryTag,
      redelivered: src.redelivered,
      deliveryCount: src.deliveryCount,
      exchange: src.exchange,
      routingKey: src.routingKey,
      consumerTag,
    };
    if (messageCount !== undefined) this.fields.messageCount = messageCount;
    this.properties = src.props ?? NO_PROPERTIES;
    this.#settler = settler;
    this.#noAck = noAck;
    this.#settled = noAck;
    if (!noAck) settler.unsettled.add(src.deliveryTag, this);
  }

  static {
    settleLocally = (m) => { m.#settled = true; };
  }

  /** True once ack, nack or reject was called (always true for a noAck message). */
  get settled(): boolean {
    return this.#settled;
  }

  /**
   * True while the broker still holds this delivery for us: not settled yet (noAck messages never
   * are live) and the socket it arrived on is still up. False once the socket dropped — the broker
   * has requeued the message and will deliver it again, here or elsewhere, so whoever holds this
   * copy should neither start work on it nor report work on it as done. A consumer cancelled by
   * the broker ('cancel' on the connection) also loses its deliveries; that this does not see.
   */
  get deliveryLive(): boolean {
    return !this.#settled && this.#settler.open;
  }

  /**
   * Tells the broker the message is done with; it is removed from the queue. With
   * `{ multiple: true }`, every earlier unsettled delivery on this connection is acked as well
   * (see {@link AckOptions.multiple}).
   */
  ack(options?: AckOptions): void {
    this.#take('ack');
    const multiple = options?.multiple === true;
    if (multiple) this.#settleEarlier();
    if (this.#settler.open) this.#settler.ack(this.fields.deliveryTag, multiple);
  }

  /**
   * Gives the message back: requeued (default) or, with `requeue: false`, dropped or
   * dead-lettered. With `multiple: true`, every earlier unsettled delivery on this connection
   * goes the same way (see {@link NackOptions.multiple}).
   */
  nack(options: NackOptions = {}): void {
    this.#take('nack');
    const multiple = options.multiple === true;
    if (multiple) this.#settleEarlier();
    if (this.#settler.open) this.#settler.nack(this.fields.deliveryTag, options.requeue ?? true, multiple);
  }

  /** Refuses the message: dropped or dead-lettered (default), or requeued with `requeue: true`. */
  reject(options: RejectOptions = {}): void {
    this.#take('reject');
    if (this.#settler.open) this.#settler.nack(this.fields.deliveryTag, options.requeue ?? false);
  }

  #take(what: string): void {
    if (this.#settled) {
      throw this.#noAck
        ? fail('ERR_UNKNOWN_DELIVERY_TAG', `cannot ${what} delivery ${this.fields.deliveryTag}: it was delivered with noAck`, { deliveryTag: this.fields.deliveryTag })
        : fail('ERR_UNKNOWN_DELIVERY_TAG', `cannot ${what} delivery ${this.fields.deliveryTag}: it is already settled`, { deliveryTag: this.fields.deliveryTag });
    }
    this.#settled = true;
    this.#settler.unsettled.delete(this.fields.deliveryTag);
  }

  /**
   * @internal For Connection.finish: settles the message locally (throws if it already was) and
   * returns its tag, or 0 when its socket has dropped (the tag died with it; the broker requeued it).
   */
  claimForFinish(): number {
    this.#take('finish');
    return this.#settler.open ? this.fields.deliveryTag : 0;
  }

  /**
   * @internal For Connection.finish: the broker refused the finish that claimed this message, and a
   * refused finish changes nothing, so the delivery is still held for us on this socket: it may be
   * settled again (by a replacement finish, an ack or a nack). Not for a finish cut off or timed
   * out, which may have committed.
   */
  unclaimAfterRefusal(): void {
    if (this.#noAck || !this.#settled || !this.#settler.open) return;
    this.#settled = false;
    this.#settler.unsettled.add(this.fields.deliveryTag, this);
  }

  /** `multiple`: the earlier deliveries of this socket are settled by the same frame. */
  #settleEarlier(): void {
    const earlier = this.#settler.unsettled.takeBefore(this.fields.deliveryTag);
    for (let i = 0; i < earlier.length; i++) settleLocally(earlier[i]!);
  }
}
