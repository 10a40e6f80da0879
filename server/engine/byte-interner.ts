// Strings read from event bodies that repeat from one event to the next (event types, worker
// hostnames, task names): the same string object for the same bytes, from a small cache, so
// storing an event builds no string for them once they were seen.

const SIZE = 256; // a power of two
const MASK = SIZE - 1;

/**
 * A seed per process: task ids come from clients, and a fixed hash would let one make up ids that
 * all fall in one place of the task index's table.
 */
const SEED = (Math.random() * 0x100000000) | 0;

/**
 * A hash of bytes [start, end) of `b` (MurmurHash3's 32-bit mixing, four bytes a step), cut to 30
 * bits: a small integer for V8 (a full 32-bit value would be a heap number where it is passed on).
 */
export function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = SEED ^ (end - start);
  let k = start;
  for (; k + 4 <= end; k += 4) {
    let w = b[k]! | (b[k + 1]! << 8) | (b[k + 2]! << 16) | (b[k + 3]! << 24);
    w = Math.imul(w, 0xcc9e2d51);
    w = (w << 15) | (w >>> 17);
    h ^= Math.imul(w, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let w = 0;
  for (let shift = 0; k < end; k++, shift += 8) w |= b[k]! << shift;
  h ^= Math.imul(((Math.imul(w, 0xcc9e2d51) << 15) | (Math.imul(w, 0xcc9e2d51) >>> 17)), 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x3fffffff;
}

/** True when `key` is bytes [start, start + n) of `b`. */
function sameBytes(key: Uint8Array, b: Uint8Array, start: number, n: number): boolean {
  if (key.length !== n) return false;
  let k = 0;
  while (k < n && key[k] === b[start + k]) k++;
  return k === n;
}

/**
 * A direct-mapped cache from ASCII bytes to their string: a miss decodes the bytes and takes the
 * place of what was there. Bounded (SIZE entries), so a sender of ever new names costs what it
 * did without the cache, a decode per value, and no more.
 */
export class ByteInterner {
  private readonly keys: (Uint8Array | null)[] = new Array<Uint8Array | null>(SIZE).fill(null);
  private readonly strings: string[] = new Array<string>(SIZE).fill('');

  // The value interned last: a worker's events come in runs, with one hostname and often one task name.
  private lastKey: Uint8Array = new Uint8Array(0);
  private lastString = '';

  /** The string of ASCII bytes [start, end) of `b`. */
  intern(b: Uint8Array, start: number, end: number): string {
    const n = end - start;
    if (sameBytes(this.lastKey, b, start, n)) return this.lastString;
    const slot = hashBytes(b, start, end) & MASK;
    const key = this.keys[slot];
    let s: string;
    if (key !== null && key !== undefined && sameBytes(key, b, start, n)) {
      s = this.strings[slot]!;
    } else {
      s = '';
      for (let k = start; k < end; k++) s += String.fromCharCode(b[k]!);
      this.keys[slot] = b.slice(start, end);
      this.strings[slot] = s;
    }
    this.lastKey = this.keys[slot]!;
    this.lastString = s;
    return s;
  }
}
