// The DeliverySink of one connection: deliveries into the outbox while the socket keeps up, held
// back (engine told "not writable") while its send buffer is full, and flow control for publishers.
import type { Frame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';
import type { Delivery, DeliverySink } from '../engine/types.js';

/** Above this many bytes waiting to be sent, the engine stops delivering to the connection. */
export const SEND_BUFFER_HIGH_WATER = 1024 * 1024;

/** What the sink needs from its session. */
export interface SinkIo {
  push(frame: Frame, bodyBytes: number): void;
  /** Bytes queued in the outbox plus bytes the socket has not written yet. */
  bufferedBytes(): number;
  isPublisher(): boolean;
  pauseReading(): void;
  resumeReading(): void;
  /** Tells the engine the sink is writable again. */
  resumeEngine(): void;
}

export class SocketSink implements DeliverySink {
  /** The engine was told "not writable" and waits for resume. */
  private held = false;
  private flowActive = true;
  private readingPaused = false;

  constructor(private readonly io: SinkIo, private readonly highWater = SEND_BUFFER_HIGH_WATER) {}

  writable(): boolean {
    if (this.io.bufferedBytes() < this.highWater) return true;
    this.held = true;
    return false;
  }

  deliver(d: Delivery): void {
    this.io.push({
      op: OP.deliver, consumerTag: d.consumerTag, deliveryTag: d.deliveryTag, redelivered: d.redelivered, deliveryCount: d.deliveryCount,
      exchange: d.exchange, routingKey: d.routingKey, props: d.props, body: d.body,
    }, d.body.byteLength);
  }

  consumerCancelled(consumerTag: string, reason: string): void {
    this.io.push({ op: OP.cancelNotify, consumerTag, reason }, 0);
  }

  flow(active: boolean, reason: string): void {
    if (active === this.flowActive) return;
    this.flowActive = active;
    this.io.push({ op: OP.flow, active, reason }, 0);
    if (active) this.unpause();
    else this.pauseIfPublisher();
  }

  /** Whether this connection's reading is paused by flow control. */
  get paused(): boolean {
    return this.readingPaused;
  }

  /**
   * Called after each socket write completes. Resumes at half the high-water mark so a consumer
   * hovering at the limit does not flip between held and resumed on every message.
   */
  written(): void {
    if (this.held && this.io.bufferedBytes() < this.highWater / 2) {
      this.held = false;
      this.io.resumeEngine();
    }
  }

  /** A connection that starts publishing while flow is off gets paused too [RabbitMQ: blocked connections]. */
  pauseIfPublisher(): void {
    if (this.flowActive || this.readingPaused || !this.io.isPublisher()) return;
    this.readingPaused = true;
    this.io.pauseReading();
  }

  private unpause(): void {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    this.io.resumeReading();
  }
}
