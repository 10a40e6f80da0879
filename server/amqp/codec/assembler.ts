// Frames of one channel -> commands: a content method (basic.publish) with the header and body
// frames after it becomes one ContentCommand; any other method passes through. It owns the frame
// order rules of [AMQP 0-9-1 §4.2.6] and nothing else; one assembler per open channel.
import { fail, type CeleriacError } from '../../../shared/errors.js';
import type { BodyFrame, HeaderFrame, MethodFrame } from './frames.js';
import { METHOD_BY_NAME } from './methods.js';
import type { BasicProperties, Method } from './spec.js';

/** A content method with its properties and body, assembled. */
export interface ContentCommand {
  readonly type: 'content';
  readonly channel: number;
  readonly method: Method;
  readonly properties: BasicProperties;
  /** The property flags and list as they came (a view of the input). */
  readonly propertiesRaw: Buffer;
  /**
   * The body: a view of the input when it came in one body frame (the usual case), else the
   * frames' payloads copied into one Buffer. A view keeps the whole input chunk alive: copy it
   * before keeping it long when the chunk may be much larger than the body.
   */
  readonly body: Buffer;
}

/** What push() completes: a method without content (its frame as decoded), or a whole content command. */
export type Command = MethodFrame | ContentCommand;

/** The frames a channel's assembler takes (heartbeats belong to the connection, never to a channel). */
export type ChannelFrame = MethodFrame | HeaderFrame | BodyFrame;

const EMPTY = Buffer.alloc(0);

/** Assembles the commands of one channel from its frames, in order. */
export class ContentAssembler {
  private method: MethodFrame | undefined;
  private header: HeaderFrame | undefined;
  private remaining = 0;
  private chunks: Buffer[] = [];

  /** @param maxBodySize the largest body accepted; a content header announcing more is ERR_AMQP_FRAME. */
  constructor(private readonly maxBodySize: number) {}

  /** True between a content method and the last frame of its body. */
  get busy(): boolean {
    return this.method !== undefined;
  }

  /**
   * Takes the channel's next frame. Returns the command it completes, or undefined when the frame
   * belongs to a command not yet complete. Throws ERR_AMQP_UNEXPECTED_FRAME for a frame out of
   * order, ERR_AMQP_FRAME for a body larger than announced or than maxBodySize (both as RabbitMQ's
   * rabbit_command_assembler.erl does); after a throw the assembler is back at rest.
   */
  push(frame: ChannelFrame): Command | undefined {
    if (this.method === undefined) {
      if (frame.type !== 'method') throw this.fault('ERR_AMQP_UNEXPECTED_FRAME', frame, `a content ${frame.type} frame with no content method before it`);
      if (!METHOD_BY_NAME[frame.method.name].content) return frame;
      this.method = frame;
      return undefined;
    }
    if (this.header === undefined) {
      if (frame.type !== 'header') throw this.fault('ERR_AMQP_UNEXPECTED_FRAME', frame, `a ${frame.type} frame where the content header of ${this.method.method.name} must come`);
      if (frame.bodySize > this.maxBodySize) throw this.fault('ERR_AMQP_FRAME', frame, `a content body of ${frame.bodySize} bytes, more than the ${this.maxBodySize} allowed`);
      if (frame.bodySize === 0) return this.complete(frame, EMPTY);
      this.header = frame;
      this.remaining = frame.bodySize;
      return undefined;
    }
    if (frame.type !== 'body') throw this.fault('ERR_AMQP_UNEXPECTED_FRAME', frame, `a ${frame.type} frame where a body frame of ${this.method.method.name} must come (${this.remaining} bytes to go)`);
    const n = frame.payload.length;
    if (n > this.remaining) throw this.fault('ERR_AMQP_FRAME', frame, `a body frame of ${n} bytes where ${this.remaining} were left of the announced ${this.header.bodySize}`);
    this.remaining -= n;
    if (this.remaining > 0) {
      if (n > 0) this.chunks.push(frame.payload);
      return undefined;
    }
    const body = this.chunks.length === 0 ? frame.payload : Buffer.concat([...this.chunks, frame.payload], this.header.bodySize);
    return this.complete(this.header, body);
  }

  private complete(header: HeaderFrame, body: Buffer): ContentCommand {
    const frame = this.method!;
    this.reset();
    return { type: 'content', channel: frame.channel, method: frame.method, properties: header.properties, propertiesRaw: header.propertiesRaw, body };
  }

  private reset(): void {
    this.method = undefined;
    this.header = undefined;
    this.remaining = 0;
    if (this.chunks.length > 0) this.chunks = [];
  }

  private fault(code: 'ERR_AMQP_UNEXPECTED_FRAME' | 'ERR_AMQP_FRAME', frame: ChannelFrame, message: string): CeleriacError {
    const pending = this.method?.method.name;
    this.reset();
    const spec = pending === undefined ? undefined : METHOD_BY_NAME[pending];
    return fail(code, `channel ${frame.channel}: ${message}`, { channel: frame.channel, classId: spec?.classId ?? 0, methodId: spec?.methodId ?? 0 });
  }
}
