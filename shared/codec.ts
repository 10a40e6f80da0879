// Bytes <-> frames. Pure: no sockets, no queues. A WebSocket message holds one frame
// (a msgpack array whose first element is the opcode) or a batch (an array of such arrays),
// read frame by frame so a batch means what one message per frame would.
import { Decoder, Encoder } from '@msgpack/msgpack';
import { CeleriacError, fail } from './errors.js';
import type { DeliverFrame, Frame, PublishFrame } from './frames.js';
import { OP, opName } from './opcodes.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { arrayHeader, skipValue, type ScanLimits } from './msgpack-scan.js';
import { MsgpackWriter } from './msgpack-writer.js';
import { propsBytes, rememberPropsBytes } from './props-bytes.js';

/** Value kinds a frame field can have on the wire. */
export type Kind = 'uint' | 'int' | 'num' | 'str' | 'bool' | 'bin' | 'map' | 'maps' | 'any' | 'uints' | 'strs' | 'tag' | 'nullint';
/** One positional field of a frame: name, kind, and whether it may be absent. */
export type Field = readonly [name: string, kind: Kind, optional?: 'opt'];

// Wire layout of each opcode: the positional fields after the opcode. Adding a field at the end
// of a layout is backward compatible (an older peer ignores it, a newer one sees it missing).
/** Exported read-only for docs/protocol.md and the codec tests; never mutate. */
export const LAYOUT: Readonly<Record<number, readonly Field[]>> = {
  [OP.hello]: [['id', 'uint'], ['version', 'uint'], ['user', 'str', 'opt'], ['password', 'str', 'opt'], ['vhost', 'str', 'opt'], ['client', 'str', 'opt'], ['heartbeat', 'uint', 'opt']],
  [OP.welcome]: [['id', 'uint'], ['version', 'uint'], ['server', 'str'], ['connectionId', 'str'], ['heartbeat', 'uint'], ['limits', 'map'], ['capabilities', 'strs']],
  [OP.error]: [['id', 'uint'], ['code', 'str'], ['message', 'str'], ['details', 'map', 'opt']],
  [OP.ok]: [['id', 'uint'], ['result', 'any', 'opt']],
  [OP.heartbeat]: [],
  [OP.close]: [['id', 'uint'], ['reason', 'str', 'opt']],
  [OP.flow]: [['active', 'bool'], ['reason', 'str', 'opt']],
  [OP.declareExchange]: [['id', 'uint'], ['name', 'str'], ['type', 'str'], ['options', 'map', 'opt']],
  [OP.deleteExchange]: [['id', 'uint'], ['name', 'str'], ['options', 'map', 'opt']],
  [OP.declareQueue]: [['id', 'uint'], ['name', 'str'], ['options', 'map', 'opt']],
  [OP.deleteQueue]: [['id', 'uint'], ['name', 'str'], ['options', 'map', 'opt']],
  [OP.purgeQueue]: [['id', 'uint'], ['name', 'str']],
  [OP.bindQueue]: [['id', 'uint'], ['queue', 'str'], ['exchange', 'str'], ['pattern', 'str'], ['args', 'map', 'opt']],
  [OP.unbindQueue]: [['id', 'uint'], ['queue', 'str'], ['exchange', 'str'], ['pattern', 'str'], ['args', 'map', 'opt']],
  [OP.publish]: [['id', 'uint'], ['exchange', 'str'], ['routingKey', 'str'], ['body', 'bin'], ['props', 'map', 'opt'], ['mandatory', 'bool', 'opt'], ['track', 'map', 'opt']],
  [OP.confirm]: [['ids', 'uints']],
  [OP.consume]: [['id', 'uint'], ['queue', 'str'], ['options', 'map', 'opt']],
  [OP.cancel]: [['id', 'uint'], ['consumerTag', 'str']],
  [OP.deliver]: [['consumerTag', 'str'], ['deliveryTag', 'uint'], ['redelivered', 'bool'], ['deliveryCount', 'uint'], ['exchange', 'str'], ['routingKey', 'str'], ['props', 'map', 'opt'], ['body', 'bin']],
  [OP.ack]: [['tag', 'tag'], ['multiple', 'bool', 'opt']],
  [OP.nack]: [['tag', 'tag'], ['multiple', 'bool', 'opt'], ['requeue', 'bool', 'opt']],
  [OP.reject]: [['tag', 'uint'], ['requeue', 'bool', 'opt']],
  [OP.get]: [['id', 'uint'], ['queue', 'str'], ['noAck', 'bool', 'opt']],
  [OP.cancelNotify]: [['consumerTag', 'str'], ['reason', 'str']],
  [OP.resultStore]: [['id', 'uint'], ['taskId', 'str'], ['state', 'str'], ['body', 'bin', 'opt'], ['options', 'map', 'opt']],
  [OP.resultGet]: [['id', 'uint'], ['taskId', 'str']],
  [OP.resultWait]: [['id', 'uint'], ['taskId', 'str'], ['timeout', 'uint']],
  [OP.resultForget]: [['id', 'uint'], ['taskId', 'str']],
  [OP.finish]: [['id', 'uint'], ['ack', 'uint', 'opt'], ['result', 'map', 'opt'], ['publishes', 'maps', 'opt']],
  [OP.revoke]: [['id', 'uint'], ['taskIds', 'strs'], ['terminate', 'bool', 'opt'], ['signal', 'str', 'opt'], ['expires', 'uint', 'opt']],
  [OP.revoked]: [['taskIds', 'strs'], ['terminate', 'bool'], ['signal', 'str', 'opt']],
  [OP.revokedCheck]: [['id', 'uint'], ['taskIds', 'strs']],
  [OP.rateAcquire]: [['id', 'uint'], ['key', 'str'], ['count', 'num'], ['intervalMs', 'uint']],
  [OP.rateSet]: [['id', 'uint'], ['key', 'str'], ['count', 'num', 'opt'], ['intervalMs', 'uint', 'opt']],
  [OP.groupDeclare]: [['id', 'uint'], ['groupId', 'str'], ['members', 'strs'], ['callback', 'map', 'opt'], ['expires', 'uint', 'opt']],
  [OP.groupGet]: [['id', 'uint'], ['groupId', 'str']],
  [OP.rateOverrides]: [['id', 'uint']],
  [OP.rateRelease]: [['id', 'uint'], ['key', 'str'], ['slot', 'num']],
  [OP.scheduleUpsert]: [['id', 'uint'], ['name', 'str'], ['spec', 'str'], ['source', 'str', 'opt'], ['nextRunAt', 'nullint', 'opt'], ['resetState', 'bool', 'opt']],
  [OP.scheduleRemove]: [['id', 'uint'], ['name', 'str']],
  [OP.schedulePause]: [['id', 'uint'], ['name', 'str'], ['paused', 'bool']],
  [OP.scheduleList]: [['id', 'uint'], ['names', 'strs', 'opt']],
  [OP.scheduleWatch]: [['id', 'uint'], ['watch', 'bool']],
  [OP.scheduleChanged]: [['names', 'strs']],
  [OP.leaseAcquire]: [['id', 'uint'], ['name', 'str'], ['holder', 'str'], ['ttl', 'uint']],
  [OP.leaseRelease]: [['id', 'uint'], ['name', 'str'], ['holder', 'str'], ['epoch', 'uint']],
  [OP.beatFire]: [
    ['id', 'uint'], ['lease', 'str'], ['holder', 'str'], ['epoch', 'uint'], ['entry', 'str'], ['revision', 'uint'], ['scheduledAt', 'int'],
    ['nextRunAt', 'nullint'], ['publishes', 'maps'],
  ],
  [OP.beatAdvance]: [['id', 'uint'], ['lease', 'str'], ['holder', 'str'], ['epoch', 'uint'], ['entry', 'str'], ['revision', 'uint'], ['nextRunAt', 'nullint']],
  [OP.eventsRead]: [['id', 'uint'], ['since', 'uint', 'opt'], ['limit', 'uint', 'opt'], ['types', 'strs', 'opt'], ['from', 'uint', 'opt']],
};

