// Bytes of messages the engine holds in memory (ready, delayed, unacked), kept as messages move,
// and the memory watermark's hysteresis: over the high mark blocks, back at or under the low mark unblocks.
import type { QueuedMessage } from './message.js';

/**
 * What one message is taken to cost in memory besides its body: the message object, its
 * properties, and its slot in a ready list, the delay heap or the unacked map. An estimate
 * (a 200-byte message costs ~450 bytes in all), used only to weigh the watermark.
 */
export const MESSAGE_OVERHEAD = 256;

/** Bytes one message is counted for while the engine holds it. */
export function heldSize(msg: QueuedMessage): number {
  return msg.body.byteLength + MESSAGE_OVERHEAD;
}

/**
 * The running total of held message bytes. Crossing a watermark in the direction that would
 * change the verdict calls `onCross` once, in the next turn (setImmediate), so a drained broker
 * unblocks as soon as its messages are gone instead of at the next periodic check.
 */
export class MemoryGauge {
  /** Bytes of messages held now. */
  bytes = 0;
  /** The last verdict: over the limit (publishers blocked for memory). */
  private over = false;
  private scheduled = false;
  private stopped = false;

  /**
   * @param high block above this many bytes (0 = never)
   * @param low unblock at or under this many bytes (below `high`)
   * @param onCross asks the owner to judge again (it adds the buffers it accounts for)
   */
  constructor(readonly high: number, readonly low: number, private readonly onCross: () => void) {}

  add(n: number): void {
    this.bytes += n;
    if (!this.over && this.high > 0 && this.bytes > this.high) this.schedule();
  }

  sub(n: number): void {
    this.bytes -= n;
    if (this.over && this.bytes <= this.low) this.schedule();
  }

  /** The verdict for `total` bytes held (messages plus buffers), with hysteresis; remembered. */
  judge(total: number): boolean {
    if (this.high === 0) return false;
    this.over = this.over ? total > this.low : total > this.high;
    return this.over;
  }

  stop(): void {
    this.stopped = true;
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped) this.onCross();
    });
  }
}
