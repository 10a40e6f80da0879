// The DeliverySink of one connection: deliveries into the outbox while the socket keeps up, held
// back (engine told "not writable") while its send buffer is full, and flow control for publishers.
import type { Frame, RevokedInfo } from '../../shared/frames.js';
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

/**
 * Above this many bytes waiting to be sent, the connection's reading pauses too: a peer that
 * sends requests but never reads their replies must not make the broker buffer without limit.
 */
export const READ_PAUSE_BYTES = 4 * SEND_BUFFER_HIGH_WATER;

export class SocketSink implements DeliverySink {
  /** The engine was told "not writable" and waits for resume. */
  private held = false;
  private flowActive = true;
  /** Reading paused by flow control (this connection publishes while the broker is blocked). */
  private flowPaused = false;
  /** Reading paused because the peer is not reading what we send. */
  private backlogPaused = false;
  private readingPaused = false;

  constructor(private readonly io: SinkIo, private readonly highWater = SEND_BUFFER_HIGH_WATER) {}

  writable(): boolean {
    if (this.io.bufferedBytes() < this.highWater) return true;
    this.held = true;
    return false;
  }

  bufferedBytes(): number {
    return this.io.bufferedBytes();
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

  revoked(info: RevokedInfo): void {
    this.io.push(info.signal === undefined
      ? { op: OP.revoked, taskIds: info.taskIds, terminate: info.terminate }
      : { op: OP.revoked, taskIds: info.taskIds, terminate: info.terminate, signal: info.signal }, 0);
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
    const buffered = this.io.bufferedBytes();
    if (this.backlogPaused && buffered < this.highWater / 2) {
      this.backlogPaused = false;
      this.updateReading();
    }
    if (this.held && buffered < this.highWater / 2) {
      this.held = false;
      this.io.resumeEngine();
    }
  }

  /** Called after each message read: stop reading while the peer leaves our replies unread. */
  checkBacklog(): void {
    if (this.backlogPaused || this.io.bufferedBytes() < READ_PAUSE_BYTES) return;
    this.backlogPaused = true;
    this.updateReading();
  }

  /** A connection that starts publishing while flow is off gets paused too [RabbitMQ: blocked connections]. */
  pauseIfPublisher(): void {
    if (this.flowActive || this.flowPaused || !this.io.isPublisher()) return;
    this.flowPaused = true;
    this.updateReading();
  }

  private unpause(): void {
    if (!this.flowPaused) return;
    this.flowPaused = false;
    this.updateReading();
  }

  private updateReading(): void {
    const pause = this.flowPaused || this.backlogPaused;
    if (pause === this.readingPaused) return;
    this.readingPaused = pause;
    if (pause) this.io.pauseReading();
    else this.io.resumeReading();
  }
}
