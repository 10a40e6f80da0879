// Everything a connection sends in one event-loop turn leaves as ONE WebSocket message: a batch
// of frames, with all confirms of the turn merged into one confirm frame. This is what makes speed.
// (A turn of more than FLUSH_AT_BYTES of bodies leaves as several, in order.)
import type { FrameCodec } from '../../shared/codec.js';
import type { ConfirmFrame, Frame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';

/** Where an encoded batch goes; `sent` runs once the bytes are handed to the kernel (or failed). */
export type SendBytes = (bytes: Uint8Array, sent: () => void) => void;

// Frames bigger than this estimate are rare; the estimate only feeds backpressure.
const FRAME_OVERHEAD = 64;
/**
 * Bodies queued in one turn past which the batch leaves at once: a turn of large deliveries or
 * results is sent as several messages, never one a client's socket refuses (ws takes 100 MiB).
 */
export const FLUSH_AT_BYTES = 1024 * 1024;

/** The per-connection send queue, flushed once per turn (setImmediate) or on demand. */
export class Outbox {
  private frames: Frame[] = [];
  /** The confirm frame of this turn, already placed in `frames` where the first confirm fell. */
  private confirmFrame: ConfirmFrame | null = null;
  private scheduled = false;
  private closed = false;
  /** Estimated bytes queued and not yet encoded (bodies dominate), for backpressure. */
  private pending = 0;
  private readonly flushBound = (): void => this.flush();

  constructor(private readonly codec: FrameCodec, private readonly send: SendBytes, private readonly onSent: () => void) {}

  /** Bytes queued in this turn, not yet handed to the socket. */
  get pendingBytes(): number {
    return this.pending;
  }

  /** Queues a frame for this turn's message. */
  push(frame: Frame, bodyBytes = 0): void {
    if (this.closed) return;
    this.frames.push(frame);
    this.pending += bodyBytes + FRAME_OVERHEAD;
    if (this.pending >= FLUSH_AT_BYTES) this.flush();
    else this.schedule();
  }

  /** Adds a publish id to this turn's single confirm frame. */
  confirm(id: number): void {
    if (this.closed) return;
    if (this.confirmFrame === null) {
      this.confirmFrame = { op: OP.confirm, ids: [] };
      this.frames.push(this.confirmFrame);
    }
    this.confirmFrame.ids.push(id);
    this.pending += 9;
    this.schedule();
  }

  /** Encodes and sends what is queued now (also used right before a close). */
  flush(): void {
    this.scheduled = false;
    if (this.frames.length === 0) return;
    const frames = this.frames;
    this.frames = [];
    this.confirmFrame = null;
    this.pending = 0;
    this.send(this.codec.encode(frames), this.onSent);
  }

  /** Drops whatever is queued and refuses more: the connection is gone. */
  close(): void {
    this.closed = true;
    this.frames = [];
    this.confirmFrame = null;
    this.pending = 0;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushBound);
  }
}