/**
 * A `nullint` field carries `number | null` where nil cannot say null: nil is how an optional field
 * is left out (an upsert's absent nextRunAt keeps the stored one, null clears it). So null travels
 * as `false`, the one msgpack value no integer field uses.
 */
const NULL_ON_WIRE = false;

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function check(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'uint': return isUint(v);
    case 'int': return typeof v === 'number' && Number.isSafeInteger(v);
    case 'num': return typeof v === 'number' && Number.isFinite(v);
    case 'str': return typeof v === 'string';
    case 'bool': return typeof v === 'boolean';
    case 'bin': return v instanceof Uint8Array;
    case 'map': return isPlainMap(v);
    case 'maps': return Array.isArray(v) && v.every(isPlainMap);
    case 'any': return true;
    case 'uints': return Array.isArray(v) && v.every(isUint);
    case 'strs': return Array.isArray(v) && v.every((s) => typeof s === 'string');
    case 'tag': return isUint(v) || (Array.isArray(v) && v.every(isUint));
    case 'nullint': return v === NULL_ON_WIRE || (typeof v === 'number' && Number.isSafeInteger(v));
  }
}

/** Depth of nested arrays/maps, stopping early once past `limit`. */
function depthExceeds(v: unknown, limit: number): boolean {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return false;
  if (limit <= 0) return true;
  // Walked without Object.values(): this runs over every decoded frame's maps (headers).
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (depthExceeds(v[i], limit - 1)) return true;
    return false;
  }
  const map = v as Record<string, unknown>;
  for (const key in map) if (depthExceeds(map[key], limit - 1)) return true;
  return false;
}

