// What one AMQP connection writes: frames appended to one buffer and sent in a single socket write
// per turn of the event loop (replies, deliveries and confirms of a turn travel together), with the
// bytes waiting counted for backpressure.
import type { Socket } from 'node:net';
import { ByteWriter, writeContent, writeDeliver, writeHeartbeat, writeMethodFrame, type MethodInput } from './codec/index.js';

/** Hooks the connection gives its output. */
export interface OutputHooks {
  /** Runs just before the bytes of a turn go out: channels add their confirms here. */
  beforeFlush(): void;
  /** Bytes went to the socket (the heartbeat counts it as sending). */
  sent(): void;
}

/** The frame writer of one connection. */
export class FrameOutput {
  private readonly w = new ByteWriter();
  private scheduled = false;
  private closed = false;
  /** Largest frame the peer takes (connection.tune-ok); 0 = no limit. Set once tuned. */
  frameMax = 4096;

  constructor(private readonly socket: Socket, private readonly hooks: OutputHooks) {}

  /** Bytes written and not yet taken by the socket: this turn's and the socket's own buffer. */
  get buffered(): number {
    return this.w.length + this.socket.writableLength;
  }

  /** Appends a method frame. */
  method(channel: number, method: MethodInput): void {
    this.write(() => writeMethodFrame(this.w, channel, method));
  }

  /** Appends a content method with its header and body frames (basic.return, basic.get-ok). */
  content(channel: number, method: MethodInput, properties: Buffer, body: Uint8Array): void {
    this.write(() => {
      writeMethodFrame(this.w, channel, method);
      writeContent(this.w, channel, properties, body, this.frameMax);
    });
  }

  /** Appends a whole basic.deliver. */
  deliver(channel: number, consumerTag: string, deliveryTag: number, redelivered: boolean, exchange: string, routingKey: string, properties: Buffer, body: Uint8Array): void {
    this.write(() => writeDeliver(this.w, channel, consumerTag, deliveryTag, redelivered, exchange, routingKey, properties, body, this.frameMax));
  }

  /** Appends a heartbeat frame. */
  heartbeat(): void {
    this.write(() => writeHeartbeat(this.w));
  }

  /** Appends raw bytes (the protocol header a refusal answers with). */
  raw(bytes: Buffer): void {
    this.write(() => this.w.bytes(bytes));
  }

  /**
   * Runs one writer; when it throws (a value a frame cannot hold), the bytes it left are taken back,
   * so a half-written frame never reaches the peer, and the error goes to the caller.
   */
  private write(fn: () => void): void {
    if (this.closed) return;
    const mark = this.w.mark();
    try {
      fn();
    } catch (err) {
      this.w.pos = this.w.offsetOf(mark);
      throw err;
    }
    this.schedule();
  }

  /** Sends what this turn wrote once the turn's synchronous work is done. */
  schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Sends everything written so far now. */
  flush(): void {
    if (this.closed) return;
    // Still marked scheduled while the hook writes: its frames leave with this flush.
    this.hooks.beforeFlush();
    this.scheduled = false;
    if (this.w.length === 0 || this.socket.destroyed) return;
    this.socket.write(this.w.take());
    this.hooks.sent();
  }

  /** Sends what is written, then writes nothing more. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
