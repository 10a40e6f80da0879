// When publishers are blocked: the bytes the broker holds (messages in memory and the send buffers
// it accounts for) against the memory watermarks, with hysteresis, and the data file against its limit.
import { MemoryGauge } from './memory-gauge.js';

/** The low watermark, when not given, as a share of the high one. */
export const DEFAULT_LOW_WATERMARK_RATIO = 0.8;

export interface FlowControlOptions {
  /** Block above this many bytes held (0 = never). */
  memoryHighWatermark: number;
  /** Unblock at or under this many bytes held; default DEFAULT_LOW_WATERMARK_RATIO × high. */
  memoryLowWatermark?: number;
  /** Block while the store's files exceed this many bytes (0 = never). */
  storeHighWatermark: number;
  /** Bytes of the store's files now. */
  storeBytes(): number;
  /** Bytes waiting in the connections' send buffers now. */
  bufferedBytes(): number;
  /** Applies a verdict (the engine tells every connection when it changes). */
  setBlocked(blocked: boolean, reason: string): void;
  /** The clock blocked time is measured with (ms). */
  now: () => number;
}

/**
 * Judges the limits. The memory side is event-driven (the gauge calls back as soon as the held
 * bytes cross a watermark) and also checked on the sweeper's tick with the store side; a process's
 * RSS is not used, since the allocator keeps pages long after the messages are gone.
 */
export class FlowControl {
  readonly gauge: MemoryGauge;
  private memoryReason = '';
  private storeReason = '';
  /** Ms spent blocked in blocks that ended, and when the current block began (null: not blocked). */
  private blockedMs = 0;
  private blockedSince: number | null = null;

  constructor(private readonly o: FlowControlOptions) {
    const high = o.memoryHighWatermark;
    const low = o.memoryLowWatermark ?? Math.floor(high * DEFAULT_LOW_WATERMARK_RATIO);
    this.gauge = new MemoryGauge(high, low, () => this.checkMemory());
  }

  /** Bytes held now: messages in memory plus send buffers. */
  heldBytes(): number {
    return this.gauge.bytes + this.o.bufferedBytes();
  }

  /** The periodic check of both limits. */
  check(): void {
    const limit = this.o.storeHighWatermark;
    const size = limit > 0 ? this.o.storeBytes() : 0;
    this.storeReason = limit > 0 && size > limit ? `store ${size} B over the high watermark ${limit} B` : '';
    this.checkMemory();
  }

  /** Seconds publishers have been blocked since start, the block going on now included. */
  blockedSeconds(): number {
    const current = this.blockedSince === null ? 0 : Math.max(0, this.o.now() - this.blockedSince);
    return (this.blockedMs + current) / 1000;
  }

  stop(): void {
    this.gauge.stop();
  }

  private checkMemory(): void {
    const held = this.gauge.high > 0 ? this.heldBytes() : 0;
    this.memoryReason = this.gauge.judge(held)
      ? `memory: ${held} B of messages and buffers held, over the high watermark ${this.gauge.high} B (unblocks at ${this.gauge.low} B)`
      : '';
    const reasons = [this.memoryReason, this.storeReason].filter((r) => r !== '');
    const blocked = reasons.length > 0;
    // Timed here, where the verdict is made: the one place a block starts and ends.
    if (blocked && this.blockedSince === null) this.blockedSince = this.o.now();
    else if (!blocked && this.blockedSince !== null) {
      this.blockedMs += Math.max(0, this.o.now() - this.blockedSince);
      this.blockedSince = null;
    }
    this.o.setBlocked(blocked, reasons.join('; ') || 'back under limits');
  }
}
