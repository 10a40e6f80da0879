// Seeded random AMQP 0-9-1 values for the codec tests: method arguments of every wire type, typed
// field tables of any set of tags, basic properties; and a reader of coded errors.
import { CeleriacError } from '../../shared/errors.js';
import { FieldTable, type FieldEntry, type FieldType, type FieldValue } from '../../server/amqp/codec/field-table.js';
import { BASIC_PROPERTIES, type BasicProperties, type MethodInput, type MethodSpec, type WireType } from '../../server/amqp/codec/spec.js';

export type Rand = () => number;

/** Every field type tag (RabbitMQ's errata table plus the spec's U and L). */
export const ALL_TAGS: readonly FieldType[] = ['t', 'b', 'B', 's', 'u', 'U', 'I', 'i', 'l', 'L', 'f', 'd', 'D', 'T', 'S', 'x', 'A', 'F', 'V'];

export const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const ALPHABET = ['a', 'b', 'z', 'Q', '0', '.', '#', '*', '-', '_', ' ', 'é', 'ß', '日', '🥕', '\u0001', '"'];

/** A string of valid UTF-8 whose bytes fit `maxBytes`. */
export function randomString(r: Rand, maxBytes = 255): string {
  const n = int(r, 0, r() < 0.1 ? 120 : 12);
  let s = '';
  for (let i = 0; i < n; i++) {
    const next = s + pick(r, ALPHABET);
    if (Buffer.byteLength(next) > maxBytes) break;
    s = next;
  }
  return s;
}

export function randomBytes(r: Rand, max = 40): Buffer {
  const b = Buffer.alloc(int(r, 0, max));
  for (let i = 0; i < b.length; i++) b[i] = int(r, 0, 255);
  return b;
}

/** A random 64-bit value of the tag's signedness: mostly safe numbers, sometimes bigints past 2^53. */
function random64(r: Rand, signed: boolean): number | bigint {
  const roll = r();
  if (roll < 0.7) {
    const n = int(r, 0, Number.MAX_SAFE_INTEGER);
    return signed && r() < 0.5 ? -n : n;
  }
  if (roll < 0.8) return pick(r, signed ? [0, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER] : [0, 1, Number.MAX_SAFE_INTEGER]);
  const hi = BigInt(int(r, 0x200000, 0x7fffffff));
  const big = (hi << 32n) | BigInt(int(r, 0, 0xffffffff));
  return signed && r() < 0.5 ? -big : signed ? big : big * 2n;
}

/** A typed value of `tag`; nested arrays and tables draw from `tags`, at most `depth` more levels. */
export function randomValue(r: Rand, tag: FieldType, tags: readonly FieldType[], depth: number): FieldValue {
  const leafTags = tags.filter((t) => t !== 'A' && t !== 'F');
  if ((tag === 'A' || tag === 'F') && depth <= 0) tag = pick(r, leafTags);
  switch (tag) {
    case 't': return { type: 't', value: r() < 0.5 };
    case 'b': return { type: 'b', value: int(r, -128, 127) };
    case 'B': return { type: 'B', value: int(r, 0, 255) };
    case 's': case 'U': return { type: tag, value: int(r, -32768, 32767) };
    case 'u': return { type: 'u', value: int(r, 0, 65535) };
    case 'I': return { type: 'I', value: int(r, -0x80000000, 0x7fffffff) };
    case 'i': return { type: 'i', value: int(r, 0, 0xffffffff) };
    case 'l': case 'L': return { type: tag, value: random64(r, true) };
    case 'T': return { type: 'T', value: random64(r, false) };
    case 'f': return { type: 'f', value: Math.fround((r() - 0.5) * 10 ** int(r, -5, 30)) };
    case 'd': return { type: 'd', value: pick(r, [0, -0.5, 1e300, -1e-300, (r() - 0.5) * 1e6, int(r, -1e9, 1e9)]) };
    case 'D': return { type: 'D', scale: int(r, 0, 255), value: int(r, 0, 0xffffffff) };
    case 'S': return { type: 'S', value: r() < 0.5 ? Buffer.from(randomString(r, 1000)) : randomBytes(r) };
    case 'x': return { type: 'x', value: randomBytes(r) };
    case 'V': return { type: 'V' };
    case 'A': {
      const items: FieldValue[] = [];
      for (let i = int(r, 0, 4); i > 0; i--) items.push(randomValue(r, pick(r, tags), tags, depth - 1));
      return { type: 'A', value: items };
    }
    case 'F': return { type: 'F', value: randomTable(r, tags, depth - 1) };
  }
}

