// The DeliverySink of one connection: deliveries into the outbox while the socket keeps up, held
// back (engine told "not writable") while its send buffer is full, flow control for publishers, and
// whether the socket is read at all.
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
  /** Bytes were written: the inbox may go on if it waited for the backlog to drain. */
  wake(): void;
}

/**
 * Above this many bytes waiting to be sent, the connection's frames wait (and its reading pauses):
 * a peer that sends requests but never reads their replies must not make the broker buffer
 * without limit. They go on once the backlog is under half the send high-water mark.
 */
export const READ_PAUSE_BYTES = 4 * SEND_BUFFER_HIGH_WATER;

export class SocketSink implements DeliverySink {
  /** The engine was told "not writable" and waits for resume. */
  private held = false;
  private flowActive = true;
  /** Reading paused by flow control (this connection publishes while the broker is blocked). */
  private flowPaused = false;
  /** Reading paused because the connection's inbox has frames waiting (see inbox.ts). */
  private inboxBusy = false;
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

  scheduleChanged(names: string[]): void {
    this.io.push({ op: OP.scheduleChanged, names }, 0);
  }

  flow(active: boolean, reason: string): void {
    if (active === this.flowActive) return;
    this.flowActive = active;
    this.io.push({ op: OP.flow, active, reason }, 0);
    if (active) this.unpause();
    else this.pauseIfPublisher();
  }

  /** Whether this connection's reading is paused (flow control, or frames waiting to be handled). */
  get paused(): boolean {
    return this.readingPaused;
  }

  /** Whether the unsent bytes are over the bound at which the inbox waits (`resuming`: under half the high-water mark). */
  backlogged(resuming: boolean): boolean {
    return this.io.bufferedBytes() >= (resuming ? this.highWater / 2 : READ_PAUSE_BYTES);
  }

  /** The inbox has frames waiting (stop reading the socket) or has handled all (read again). */
  setInboxBusy(busy: boolean): void {
    if (busy === this.inboxBusy) return;
    this.inboxBusy = busy;
    this.updateReading();
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
    this.io.wake();
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
    const pause = this.flowPaused || this.inboxBusy;
    if (pause === this.readingPaused) return;
    this.readingPaused = pause;
    if (pause) this.io.pauseReading();
    else this.io.resumeReading();
  }
}
