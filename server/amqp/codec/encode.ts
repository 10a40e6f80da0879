// Typed AMQP 0-9-1 frames -> bytes: method frames, content (a header frame and the body split into
// body frames by frame-max), heartbeats. Frames are appended to a ByteWriter, so a turn's worth of
// replies and deliveries leaves in one socket write; basic.deliver, sent once per message, has its
// own writer that puts all of its frames in place without building a method object.
import { fail } from '../../../shared/errors.js';
import { ByteWriter } from './bytes.js';
import { FRAME_OVERHEAD } from './frames.js';
import { writeMethod } from './methods.js';
import { writeProperties } from './properties.js';
import { CLASS, FRAME, METHOD_ID, type BasicProperties, type MethodInput } from './spec.js';

const ID_DELIVER = METHOD_ID['basic.deliver'];
const TWO_32 = 4294967296;

/** An encoded heartbeat frame [AMQP 0-9-1 §4.2.7]. */
export const HEARTBEAT_FRAME: Buffer = Buffer.from([FRAME.HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME.END]);

/** Writes type and channel and reserves the size; returns the mark endFrame needs. */
function beginFrame(w: ByteWriter, type: number, channel: number): number {
  if (!Number.isInteger(channel) || channel < 0 || channel > 0xffff) throw fail('ERR_INVALID_ARGUMENT', `channel ${channel} is not an integer in [0, 65535]`);
  w.ensure(3);
  w.buf[w.pos] = type;
  w.buf[w.pos + 1] = channel >>> 8;
  w.buf[w.pos + 2] = channel & 0xff;
  w.pos += 3;
  return w.reserveLength();
}

function endFrame(w: ByteWriter, mark: number): void {
  w.patchLength(mark);
  w.u8(FRAME.END);
}

/** Appends one method frame. Throws ERR_INVALID_ARGUMENT for a missing or ill-typed argument. */
export function writeMethodFrame(w: ByteWriter, channel: number, method: MethodInput): void {
  const mark = beginFrame(w, FRAME.METHOD, channel);
  writeMethod(w, method);
  endFrame(w, mark);
}

/** Appends a heartbeat frame. */
export function writeHeartbeat(w: ByteWriter): void {
  w.bytes(HEARTBEAT_FRAME);
}

/**
 * How many body frames a body of `size` bytes takes at this frame-max (0 = no limit: one frame):
 * each carries at most frame-max - 8 bytes; an empty body takes none.
 */
export function bodyFrameCount(size: number, frameMax: number): number {
  if (size === 0) return 0;
  return frameMax === 0 ? 1 : Math.ceil(size / maxBodyPayload(frameMax));
}

function maxBodyPayload(frameMax: number): number {
  if (!Number.isInteger(frameMax) || frameMax < 0 || (frameMax !== 0 && frameMax <= FRAME_OVERHEAD)) throw fail('ERR_INVALID_ARGUMENT', `frame-max ${frameMax}: 0 (no limit) or more than ${FRAME_OVERHEAD} bytes`);
  return frameMax - FRAME_OVERHEAD;
}

/**
 * Appends the content that follows a content method: a header frame (class basic, weight 0, the
 * body's size, the properties) and the body in frames of at most frame-max bytes.
 * @param properties the properties, or their flags and list already encoded (a HeaderFrame's
 *   propertiesRaw), which are copied as they are
 * @param frameMax the peer's negotiated frame-max (0: no limit, the body in one frame)
 */
export function writeContent(w: ByteWriter, channel: number, properties: BasicProperties | Buffer, body: Uint8Array, frameMax: number): void {
  const chunk = frameMax === 0 ? body.length : maxBodyPayload(frameMax);
  const mark = beginFrame(w, FRAME.HEADER, channel);
  w.ensure(12);
  w.buf[w.pos] = CLASS.basic >>> 8;
  w.buf[w.pos + 1] = CLASS.basic & 0xff;
  w.buf[w.pos + 2] = 0;
  w.buf[w.pos + 3] = 0;
  w.pos += 4;
  w.u64(body.length);
  if (Buffer.isBuffer(properties)) w.bytes(properties);
  else writeProperties(w, properties);
  endFrame(w, mark);
  if (body.length === 0) return;
  const frames = frameMax === 0 ? 1 : Math.ceil(body.length / chunk);
  w.ensure(body.length + frames * FRAME_OVERHEAD);
  const hi = channel >>> 8;
  const lo = channel & 0xff;
  const buf = w.buf;
  let pos = w.pos;
  for (let from = 0; from < body.length; from += chunk) {
    const n = Math.min(chunk, body.length - from);
    buf[pos] = FRAME.BODY;
    buf[pos + 1] = hi;
    buf[pos + 2] = lo;
    buf.writeUInt32BE(n, pos + 3);
    buf.set(from === 0 && n === body.length ? body : body.subarray(from, from + n), pos + 7);
    buf[pos + 7 + n] = FRAME.END;
    pos += n + FRAME_OVERHEAD;
  }
  w.pos = pos;
}

/**
 * Appends a whole delivery: the basic.deliver method frame, its content header and body frames.
 * The same bytes as writeMethodFrame + writeContent, written without building a method object.
 * Throws ERR_INVALID_ARGUMENT when a string passes 255 bytes or the tag is not a safe integer.
 */
export function writeDeliver(
  w: ByteWriter, channel: number, consumerTag: string, deliveryTag: number, redelivered: boolean,
  exchange: string, routingKey: string, properties: BasicProperties | Buffer, body: Uint8Array, frameMax: number,
): void {
  if (!Number.isSafeInteger(deliveryTag) || deliveryTag < 0) throw fail('ERR_INVALID_ARGUMENT', `basic.deliver: delivery tag ${deliveryTag} is not a safe non-negative integer`);
  const mark = beginFrame(w, FRAME.METHOD, channel);
  w.ensure(4 + 8 + 1);
  w.buf.writeUInt32BE(ID_DELIVER, w.pos);
  w.pos += 4;
  w.shortstr(consumerTag, 'basic.deliver consumer-tag');
  w.ensure(9);
  const hi = Math.floor(deliveryTag / TWO_32);
  w.buf.writeUInt32BE(hi, w.pos);
  w.buf.writeUInt32BE(deliveryTag - hi * TWO_32, w.pos + 4);
  w.buf[w.pos + 8] = redelivered ? 1 : 0;
  w.pos += 9;
  w.shortstr(exchange, 'basic.deliver exchange');
  w.shortstr(routingKey, 'basic.deliver routing-key');
  endFrame(w, mark);
  writeContent(w, channel, properties, body, frameMax);
}

/** One method frame as a Buffer of its own. */
export function encodeMethodFrame(channel: number, method: MethodInput): Buffer {
  const w = new ByteWriter(256);
  writeMethodFrame(w, channel, method);
  return w.take();
}

/** A content method with its header and body frames, as one Buffer (see writeContent). */
export function encodeContentCommand(channel: number, method: MethodInput, properties: BasicProperties | Buffer, body: Uint8Array, frameMax: number): Buffer {
  const w = new ByteWriter(512 + body.length + bodyFrameCount(body.length, frameMax) * FRAME_OVERHEAD);
  writeMethodFrame(w, channel, method);
  writeContent(w, channel, properties, body, frameMax);
  return w.take();
}
