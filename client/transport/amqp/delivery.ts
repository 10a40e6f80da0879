// A message delivered on an AMQP channel, settled on that channel only. Delivery tags are per
// channel: once the channel is gone (a drop, a reconnect) the broker has requeued the message, and
// the same tag on a new channel would name another delivery, so settling it sends nothing.
import type { Channel, ConsumeMessage } from 'amqplib';
import { fail } from '../../../shared/errors.js';
import type { MessageProperties } from '../../../shared/frames.js';
import type { Delivery, DeliveryFields } from '../transport.js';
import { deliveredProperties } from './arguments.js';

/** The channel a consumer reads on, and whether it is still up (set false when it closes). */
export interface ConsumerChannel {
  readonly channel: Channel;
  open: boolean;
  /** Deliveries handed out and not settled yet. */
  unsettled: number;
  /** Called once `unsettled` drops to 0 (a cancelled consumer's channel closes then). */
  onDrained?: (() => void) | undefined;
}

/** A Delivery over amqplib's ConsumeMessage. */
export class AmqpDelivery implements Delivery {
  readonly body: Buffer;
  readonly fields: DeliveryFields;
  readonly properties: MessageProperties;
  #settled: boolean;

  constructor(private readonly raw: ConsumeMessage, private readonly on: ConsumerChannel, noAck: boolean) {
    this.body = raw.content;
    const headers = (raw.properties.headers ?? {}) as Record<string, unknown>;
    // Quorum queues count earlier deliveries in x-delivery-count; classic queues only flag a redelivery.
    const previous = typeof headers['x-delivery-count'] === 'number' ? headers['x-delivery-count'] : undefined;
    const deliveryCount = previous !== undefined ? previous + 1 : raw.fields.redelivered ? 2 : 1;
    this.fields = {
      deliveryTag: raw.fields.deliveryTag,
      redelivered: raw.fields.redelivered,
      deliveryCount,
      exchange: raw.fields.exchange,
      routingKey: raw.fields.routingKey,
      consumerTag: raw.fields.consumerTag,
    };
    this.properties = deliveredProperties(raw.properties as unknown as Record<string, unknown>);
    this.#settled = noAck;
    if (!noAck) on.unsettled++;
  }

  get settled(): boolean {
    return this.#settled;
  }

  get deliveryLive(): boolean {
    return !this.#settled && this.on.open;
  }

  ack(options: { multiple?: boolean } = {}): void {
    this.settle('ack', (ch) => ch.ack(this.raw, options.multiple === true));
  }

  nack(options: { requeue?: boolean; multiple?: boolean } = {}): void {
    this.settle('nack', (ch) => ch.nack(this.raw, options.multiple === true, options.requeue ?? true));
  }

  reject(options: { requeue?: boolean } = {}): void {
    this.settle('reject', (ch) => ch.reject(this.raw, options.requeue ?? false));
  }

  private settle(what: string, send: (ch: Channel) => void): void {
    if (this.#settled) throw fail('ERR_UNKNOWN_DELIVERY_TAG', `${what}: delivery ${this.fields.deliveryTag} is already settled`, { deliveryTag: this.fields.deliveryTag });
    this.#settled = true;
    // A dead channel's deliveries were requeued by the broker; their tags mean nothing any more.
    if (this.on.open) send(this.on.channel);
    this.on.unsettled--;
    if (this.on.unsettled === 0) this.on.onDrained?.();
  }
}
