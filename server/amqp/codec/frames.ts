// Bytes -> AMQP 0-9-1 frames. Pure: a buffer in, the whole frames it holds out, with how many bytes
// they took and how many more the next frame needs; a malformed frame ends the run with a coded error.
// Frame layout [AMQP 0-9-1 §4.2.3]: type octet, channel short, payload size long, payload, frame-end 0xCE.
import { CeleriacError, fail } from '../../../shared/errors.js';
import { DEFAULT_LIMITS } from '../../../shared/limits.js';
import { readU64 } from './bytes.js';
import { decodeMethod } from './methods.js';
import { decodeProperties } from './properties.js';
import { CLASS, FRAME, type BasicProperties, type Method } from './spec.js';

/** A method frame: one method on one channel. */
export interface MethodFrame {
  readonly type: 'method';
  readonly channel: number;
  readonly method: Method;
}

/** A content header frame: the size and properties of the content a content method announced. */
export interface HeaderFrame {
  readonly type: 'header';
  readonly channel: number;
  /** Always basic (60): the decoder refuses a header of any other class. */
  readonly classId: number;
  readonly bodySize: number;
  readonly properties: BasicProperties;
  /** The property flags and list as they came (a view of the input): a delivery can send them on unchanged. */
  readonly propertiesRaw: Buffer;
}

/** A content body frame: a slice of a message body. */
export interface BodyFrame {
  readonly type: 'body';
  readonly channel: number;
  /** A view of the input buffer, not a copy. */
  readonly payload: Buffer;
}

/** A heartbeat frame (always channel 0). */
export interface HeartbeatFrame {
  readonly type: 'heartbeat';
  readonly channel: 0;
}

/** Any decoded frame, discriminated by type. */
export type Frame = MethodFrame | HeaderFrame | BodyFrame | HeartbeatFrame;

/** Limits for decodeFrames. */
export interface DecodeOptions {
  /**
   * The negotiated frame-max (connection.tune-ok): the largest frame in bytes, its 8 bytes of
   * header and frame-end included; 0 for no limit. Default FRAME.MIN_SIZE (4096), what both peers
   * must accept before tuning [AMQP 0-9-1 §4.2.3].
   */
  readonly frameMax?: number;
  /** Deepest nesting of field tables and arrays. Default DEFAULT_LIMITS.maxDepth. */
  readonly maxDepth?: number;
}

/** What decodeFrames found. */
export interface DecodeResult {
  /** The whole frames decoded, in order (all of those before a malformed one). */
  readonly frames: Frame[];
  /** Bytes taken by `frames`; the caller keeps the rest for the next call. */
  readonly consumed: number;
  /**
   * Bytes still missing before the next frame can be decoded (0 when the input ended on a frame
   * boundary): a caller can wait for that many before calling again, instead of retrying on every
   * chunk of a large frame.
   */
  readonly needed: number;
  /** Why decoding stopped early: a connection error whose wireCode is the reply code for connection.close. */
  readonly error: CeleriacError | undefined;
}

/** Bytes around a payload: type (1), channel (2), size (4) before it, frame-end (1) after it. */
export const FRAME_OVERHEAD = 8;
const HEADER_BYTES = 7;
const HEARTBEAT: HeartbeatFrame = Object.freeze({ type: 'heartbeat', channel: 0 });

/**
 * Decodes the whole frames at the start of `buf` (which may end inside a frame, or hold many).
 * Never throws on input: a malformed frame stops the run and is returned as `error`, after the
 * frames before it. A frame whose size passes frame-max is refused as soon as its 7-byte header is
 * in, before its payload is waited for.
 */
export function decodeFrames(buf: Buffer, options: DecodeOptions = {}): DecodeResult {
  const frameMax = options.frameMax ?? FRAME.MIN_SIZE;
  const maxDepth = options.maxDepth ?? DEFAULT_LIMITS.maxDepth;
  const frames: Frame[] = [];
  const len = buf.length;
  let pos = 0;
  while (len - pos >= HEADER_BYTES) {
    const type = buf[pos]!;
    const channel = (buf[pos + 1]! << 8) | buf[pos + 2]!;
    const size = buf.readUInt32BE(pos + 3);
    // RabbitMQ lets a payload run up to frame-max itself, 8 bytes more than the spec, because
    // clients get the overhead wrong (rabbit_reader.erl, FRAME_SIZE_FUDGE); so does this server.
    if (frameMax !== 0 && size > frameMax) {
      return { frames, consumed: pos, needed: 0, error: fail('ERR_AMQP_FRAME', `a frame of ${size + FRAME_OVERHEAD} bytes on channel ${channel}, over the negotiated frame-max of ${frameMax}`, { channel, frameType: type, size }) };
    }
    const endAt = pos + HEADER_BYTES + size;
    if (endAt >= len) return { frames, consumed: pos, needed: endAt + 1 - len, error: undefined };
    if (buf[endAt] !== FRAME.END) {
      // [AMQP 0-9-1 §4.2.3]: a bad frame-end is a fatal error; nothing after it can be trusted.
      return { frames, consumed: pos, needed: 0, error: fail('ERR_AMQP_FRAME', `a frame on channel ${channel} ends with 0x${buf[endAt]!.toString(16).padStart(2, '0')}, not the frame-end octet 0xce`, { channel, frameType: type }) };
    }
    const start = pos + HEADER_BYTES;
    try {
      frames.push(decodeFrame(buf, type, channel, start, endAt, maxDepth));
    } catch (err) {
      if (!(err instanceof CeleriacError)) throw err;
      const error = err.details?.channel === undefined ? new CeleriacError(err.code, err.message, { details: { channel, ...err.details } }) : err;
      return { frames, consumed: pos, needed: 0, error };
    }
    pos = endAt + 1;
  }
  return { frames, consumed: pos, needed: pos === len ? 0 : HEADER_BYTES - (len - pos), error: undefined };
}