/** Random typed entries (keys may repeat, as the wire allows). */
export function randomEntries(r: Rand, tags: readonly FieldType[], depth: number, size = int(r, 0, 6)): FieldEntry[] {
  const out: FieldEntry[] = [];
  for (let i = 0; i < size; i++) out.push([r() < 0.1 && out.length > 0 ? out[0]![0] : randomString(r, 40), randomValue(r, pick(r, tags), tags, depth)]);
  return out;
}

export function randomTable(r: Rand, tags: readonly FieldType[] = ALL_TAGS, depth = 2): FieldTable {
  return FieldTable.fromEntries(randomEntries(r, tags, depth));
}

/** A random value of a method argument's wire type (bit, octet, ..., table). */
export function randomArg(r: Rand, type: WireType, tags: readonly FieldType[]): unknown {
  switch (type) {
    case 'bit': return r() < 0.5;
    case 'octet': return int(r, 0, 255);
    case 'short': return pick(r, [0, 1, 65535, int(r, 0, 65535)]);
    case 'long': return pick(r, [0, 0xffffffff, int(r, 0, 0xffffffff)]);
    case 'longlong': case 'timestamp': return pick(r, [0, 1, Number.MAX_SAFE_INTEGER, int(r, 0, 2 ** 40)]);
    case 'shortstr': return randomString(r);
    case 'longstr': return r() < 0.5 ? Buffer.from(randomString(r, 1000)) : randomBytes(r);
    case 'table': return r() < 0.2 ? FieldTable.EMPTY : randomTable(r, tags, 2);
  }
}

/** A method of `spec` with every argument given, random. */
export function randomMethod(r: Rand, spec: MethodSpec, tags: readonly FieldType[] = ALL_TAGS): MethodInput {
  const m: Record<string, unknown> = { name: spec.name };
  for (const a of spec.args) m[a.name] = randomArg(r, a.type, tags);
  return m as unknown as MethodInput;
}

/** Random basic properties: each present with probability 1/2. */
export function randomProperties(r: Rand, tags: readonly FieldType[] = ALL_TAGS): BasicProperties {
  const p: Record<string, unknown> = {};
  for (const spec of BASIC_PROPERTIES) {
    if (r() < 0.5) continue;
    p[spec.name] = spec.type === 'timestamp' ? random64(r, false) : randomArg(r, spec.type, tags);
  }
  return p as BasicProperties;
}

/** The code of the CeleriacError `fn` throws; 'none' when it returns; the error's text when it is not a CeleriacError. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof CeleriacError ? err.code : `not a CeleriacError: ${String(err)}`;
  }
  return 'none';
}

/** Typed entries with nested tables replaced by their entries, so tap's strictSame compares contents. */
export function comparable(entries: readonly FieldEntry[]): unknown {
  const value = (v: FieldValue): unknown => {
    if (v.type === 'F') return { type: 'F', value: comparable(v.value.entries()) };
    if (v.type === 'A') return { type: 'A', value: v.value.map(value) };
    if (v.type === 'S' || v.type === 'x') return { type: v.type, value: v.value.toString('hex') };
    if (v.type === 'f' || v.type === 'd') return { type: v.type, value: Object.is(v.value, -0) ? '-0' : v.value };
    return v;
  };
  return entries.map(([k, v]) => [k, value(v)]);
}

/** A method or properties object with tables and buffers made comparable. */
export function comparableFields(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v instanceof FieldTable) out[k] = { table: v.raw.toString('hex') };
    else if (Buffer.isBuffer(v)) out[k] = { bytes: v.toString('hex') };
    else if (v !== undefined) out[k] = v;
  }
  return out;
}
