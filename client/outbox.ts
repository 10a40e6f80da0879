// Frames queued in one turn of the event loop leave as one WebSocket message; acks and nacks
// queued in that turn collapse into one frame each with a list of delivery tags.
import type { Frame } from '../shared/frames.js';
import { OP } from '../shared/opcodes.js';
import type { Message } from './message.js';
import { Unsettled } from './unsettled.js';

/** Runs `fn` once the current turn of the event loop is over (setImmediate in production). */
export type Scheduler = (fn: () => void) => void;

/** Settles deliveries; what a Message needs of the socket it arrived on. */
export interface Settler {
  /** False once the socket the deliveries came on has dropped: their tags are dead. */
  readonly open: boolean;
  /** The socket's deliveries not settled yet, which a `multiple` settle also settles locally. */
  readonly unsettled: Unsettled<Message>;
  /** Acks `tag`; with `multiple`, every unacked tag up to it on this socket as well. */
  ack(tag: number, multiple?: boolean): void;
  /** Nacks `tag`; with `multiple`, every unacked tag up to it on this socket as well. */
  nack(tag: number, requeue: boolean, multiple?: boolean): void;
}

/** Bytes after which a batch is sent at once instead of at the end of the turn. */
export const DEFAULT_MAX_BATCH_BYTES = 512 * 1024;

const immediate: Scheduler = (fn) => { setImmediate(fn); };

/**
 * One outbox per socket. Invariant: frames reach `write` in the order they were pushed, and
 * pending settlements are written before any frame other than a publish or heartbeat — so an ack
 * never trails a cancel, delete or close that would make its tag unknown to the broker. A
 * `multiple` settle is such a frame: tags collected earlier in the turn go out before it, so it
 * never settles on the broker a tag that a collected nack (or ack) then names again.
 */
export class Outbox implements Settler {
  readonly unsettled = new Unsettled<Message>();
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

  ack(tag: number, multiple = false): void {
    if (this.closed) return;
    if (multiple) {
      this.push({ op: OP.ack, tag, multiple: true });
      return;
    }
    this.acks.push(tag);
    this.arm();
  }

  nack(tag: number, requeue: boolean, multiple = false): void {
    if (this.closed) return;
    if (multiple) {
      this.push({ op: OP.nack, tag, multiple: true, requeue });
      return;
    }
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
