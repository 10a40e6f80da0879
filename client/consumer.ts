// The client's consumers: tag -> queue, handler and options, so deliveries find their handler
// and a reconnect can subscribe them again under the same tags.
import type { ConsumeOptions, DeliverFrame } from '../shared/frames.js';
import { Message } from './message.js';
import type { Settler } from './outbox.js';

/**
 * Called once per delivered message. What it returns is ignored, except that a returned promise
 * (an async handler) is watched for a rejection.
 */
export type MessageHandler = (msg: Message) => unknown;

/** Reports a handler that threw or rejected. */
export type HandlerErrorSink = (err: unknown, msg: Message) => void;

/** One subscription, as re-sent after a reconnect. */
export interface ConsumerRecord {
  readonly tag: string;
  queue: string;
  readonly handler: MessageHandler;
  readonly options: ConsumeOptions;
  readonly noAck: boolean;
  /** The broker answered the consume; until then a reconnect re-sends the request instead. */
  subscribed: boolean;
  /** cancel() was called: still dispatched (deliveries in flight), never re-subscribed. */
  cancelling: boolean;
}

/** The consumers of one client connection, in subscription order. */
export class Consumers {
  private readonly byTag = new Map<string, ConsumerRecord>();

  add(tag: string, queue: string, handler: MessageHandler, options: ConsumeOptions): void {
    this.byTag.set(tag, { tag, queue, handler, options, noAck: options.noAck === true, subscribed: false, cancelling: false });
  }

  markSubscribed(tag: string): void {
    const c = this.byTag.get(tag);
    if (c !== undefined) c.subscribed = true;
  }

  has(tag: string): boolean {
    return this.byTag.has(tag);
  }

  markCancelling(tag: string): void {
    const c = this.byTag.get(tag);
    if (c !== undefined) c.cancelling = true;
  }

  /** Forgets a consumer; returns whether it was known. */
  remove(tag: string): boolean {
    return this.byTag.delete(tag);
  }

  /** Tags of the consumers of `queue`. */
  tagsOf(queue: string): string[] {
    const out: string[] = [];
    for (const c of this.byTag.values()) if (c.queue === queue) out.push(c.tag);
    return out;
  }

  renameQueue(from: string, to: string): void {
    for (const c of this.byTag.values()) if (c.queue === from) c.queue = to;
  }

  /** Consumers to subscribe again on a new socket: subscribed, and not being cancelled. */
  live(): ConsumerRecord[] {
    return [...this.byTag.values()].filter((c) => c.subscribed && !c.cancelling);
  }

  /**
   * Hands a delivery to its consumer's handler. A throw or a rejection goes to `onError`; the
   * message is left as the handler left it (amqplib does the same), so an unsettled message keeps
   * its prefetch slot until it is settled or the connection drops. Returns false for a tag this
   * client does not know (the delivery is then ignored).
   */
  dispatch(frame: DeliverFrame, settler: Settler, onError: HandlerErrorSink): boolean {
    const c = this.byTag.get(frame.consumerTag);
    if (c === undefined) return false;
    const msg = new Message(frame, frame.consumerTag, settler, c.noAck);
    let result: unknown;
    try {
      result = c.handler(msg);
    } catch (err) {
      onError(err, msg);
      return true;
    }
    if (result !== undefined && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, (err: unknown) => onError(err, msg));
    }
    return true;
  }
}