/** Turns one decoded msgpack array into a typed frame, or throws a coded error. */
export function frameFromArray(arr: unknown, maxDepth = DEFAULT_LIMITS.maxDepth): Frame {
  if (!Array.isArray(arr) || arr.length === 0) throw fail('ERR_MALFORMED_FRAME', 'a frame must be a non-empty msgpack array');
  const op = arr[0];
  if (typeof op !== 'number') throw fail('ERR_MALFORMED_FRAME', 'a frame must start with a numeric opcode');
  const layout = LAYOUT[op];
  if (layout === undefined) throw fail('ERR_UNKNOWN_OPCODE', `unknown opcode ${op}`, { opcode: op });
  const frame: Record<string, unknown> = { op };
  for (let i = 0; i < layout.length; i++) {
    const [name, kind, optional] = layout[i]!;
    const v = arr[i + 1];
    if (v === undefined || v === null) {
      if (optional) continue;
      throw fail('ERR_MALFORMED_FRAME', `${opName(op)} frame: field '${name}' is missing`, { opcode: op, field: name });
    }
    if (!check(kind, v)) throw fail('ERR_MALFORMED_FRAME', `${opName(op)} frame: field '${name}' is not a ${kind}`, { opcode: op, field: name });
    if ((kind === 'map' || kind === 'maps') && depthExceeds(v, maxDepth)) throw fail('ERR_MALFORMED_FRAME', `${opName(op)} frame: field '${name}' nests deeper than ${maxDepth}`);
    frame[name] = kind === 'nullint' && v === NULL_ON_WIRE ? null : v;
  }
  return frame as unknown as Frame;
}