function decodeFrame(buf: Buffer, type: number, channel: number, start: number, end: number, maxDepth: number): Frame {
  switch (type) {
    case FRAME.METHOD:
      return { type: 'method', channel, method: decodeMethod(buf, start, end, maxDepth) };
    case FRAME.HEADER:
      return decodeHeader(buf, channel, start, end, maxDepth);
    case FRAME.BODY:
      return { type: 'body', channel, payload: buf.subarray(start, end) };
    case FRAME.HEARTBEAT:
      // [AMQP 0-9-1 §4.2.7]: a heartbeat has channel 0 and no payload; any other is a frame error.
      if (channel !== 0 || end !== start) throw fail('ERR_AMQP_FRAME', `a heartbeat frame on channel ${channel} with ${end - start} bytes of payload (it must be channel 0, empty)`, { channel, frameType: type });
      return HEARTBEAT;
    default:
      throw fail('ERR_AMQP_FRAME', `unknown frame type ${type} on channel ${channel}`, { channel, frameType: type });
  }
}

/** Class id (2), weight (2), body size (8), then the properties [AMQP 0-9-1 §4.2.6.1]. */
function decodeHeader(buf: Buffer, channel: number, start: number, end: number, maxDepth: number): HeaderFrame {
  if (end - start < 14) throw fail('ERR_AMQP_FRAME', `a content header frame of ${end - start} bytes, too short for class, weight, body size and flags`, { channel, frameType: FRAME.HEADER });
  const classId = (buf[start]! << 8) | buf[start + 1]!;
  if (classId !== CLASS.basic) throw fail('ERR_AMQP_UNEXPECTED_FRAME', `a content header for class ${classId}; only basic (60) carries content`, { channel, classId });
  const weight = (buf[start + 2]! << 8) | buf[start + 3]!;
  if (weight !== 0) throw fail('ERR_AMQP_SYNTAX', `a content header with weight ${weight}; the weight must be zero`, { channel, classId });
  const bodySize = readU64(buf, start + 4);
  if (typeof bodySize === 'bigint') throw fail('ERR_AMQP_FRAME', `a content header announcing ${bodySize} bytes of body`, { channel, classId });
  const properties = decodeProperties(buf, start + 12, end, maxDepth);
  return { type: 'header', channel, classId, bodySize, properties, propertiesRaw: buf.subarray(start + 12, end) };
}

/** The protocol header a 0-9-1 client opens with, and the one a server answers a refusal with [AMQP 0-9-1 §4.2.2]. */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

/** What the first bytes of a connection say. */
export type ProtocolHeaderResult =
  /** Fewer than 8 bytes so far, all agreeing with an AMQP header: wait for more. */
  | { readonly status: 'more' }
  /** A header this server speaks: 8 bytes consumed; frames follow. */
  | { readonly status: 'ok' }
  /**
   * Not a header this server speaks: answer with PROTOCOL_HEADER and close the socket
   * [AMQP 0-9-1 §4.2.2]. `reason` names what was seen, for the log.
   */
  | { readonly status: 'refuse'; readonly reason: string };

/**
 * Reads the 8-byte protocol header at the start of `buf`. Accepts AMQP 0-9-1 (`AMQP 0 0 9 1`) and,
 * as RabbitMQ does (rabbit_reader.erl), the 0-9 header `AMQP 1 1 0 9`, which asks for a protocol
 * close enough to be served as 0-9-1. Refuses 0-8, 1.0 and anything that is not AMQP, as soon as a
 * byte of "AMQP" disagrees (an HTTP request is refused on its first byte).
 */
export function readProtocolHeader(buf: Buffer): ProtocolHeaderResult {
  const n = Math.min(buf.length, 4);
  for (let i = 0; i < n; i++) {
    if (buf[i] !== PROTOCOL_HEADER[i]) return { status: 'refuse', reason: `not AMQP: the connection opened with 0x${buf.subarray(0, Math.min(buf.length, 8)).toString('hex')}` };
  }
  if (buf.length < 8) return { status: 'more' };
  const [a, b, c, d] = [buf[4]!, buf[5]!, buf[6]!, buf[7]!];
  if (a === 0 && b === 0 && c === 9 && d === 1) return { status: 'ok' };
  if (a === 1 && b === 1 && c === 0 && d === 9) return { status: 'ok' };
  return { status: 'refuse', reason: `AMQP protocol ${describeVersion(a, b, c, d)} asked; this server speaks 0-9-1` };
}

function describeVersion(a: number, b: number, c: number, d: number): string {
  if (b === 1 && c === 0 && d === 0) return `1.0 (protocol id ${a})`;
  if (a === 1 && b === 1 && ((c === 8 && d === 0) || (c === 9 && d === 1))) return '0-8';
  return `${a}-${b}-${c}-${d}`;
}
