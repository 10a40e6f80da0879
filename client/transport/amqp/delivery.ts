// A message delivered on an AMQP channel, settled on that channel only. Delivery tags are per
// channel: once the channel is gone (a drop, a reconnect) the broker has requeued the message, and
// the same tag on a new channel would name another delivery, so settling it sends nothing.
import type { Channel, ConsumeMessage } from 'amqplib';
import { fail } from '../../../shared/errors.js';
import type { MessageProperties } from '../../../shared/frames.js';
import type { Delivery, DeliveryFields } from '../transport.js';
import { deliveredProperties } from './arguments.js';
import { DELAY_EXCHANGE_HEADER, DELAY_QUEUE_HEADER, DELAY_ROUTE_EXCHANGE } from './delay.js';

/**
 * The channel a consumer reads on: whether it is still up, and its deliveries not settled yet by
 * tag. AMQP's `multiple` settles every earlier tag of the channel in one frame, so those are
 * marked settled here too: settling one again would send its tag a second time, which RabbitMQ
 * answers by closing the channel (406 PRECONDITION_FAILED, unknown delivery tag).
 */
export class ConsumerChannel {
  /** False once the channel closed: its deliveries were requeued by the broker. */
  open = true;
  /** Called once nothing is unsettled any more (a cancelled consumer's channel closes then). */
  onDrained: (() => void) | undefined;
  /** Unsettled deliveries by tag; tags grow on a channel, so the map is in tag order. */
  readonly #unsettled = new Map<number, () => void>();

  constructor(readonly channel: Channel) {}

  /** Deliveries handed out and not settled yet. */
  get unsettled(): number {
    return this.#unsettled.size;
  }

  /** `markSettled` is called if a later `multiple` settles this tag. */
  hold(tag: number, markSettled: () => void): void {
    this.#unsettled.set(tag, markSettled);
  }

  /** Tag `tag` was settled (and, with `multiple`, every earlier one: they are marked settled). */
  release(tag: number, multiple: boolean): void {
    this.#unsettled.delete(tag);
    if (multiple) {
      for (const [earlier, markSettled] of this.#unsettled) {
        if (earlier > tag) break;
        this.#unsettled.delete(earlier);
        markSettled();
      }
    }
    if (this.#unsettled.size === 0) this.onDrained?.();
  }
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
    if (!noAck) on.hold(raw.fields.deliveryTag, () => { this.#settled = true; });
  }

  get settled(): boolean {
    return this.#settled;
  }

  get deliveryLive(): boolean {
    return !this.#settled && this.on.open;
  }

  /** Acked; `multiple` acks (and marks settled) every earlier unsettled delivery of this consumer's channel too. */
  ack(options: { multiple?: boolean } = {}): void {
    const multiple = options.multiple === true;
    this.settle('ack', multiple, (ch) => ch.ack(this.raw, multiple));
  }

  /** Given back (requeued by default); `multiple` as for ack. */
  nack(options: { requeue?: boolean; multiple?: boolean } = {}): void {
    const multiple = options.multiple === true;
    this.settle('nack', multiple, (ch) => ch.nack(this.raw, multiple, options.requeue ?? true));
  }

  reject(options: { requeue?: boolean } = {}): void {
    this.settle('reject', false, (ch) => ch.reject(this.raw, options.requeue ?? false));
  }

  private settle(what: string, multiple: boolean, send: (ch: Channel) => void): void {
    if (this.#settled) throw fail('ERR_UNKNOWN_DELIVERY_TAG', `${what}: delivery ${this.fields.deliveryTag} is already settled`, { deliveryTag: this.fields.deliveryTag });
    this.#settled = true;
    // A dead channel's deliveries were requeued by the broker; their tags mean nothing any more.
    if (this.on.open) send(this.on.channel);
    this.on.release(this.fields.deliveryTag, multiple);
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
