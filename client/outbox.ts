// Frames queued in one turn of the event loop leave as one WebSocket message; acks and nacks
// queued in that turn collapse into one frame each with a list of delivery tags.
import type { Frame } from '../shared/frames.js';
import { OP } from '../shared/opcodes.js';

/** Runs `fn` once the current turn of the event loop is over (setImmediate in production). */
export type Scheduler = (fn: () => void) => void;

/** Settles deliveries; what a Message needs of the connection it arrived on. */
export interface Settler {
  /** False once the socket the deliveries came on has dropped: their tags are dead. */
  readonly open: boolean;
  ack(tag: number): void;
  nack(tag: number, requeue: boolean): void;
}

/** Bytes after which a batch is sent at once instead of at the end of the turn. */
export const DEFAULT_MAX_BATCH_BYTES = 512 * 1024;

const immediate: Scheduler = (fn) => { setImmediate(fn); };

/**
 * One outbox per socket. Invariant: frames reach `write` in the order they were pushed, and
 * pending settlements are written before any frame other than a publish or heartbeat — so an ack
 * never trails a cancel, delete or close that would make its tag unknown to the broker.
 */
export class Outbox implements Settler {
  private frames: Frame[] = [];
  private acks: number[] = [];
  private nacksRequeue: number[] = [];
  private nacksDrop: number[] = [];
  private bytes = 0;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly write: (frames: Frame[]) => void,
    private readonly schedule: Scheduler = immediate,
    private readonly maxBatchBytes: number = DEFAULT_MAX_BATCH_BYTES,
  ) {}

  get open(): boolean {
    return !this.closed;
  }

  /** Number of frames and tags waiting for the end of the turn. */
  get pending(): number {
    return this.frames.length + this.acks.length + this.nacksRequeue.length + this.nacksDrop.length;
  }

  /** Queues a frame; `size` (body bytes) lets a large batch go out before the turn ends. */
  push(frame: Frame, size = 0): void {
    if (this.closed) return;
    if (frame.op !== OP.publish && frame.op !== OP.heartbeat) this.moveSettlements();
    this.frames.push(frame);
    this.bytes += size + 16;
    if (this.bytes >= this.maxBatchBytes) this.flush();
    else this.arm();
  }

  ack(tag: number): void {
    if (this.closed) return;
    this.acks.push(tag);
    this.arm();
  }

  nack(tag: number, requeue: boolean): void {
    if (this.closed) return;
    (requeue ? this.nacksRequeue : this.nacksDrop).push(tag);
    this.arm();
  }

  /** Writes everything queued now, as one message. */
  flush(): void {
    if (this.closed) return;
    this.moveSettlements();
    if (this.frames.length === 0) return;
    const batch = this.frames;
    this.frames = [];
    this.bytes = 0;
    this.write(batch);
  }

  /** The socket is gone: drop what is queued (publishes are re-sent from the confirm tracker). */
  close(): void {
    this.closed = true;
    this.frames = [];
    this.acks = [];
    this.nacksRequeue = [];
    this.nacksDrop = [];
  }

  private arm(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private moveSettlements(): void {
    if (this.acks.length > 0) {
      this.frames.push({ op: OP.ack, tag: this.acks.length === 1 ? this.acks[0]! : this.acks });
      this.acks = [];
    }
    if (this.nacksRequeue.length > 0) {
      this.frames.push({ op: OP.nack, tag: this.nacksRequeue.length === 1 ? this.nacksRequeue[0]! : this.nacksRequeue, requeue: true });
      this.nacksRequeue = [];
    }
    if (this.nacksDrop.length > 0) {
      this.frames.push({ op: OP.nack, tag: this.nacksDrop.length === 1 ? this.nacksDrop[0]! : this.nacksDrop, requeue: false });
      this.nacksDrop = [];
    }
  }
}
