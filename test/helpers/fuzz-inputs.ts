// Seeded hostile inputs for the broker fuzzer: random frames of every opcode (names from a small
// pool, so frames meet each other's queues and tags), mutated bytes, wrong kinds, out-of-order
// frames, huge batches and deep nesting. Pure: bytes out, no sockets.
import { Encoder } from '@msgpack/msgpack';
import { FrameCodec, LAYOUT, type Kind } from '../../shared/codec.js';
import type { Frame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';

type Rand = () => number;
const codec = new FrameCodec();
const raw = new Encoder();
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, n: number): number => Math.floor(r() * n);

/** Names the fuzzer's frames share (none is a name a test's good client uses). */
const QUEUES = ['fz.q0', 'fz.q1', 'fz.q2', 'fz.q3', ''];
const EXCHANGES = ['fz.x0', 'fz.x1', '', 'amq.direct', 'amq.topic', 'amq.fanout'];
const STRINGS = ['', 'a', '#', '*.b', 'fz.q1', 'é日🥕', '\u0000', 'x'.repeat(300), 'SUCCESS', 'PENDING', 'topic', 'direct', 'fanout', 'headers', 'nope'];
const OPTION_KEYS = [
  'durable', 'exclusive', 'autoDelete', 'messageTtl', 'expires', 'maxLength', 'overflow', 'deadLetterExchange', 'deadLetterRoutingKey',
  'maxPriority', 'deliveryLimit', 'consumerTimeout', 'passive', 'prefetch', 'consumerTag', 'noAck', 'ifUnused', 'ifEmpty', 'internal',
  'arguments', 'headers', 'persistent', 'priority', 'expiration', 'delay', 'contentType', 'taskId', 'expires', 'exchange', 'routingKey',
  'body', 'props', 'track', 'state', 'options', 'x-match',
];

function uint(r: Rand): number {
  const p = r();
  if (p < 0.5) return int(r, 16);
  if (p < 0.8) return int(r, 70_000);
  if (p < 0.95) return int(r, 2 ** 32);
  return Number.MAX_SAFE_INTEGER - int(r, 4);
}

function anyValue(r: Rand, depth: number): unknown {
  switch (int(r, depth > 0 ? 10 : 8)) {
    case 0: return pick(r, STRINGS);
    case 1: return uint(r);
    case 2: return -uint(r);
    case 3: return r() * 1e9;
    case 4: return r() < 0.5;
    case 5: return null;
    case 6: return new Uint8Array(int(r, 64));
    case 7: return pick(r, [NaN, Infinity, -0, 1.5, 2 ** 53]);
    case 8: return options(r, depth - 1);
    default: return Array.from({ length: int(r, 4) }, () => anyValue(r, depth - 1));
  }
}

/** A map of known option names with values of the right kind or not. */
function options(r: Rand, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = int(r, 5); i > 0; i--) out[pick(r, OPTION_KEYS)] = anyValue(r, depth);
  return out;
}

function field(name: string, kind: Kind, r: Rand, wrongKinds: number): unknown {
  if (r() < wrongKinds) return anyValue(r, 2); // the wrong kind, now and then
  if (name === 'queue' || (name === 'name' && r() < 0.6)) return pick(r, QUEUES);
  if (name === 'exchange') return pick(r, EXCHANGES);
  switch (kind) {
    case 'uint': return uint(r);
    case 'int': return r() < 0.5 ? uint(r) : -uint(r);
    case 'num': return pick(r, [0, 1, 0.5, 1e6, r() * 100]);
    case 'str': return pick(r, STRINGS);
    case 'bool': return r() < 0.5;
    case 'bin': return new Uint8Array(int(r, r() < 0.05 ? 100_000 : 200));
    case 'map': return options(r, 3);
    case 'maps': return Array.from({ length: int(r, 4) }, () => options(r, 2));
    case 'any': return anyValue(r, 2);
    case 'uints': return Array.from({ length: int(r, 6) }, () => uint(r));
    case 'strs': return Array.from({ length: int(r, 6) }, () => pick(r, STRINGS));
    case 'tag': return r() < 0.6 ? 1 + int(r, r() < 0.9 ? 8 : 2 ** 32) : Array.from({ length: 1 + int(r, 5) }, () => 1 + int(r, 8));
    case 'nullint': return r() < 0.3 ? null : r() < 0.5 ? uint(r) : -uint(r);
  }
}

/** Opcodes a client may send after the handshake (the rest end the connection). */
const CLIENT_OPS: readonly number[] = [
  OP.heartbeat, OP.error, OP.declareExchange, OP.deleteExchange, OP.declareQueue, OP.deleteQueue, OP.purgeQueue, OP.bindQueue,
  OP.unbindQueue, OP.publish, OP.consume, OP.cancel, OP.ack, OP.nack, OP.reject, OP.get, OP.resultStore, OP.resultGet, OP.resultWait,
  OP.resultForget, OP.finish, OP.revoke, OP.revokedCheck, OP.rateAcquire, OP.rateSet, OP.groupDeclare, OP.groupGet, OP.rateOverrides,
  OP.rateRelease, OP.scheduleUpsert, OP.scheduleRemove, OP.schedulePause, OP.scheduleList, OP.scheduleWatch, OP.leaseAcquire,
  OP.leaseRelease, OP.beatFire, OP.beatAdvance, OP.eventsRead,
];

const FATAL_OPS: ReadonlySet<number> = new Set([OP.ack, OP.nack, OP.reject, OP.close]);

/**
 * A frame of any opcode (client-to-server ones mostly), fields filled from the pools; each field
 * is of the wrong kind with probability `wrongKinds`.
 */
