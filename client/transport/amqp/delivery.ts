// A message delivered on an AMQP channel, settled on that channel only. Delivery tags are per
// channel: once the channel is gone (a drop, a reconnect) the broker has requeued the message, and
// the same tag on a new channel would name another delivery, so settling it sends nothing.
import type { Channel, ConsumeMessage } from 'amqplib';
import { fail } from '../../../shared/errors.js';
import type { MessageProperties } from '../../../shared/frames.js';
import type { Delivery, DeliveryFields } from '../transport.js';
import { deliveredProperties } from './arguments.js';
import { DELAY_EXCHANGE_HEADER, DELAY_QUEUE_HEADER, DELAY_ROUTE_EXCHANGE } from './delay.js';

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
    // A delayed message arrives through the delay route exchange: report the exchange it was sent
    // to, so a retry that republishes "where it came from" (Celery's delivery_info) goes there.
    const target = headers[DELAY_EXCHANGE_HEADER];
    const delayed = raw.fields.exchange === DELAY_ROUTE_EXCHANGE && typeof target === 'string';
    this.fields = {
      deliveryTag: raw.fields.deliveryTag,
      redelivered: raw.fields.redelivered,
      deliveryCount,
      exchange: delayed ? target : raw.fields.exchange,
      routingKey: raw.fields.routingKey,
      consumerTag: raw.fields.consumerTag,
    };
    const properties = deliveredProperties(raw.properties as unknown as Record<string, unknown>);
    if (delayed && properties.headers !== undefined) {
      // The routing headers and the dead-letter trace of the delay hop were ours, not the message's.
      properties.headers = withoutDelayTrace(properties.headers);
    }
    this.properties = properties;
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

/** `headers` without the delay route's headers and RabbitMQ's record of the delay queue's dead-lettering. */
function withoutDelayTrace(headers: Record<string, unknown>): Record<string, unknown> {
  const isDelayQueue = (v: unknown): boolean => typeof v === 'string' && v.startsWith('celeriac.delay.');
  const own: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (key === DELAY_EXCHANGE_HEADER || key === DELAY_QUEUE_HEADER) continue;
    if ((key.startsWith('x-first-death-') && isDelayQueue(headers['x-first-death-queue'])) || (key.startsWith('x-last-death-') && isDelayQueue(headers['x-last-death-queue']))) continue;
    if (key === 'x-death' && Array.isArray(value)) {
      const kept = value.filter((d) => !isDelayQueue((d as { queue?: unknown } | null)?.queue));
      if (kept.length > 0) own[key] = kept;
      continue;
    }
    own[key] = value;
  }
  return own;
}