/** Turns a typed frame into its positional array (trailing absent fields dropped). */
export function frameToArray(frame: Frame): unknown[] {
  const layout = LAYOUT[frame.op]!;
  const rec = frame as unknown as Record<string, unknown>;
  const arr: unknown[] = [frame.op];
  let last = 0;
  for (let i = 0; i < layout.length; i++) {
    const [name, kind] = layout[i]!;
    const v = rec[name];
    if (v === undefined) { arr.push(null); continue; }
    arr.push(v === null && kind === 'nullint' ? NULL_ON_WIRE : v);
    last = i + 1;
  }
  arr.length = last + 1;
  return arr;
}

/**
 * Nesting the structural scan allows, past the frame's own array: far more than a valid frame
 * needs (a reply nests a depth-checked map two levels down), far less than a nesting bomb. The
 * exact check, per field, is frameFromArray's.
 */
const scanDepth = (maxDepth: number): number => 2 * maxDepth + 8;

/**
 * The frames of one WebSocket message, taken one at a time. Only the message's outer header is
 * read up front (so `count` is known before any work); each frame is scanned and decoded when
 * its turn comes, so a malformed frame fails after the frames before it were handled, exactly
 * as if each frame had come in its own message, and decoding a large batch is spread over the
 * slices the receiver works in.
 */
export class FrameReader {
  /** Frames in the message (1 for a message that is a single frame). */
  readonly count: number;
  private taken = 0;
  private pos: number;

  constructor(private readonly bytes: Uint8Array, private readonly decodeOne: (bytes: Uint8Array) => Frame, private readonly scan: ScanLimits) {
    const outer = arrayHeader(bytes, 0);
    if (outer === undefined || outer.length === 0) throw fail('ERR_MALFORMED_FRAME', 'a message must be a frame array or an array of frames');
    if (outer.length > scan.maxLength) throw fail('ERR_MALFORMED_FRAME', `a message of ${outer.length} elements (the limit is ${scan.maxLength})`);
    // A batch is an array whose first element is an array; otherwise the message is one frame.
    const batch = arrayHeader(bytes, outer.start) !== undefined;
    this.count = batch ? outer.length : 1;
    this.pos = batch ? outer.start : 0;
  }

  /**
   * The next frame, or undefined once all were taken. Throws a CeleriacError for a frame that is
   * malformed, and, after the last frame, for bytes left over past the message's value.
   */
  next(): Frame | undefined {
    if (this.taken >= this.count) {
      if (this.pos !== this.bytes.length) {
        const extra = this.bytes.length - this.pos;
        this.pos = this.bytes.length;
        throw fail('ERR_MALFORMED_FRAME', `not a msgpack frame: ${extra} bytes after the message's value`);
      }
      return undefined;
    }
    this.taken++;
    const start = this.pos;
    try {
      this.pos = skipValue(this.bytes, start, this.scan);
    } catch (err) {
      this.taken = this.count; // nothing after an unreadable frame can be found
      this.pos = this.bytes.length;
      throw err;
    }
    return this.decodeOne(this.bytes.subarray(start, this.pos));
  }
}

/** Position of the `props` field in a publish frame's array (after op, id, exchange, routingKey, body). */
const PUBLISH_PROPS_INDEX = 5;

/** How a codec treats what it decodes, beyond the limits. */
export interface CodecOptions {
  /**
   * Keep the msgpack bytes of each publish frame's `props` beside the decoded object (see
   * props-bytes.ts), so they are stored and delivered without being encoded again: the broker's
   * side. A client has no use for them.
   */
  keepPropsBytes?: boolean;
}

/** A codec bound to a set of decoder limits; one per connection side is plenty. */
export class FrameCodec {
  private readonly encoder = new Encoder({ ignoreUndefined: true });
  private readonly writer = new MsgpackWriter((v) => this.encoder.encodeSharedRef(v));
  private readonly decoder: Decoder;
  private readonly maxDepth: number;
  private readonly scan: ScanLimits;
  private readonly keepPropsBytes: boolean;
  private readonly decodeOne = (bytes: Uint8Array): Frame => {
    let value: unknown;
    try {
      value = this.decoder.decode(bytes);
    } catch (cause) {
      throw new CeleriacError('ERR_MALFORMED_FRAME', `not a msgpack frame: ${(cause as Error).message}`, { cause });
    }
    const frame = frameFromArray(value, this.maxDepth);
    if (this.keepPropsBytes && frame.op === OP.publish && frame.props !== undefined) this.keepProps(frame, bytes);
    return frame;
  };

