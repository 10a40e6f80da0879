// The structural scan and the frame-by-frame reader without sockets: the scan finds where any
// msgpack value ends (seeded random values), refuses truncation and nesting bombs before a decoder
// sees them; the reader knows a message's frame count up front and fails a malformed frame only
// when its turn comes, after the frames before it.
import t from 'tap';
import { Encoder } from '@msgpack/msgpack';
import { FrameCodec } from '../../shared/codec.js';
import { CeleriacError } from '../../shared/errors.js';
import type { Frame } from '../../shared/frames.js';
import { skipValue } from '../../shared/msgpack-scan.js';
import { OP } from '../../shared/opcodes.js';
import { rng } from '../helpers/rng.js';

const raw = new Encoder();
const codec = new FrameCodec();
const limits = { maxDepth: 16, maxLength: 100_000 };

/** A random msgpack-able value reaching every header size (fix, 8, 16 and 32 bit) but the biggest containers. */
function randomValue(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 4 ? 8 : 10));
  const len = (): number => [0, 1, 15, 16, 31, 32, 255, 256, 65_535, 65_536][Math.floor(r() * 10)]!;
  switch (pick) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return Math.floor((r() - 0.5) * 2 ** (Math.floor(r() * 53)));
    case 3: return r() * 1e6;
    case 4: return 'x'.repeat(len());
    case 5: return new Uint8Array(len());
    case 6: return Math.fround(r());
    case 7: return -Math.floor(r() * 40);
    case 8: return Array.from({ length: Math.floor(r() * 20) }, () => randomValue(r, depth + 1));
    default: return Object.fromEntries(Array.from({ length: Math.floor(r() * 20) }, (_, i) => [`k${i}`, randomValue(r, depth + 1)]));
  }
}

function errorOf(fn: () => unknown): CeleriacError | undefined {
  try { fn(); } catch (err) { return err as CeleriacError; }
  return undefined;
}

t.test('the scan ends exactly where the encoder ended, for seeded random values', async (t) => {
  const r = rng(Number(process.env.SCAN_SEED ?? 99));
  let wrong = 0;
  for (let i = 0; i < 400; i++) {
    const bytes = raw.encode([randomValue(r, 0), 'tail']);
    const first = 1; // after the fixarray header
    const end = skipValue(bytes, first, limits);
    if (skipValue(bytes, end, limits) !== bytes.length) wrong++;
    if (skipValue(bytes, 0, limits) !== bytes.length) wrong++;
  }
  t.equal(wrong, 0, 'every value skipped to its exact end');
  // The 32-bit lengths and the extension kinds the encoder does not produce here.
  const big = Buffer.concat([Uint8Array.of(0xc6, 0, 1, 0, 0), new Uint8Array(65_536)]);
  t.equal(skipValue(big, 0, limits), big.length, 'bin 32');
  t.equal(skipValue(Uint8Array.of(0xd4, 1, 2), 0, limits), 3, 'fixext 1');
  t.equal(skipValue(Uint8Array.of(0xc7, 2, 1, 9, 9), 0, limits), 5, 'ext 8');
});

t.test('truncated values and the byte 0xc1 are malformed', async (t) => {
  const bytes = raw.encode({ a: [1, 'two', new Uint8Array(300), { b: 2 ** 40 }], c: -1.5 });
  let wrong = 0;
  for (let n = 0; n < bytes.length; n++) if (errorOf(() => skipValue(bytes.subarray(0, n), 0, limits))?.code !== 'ERR_MALFORMED_FRAME') wrong++;
  t.equal(wrong, 0, `all ${bytes.length} prefixes refused`);
  t.equal(errorOf(() => skipValue(Uint8Array.of(0x92, 0x01, 0xc1), 0, limits))?.code, 'ERR_MALFORMED_FRAME');
});

t.test('a nesting bomb is refused by the scan, before any decoder builds it', async (t) => {
  // 4 MiB of one-element arrays: a decoder would build four million nested arrays first.
  const bomb = new Uint8Array(4 * 1024 * 1024).fill(0x91);
  const err = errorOf(() => codec.decode(bomb));
  t.equal(err?.code, 'ERR_MALFORMED_FRAME');
  t.match(err?.message, /nesting deeper than/, 'refused for its depth');
  t.equal(errorOf(() => skipValue(bomb, 0, limits))?.details?.['offset'], limits.maxDepth, 'at the first container past the limit');
  const wide = raw.encode(Array.from({ length: 20 }, () => 0));
  t.equal(errorOf(() => skipValue(wide, 0, { maxDepth: 4, maxLength: 19 }))?.code, 'ERR_MALFORMED_FRAME', 'an array longer than maxLength');
});

t.test('the reader counts frames up front and hands them over one by one', async (t) => {
  const frames: Frame[] = [{ op: OP.heartbeat }, { op: OP.ok, id: 1 }, { op: OP.purgeQueue, id: 2, name: 'q' }];
  const reader = codec.reader(codec.encode(frames));
  t.equal(reader.count, 3);
  t.same([reader.next(), reader.next(), reader.next(), reader.next()], [...frames, undefined]);
  const single = codec.reader(codec.encode({ op: OP.ok, id: 9 }));
  t.equal(single.count, 1, 'a message that is one frame');
  t.same(single.next(), { op: OP.ok, id: 9 });
  t.equal(codec.reader(raw.encode(Array.from({ length: 70_000 }, () => [5]))).count, 70_000, 'an array 32 header');
});

t.test('a malformed frame fails when its turn comes; the frames before it are read', async (t) => {
  const good = codec.encode({ op: OP.heartbeat });
  const bad = raw.encode([OP.purgeQueue, 'no id']);
  const bytes = Buffer.concat([Uint8Array.of(0x93), good, bad, good]);
  const reader = codec.reader(bytes);
  t.equal(reader.count, 3);
  t.same(reader.next(), { op: OP.heartbeat }, 'the frame before it');
  t.equal(errorOf(() => reader.next())?.code, 'ERR_MALFORMED_FRAME', 'then the malformed one');
  t.same(reader.next(), { op: OP.heartbeat }, 'a frame after a malformed but well-delimited one can still be read');

  const cut = codec.reader(Buffer.concat([Uint8Array.of(0x93), good, Uint8Array.of(0xc1), good]));
  t.same(cut.next(), { op: OP.heartbeat });
  t.equal(errorOf(() => cut.next())?.code, 'ERR_MALFORMED_FRAME', 'bytes that are not msgpack');
  t.equal(cut.next(), undefined, 'nothing can be found after them');

  const trailing = codec.reader(Buffer.concat([codec.encode([{ op: OP.heartbeat }, { op: OP.heartbeat }]), Uint8Array.of(0x01)]));
  t.same([trailing.next(), trailing.next()], [{ op: OP.heartbeat }, { op: OP.heartbeat }], 'every frame first');
  t.equal(errorOf(() => trailing.next())?.code, 'ERR_MALFORMED_FRAME', 'then the bytes left over');
  t.equal(trailing.next(), undefined);

  for (const [name, bytes] of [['empty', new Uint8Array(0)], ['not an array', raw.encode('x')], ['an empty array', raw.encode([])]] as const) {
    t.equal(errorOf(() => codec.reader(bytes))?.code, 'ERR_MALFORMED_FRAME', `${name}: refused before any frame`);
  }
});
