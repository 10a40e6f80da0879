// Strings read from event bodies that repeat from one event to the next (event types, worker
// hostnames, task names): the same string object for the same bytes, from a small cache, so
// storing an event builds no string for them once they were seen.

const SIZE = 256; // a power of two
const MASK = SIZE - 1;

/**
 * FNV-1a of bytes [start, end) of `b`, cut to 30 bits: a small integer for V8 (a full 32-bit
 * value would be a heap number, allocated per call where the hash is passed on).
 */
export function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let k = start; k < end; k++) h = Math.imul(h ^ b[k]!, 0x01000193);
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