  constructor(limits: Partial<Limits> = {}, options: CodecOptions = {}) {
    const max = limits.maxCollectionLength ?? DEFAULT_LIMITS.maxCollectionLength;
    const maxBin = Math.max(limits.maxBodySize ?? DEFAULT_LIMITS.maxBodySize, max);
    this.decoder = new Decoder({ maxStrLength: max, maxBinLength: maxBin, maxArrayLength: max, maxMapLength: max, maxExtLength: 0 });
    this.maxDepth = limits.maxDepth ?? DEFAULT_LIMITS.maxDepth;
    this.scan = { maxDepth: scanDepth(this.maxDepth), maxLength: max };
    this.keepPropsBytes = options.keepPropsBytes === true;
  }

  /**
   * Files the bytes of a decoded publish frame's props: found by skipping the fields before them
   * (one step each: strings and the body are skipped by their length). The frame decoded, so the
   * bytes are well formed and the skips cannot fail.
   */
  private keepProps(frame: PublishFrame, bytes: Uint8Array): void {
    let pos = arrayHeader(bytes, 0)!.start;
    for (let i = 0; i < PUBLISH_PROPS_INDEX; i++) pos = skipValue(bytes, pos, this.scan);
    rememberPropsBytes(frame.props!, bytes.subarray(pos, skipValue(bytes, pos, this.scan)));
  }

  /**
   * Encodes one frame or a batch of frames into one WebSocket message. Deliver frames, most of
   * what a broker sends, are written field by field, their props as the publisher's bytes when
   * known; other frames go through the msgpack encoder. The bytes are the same either way.
   */
  encode(frames: Frame | readonly Frame[]): Uint8Array {
    const w = this.writer;
    w.reset();
    if (!Array.isArray(frames)) {
      this.write(frames as Frame);
    } else if (frames.length === 1) {
      this.write(frames[0]!);
    } else {
      w.arrayHeader(frames.length);
      for (let i = 0; i < frames.length; i++) this.write(frames[i]!);
    }
    return w.take();
  }

  private write(frame: Frame): void {
    if (frame.op === OP.deliver && isUint(frame.deliveryTag) && isUint(frame.deliveryCount)) this.writeDeliver(frame);
    else this.writer.value(frameToArray(frame));
  }

  /** A deliver frame as frameToArray + the encoder would write it (its layout has no trailing optional field). */
  private writeDeliver(f: DeliverFrame): void {
    const w = this.writer;
    w.arrayHeader(9);
    w.uint(OP.deliver);
    w.str(f.consumerTag);
    w.uint(f.deliveryTag);
    w.bool(f.redelivered);
    w.uint(f.deliveryCount);
    w.str(f.exchange);
    w.str(f.routingKey);
    const props = f.props;
    if (props === undefined || props === null) w.nil();
    else {
      const bytes = propsBytes(props);
      if (bytes !== undefined) w.raw(bytes);
      else w.value(props);
    }
    w.bin(f.body);
  }

  /**
   * Opens one WebSocket message for reading frame by frame (see FrameReader). Throws
   * ERR_MALFORMED_FRAME when the message is not an array at all.
   */
  reader(bytes: Uint8Array): FrameReader {
    return new FrameReader(bytes, this.decodeOne, this.scan);
  }

  /** Decodes one whole WebSocket message into its frames; throws CeleriacError on anything malformed. */
  decode(bytes: Uint8Array): Frame[] {
    const reader = this.reader(bytes);
    const frames: Frame[] = [];
    for (let f = reader.next(); f !== undefined; f = reader.next()) frames.push(f);
    return frames;
  }
}