export function randomFrame(r: Rand, wrongKinds = 0.02): Frame {
  let op = r() < 0.97 ? pick(r, CLIENT_OPS) : pick(r, Object.values(OP) as number[]);
  // A settle of a tag not outstanding, or a close, ends the connection: rarer, so connections live on.
  if (FATAL_OPS.has(op) && r() < 0.8) op = pick(r, CLIENT_OPS);
  const frame: Record<string, unknown> = { op };
  for (const [name, kind, optional] of LAYOUT[op]!) {
    if (optional && r() < 0.4) continue;
    frame[name] = field(name, kind, r, wrongKinds);
  }
  return frame as unknown as Frame;
}

/** Encodes a frame that may carry values of the wrong kind, bypassing the codec's layout. */
function encodeLoose(frame: Frame): Uint8Array {
  const rec = frame as unknown as Record<string, unknown>;
  return raw.encode([frame.op, ...LAYOUT[frame.op]!.map(([name]) => rec[name] ?? null)]);
}

/** The bytes of `bytes` with a few random flips, insertions, deletions or a cut. */
export function mutate(bytes: Uint8Array, r: Rand): Uint8Array {
  const out = Array.from(bytes);
  for (let n = 1 + int(r, 4); n > 0; n--) {
    const at = int(r, out.length + 1);
    switch (int(r, 4)) {
      case 0: if (at < out.length) out[at] = out[at]! ^ (1 << int(r, 8)); break;
      case 1: out.splice(at, 0, int(r, 256)); break;
      case 2: out.splice(at, 1 + int(r, 4)); break;
      default: out.length = Math.min(out.length, at);
    }
  }
  return Uint8Array.from(out);
}

/** What one fuzz input is, for the run's tally. */
export type InputKind = 'frame' | 'batch' | 'mutated' | 'random-bytes' | 'nesting' | 'huge-batch' | 'over-cap' | 'text';

/** One hostile WebSocket message: its bytes (or text) and what kind it is. */
export interface FuzzInput {
  kind: InputKind;
  data: Uint8Array | string;
}

/** Frames for huge batches: mostly heartbeats (no reply), some requests answered at once (a `get` on a missing queue is an error frame). */
function cheapFrame(r: Rand, i: number): Frame {
  const p = r();
  if (p < 0.8) return { op: OP.heartbeat };
  if (p < 0.9) return { op: OP.resultGet, id: i + 1, taskId: 'fz-none' };
  return { op: OP.get, id: i + 1, queue: 'fz.missing' };
}

/** A deeply nested value: a bomb of nested one-element arrays, or options nested past maxDepth. */
function nesting(r: Rand): Uint8Array {
  if (r() < 0.5) {
    const depth = 1 + int(r, r() < 0.2 ? 2_000_000 : 5_000);
    const bytes = new Uint8Array(depth + 1).fill(0x91);
    bytes[depth] = 0xc0;
    return bytes;
  }
  let v: unknown = 1;
  for (let i = 20 + int(r, 40); i > 0; i--) v = r() < 0.5 ? [v] : { k: v };
  return encodeLoose({ op: OP.declareQueue, id: 1, name: 'fz.q0', options: v } as unknown as Frame);
}

/**
 * One random hostile message; `cap` is the broker's maxFramesPerMessage. Most are frames a
 * connection survives (request errors at worst), so connections live long enough to build up
 * state (queues, consumers, tags) for later frames to trip over (a login costs the broker a
 * password hash); about one in eight ends it.
 */
export function randomInput(r: Rand, cap: number): FuzzInput {
  const p = r();
  if (p < 0.55) return { kind: 'frame', data: encodeLoose(randomFrame(r)) };
  if (p < 0.87) {
    const frames = Array.from({ length: 2 + int(r, 30) }, () => encodeLoose(randomFrame(r, 0)));
    if (r() < 0.1) frames.splice(int(r, frames.length), 0, mutate(encodeLoose(randomFrame(r)), r));
    return { kind: 'batch', data: Buffer.concat([header(frames.length), ...frames]) };
  }
  if (p < 0.90) return hugeBatch(r, cap);
  if (p < 0.94) return { kind: 'mutated', data: mutate(r() < 0.5 ? encodeLoose(randomFrame(r)) : codec.encode(Array.from({ length: 3 }, () => randomFrame(r))), r) };
  if (p < 0.96) return { kind: 'random-bytes', data: Uint8Array.from({ length: int(r, 200) }, () => int(r, 256)) };
  if (p < 0.985) return { kind: 'nesting', data: nesting(r) };
  if (p < 0.995) return { kind: 'over-cap', data: codec.encode(Array.from({ length: cap + 1 + int(r, 100) }, () => ({ op: OP.heartbeat }))) };
  return { kind: 'text', data: 'hello' };
}

/** A batch of `cap` cheap frames: the most a message may carry. */
function hugeBatch(r: Rand, cap: number): FuzzInput {
  return { kind: 'huge-batch', data: codec.encode(Array.from({ length: cap }, (_, i) => cheapFrame(r, i))) };
}

/**
 * The inputs a run sends first, whatever its length: one huge batch and one nesting bomb, so a
 * short run on a loaded machine (few inputs) still has both rare kinds.
 */
export function openingInputs(r: Rand, cap: number): FuzzInput[] {
  return [hugeBatch(r, cap), { kind: 'nesting', data: nesting(r) }];
}

/** A msgpack array header for `n` elements. */
function header(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  return Uint8Array.of(0xdc, n >> 8, n & 0xff);
}
