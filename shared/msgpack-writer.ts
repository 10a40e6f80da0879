// Writes msgpack values into one growing buffer, piece by piece: what lets the codec write a frame
// from parts it already holds as bytes (a message's properties as their publisher encoded them)
// instead of building an array and encoding every value of it again.

/** @msgpack/msgpack's Encoder default: deeper values are refused, as the Encoder refuses them. */
const MAX_DEPTH = 100;

/** Encodes one value as @msgpack/msgpack's Encoder({ ignoreUndefined: true }) does (bytes may be a shared view). */
export type FallbackEncode = (value: unknown) => Uint8Array;

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * A reusable msgpack byte writer. Every write picks the smallest form, as @msgpack/msgpack's
 * Encoder does, so what it writes is byte for byte what the Encoder writes for the same values.
 */
export class MsgpackWriter {
  private buf: Uint8Array;
  /** Over `buf`, for the 8-byte numbers; replaced with it. */
  private dv: DataView;
  private pos = 0;

  /**
   * `fallback` encodes what value() leaves to the Encoder: non-ASCII strings (the Encoder's own
   * UTF-8 rules, lone surrogates included), dates (its timestamp extension), typed arrays other
   * than Uint8Array, class instances, and whatever it refuses.
   */
  constructor(private readonly fallback: FallbackEncode, initialSize = 4096) {
    this.buf = new Uint8Array(initialSize);
    this.dv = new DataView(this.buf.buffer);
  }

  /** Starts over (the bytes taken before stay valid: `take` copies). */
  reset(): void {
    this.pos = 0;
  }

  /** A copy of what was written since the last reset: the caller may keep it while this writer goes on. */
  take(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  private room(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.max(need, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }

  private u16(v: number): void {
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
  }

  private u32(v: number): void {
    this.buf[this.pos++] = v >>> 24;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }

  /** The header of an array of `n` elements; the elements follow. */
  arrayHeader(n: number): void {
    this.room(5);
    if (n < 16) this.buf[this.pos++] = 0x90 | n;
    else if (n < 0x10000) { this.buf[this.pos++] = 0xdc; this.u16(n); }
    else { this.buf[this.pos++] = 0xdd; this.u32(n); }
  }

  nil(): void {
    this.room(1);
    this.buf[this.pos++] = 0xc0;
  }

  bool(v: boolean): void {
    this.room(1);
    this.buf[this.pos++] = v ? 0xc3 : 0xc2;
  }

  /** A non-negative safe integer. */
  uint(v: number): void {
    this.room(9);
    if (v < 0x80) this.buf[this.pos++] = v;
    else if (v < 0x100) { this.buf[this.pos++] = 0xcc; this.buf[this.pos++] = v; }
    else if (v < 0x10000) { this.buf[this.pos++] = 0xcd; this.u16(v); }
    else if (v < 0x100000000) { this.buf[this.pos++] = 0xce; this.u32(v); }
    else {
      this.buf[this.pos++] = 0xcf;
      this.u32(Math.floor(v / 0x100000000));
      this.u32(v >>> 0);
    }
  }

  private strHeader(n: number): void {
    if (n < 32) this.buf[this.pos++] = 0xa0 | n;
    else if (n < 0x100) { this.buf[this.pos++] = 0xd9; this.buf[this.pos++] = n; }
    else if (n < 0x10000) { this.buf[this.pos++] = 0xda; this.u16(n); }
    else { this.buf[this.pos++] = 0xdb; this.u32(n); }
  }

  /**
   * A string. What the protocol carries (names, task ids, header keys) is ASCII: written a char a
   * byte in one pass; the first other char starts the string over through the Encoder's UTF-8.
   */
  str(s: string): void {
    const n = s.length;
    this.room(5 + n);
    const start = this.pos;
    this.strHeader(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = start;
        this.raw(this.fallback(s));
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  /** A binary value (bin 8, 16 or 32). */
  bin(b: Uint8Array): void {
    const n = b.byteLength;
    this.room(5 + n);
    if (n < 0x100) { this.buf[this.pos++] = 0xc4; this.buf[this.pos++] = n; }
    else if (n < 0x10000) { this.buf[this.pos++] = 0xc5; this.u16(n); }
    else { this.buf[this.pos++] = 0xc6; this.u32(n); }
    this.buf.set(b, this.pos);
    this.pos += n;
  }

  /** A signed or fractional number, in the Encoder's smallest form. */
  number(v: number): void {
    if (Number.isSafeInteger(v) && v >= 0) return this.uint(v);
    this.room(9);
    const buf = this.buf;
    if (!Number.isSafeInteger(v)) {
      buf[this.pos++] = 0xcb;
      this.dv.setFloat64(this.pos, v);
      this.pos += 8;
    } else if (v >= -0x20) {
      buf[this.pos++] = 0xe0 | (v + 0x20);
    } else if (v >= -0x80) {
      buf[this.pos++] = 0xd0;
      buf[this.pos++] = v & 0xff;
    } else if (v >= -0x8000) {
      buf[this.pos++] = 0xd1;
      this.u16(v & 0xffff);
    } else if (v >= -0x80000000) {
      buf[this.pos++] = 0xd2;
      this.u32(v >>> 0);
    } else {
      buf[this.pos++] = 0xd3;
      this.dv.setBigInt64(this.pos, BigInt(v));
      this.pos += 8;
    }
  }

  /** The header of a map of `n` entries; the keys and values follow. */
  mapHeader(n: number): void {
    this.room(5);
    if (n < 16) this.buf[this.pos++] = 0x80 | n;
    else if (n < 0x10000) { this.buf[this.pos++] = 0xde; this.u16(n); }
    else { this.buf[this.pos++] = 0xdf; this.u32(n); }
  }

  /**
   * Any value, byte for byte as @msgpack/msgpack's Encoder({ ignoreUndefined: true }) writes it:
   * plain maps (entries whose value is undefined left out), arrays, Uint8Arrays, numbers, booleans,
   * nil and ASCII strings here in one pass; the rest through the fallback. The frames of the
   * protocol are these, so a frame costs no intermediate buffer and no second pass per string.
   */
  value(v: unknown, depth = 0): void {
    if (depth > MAX_DEPTH) throw new Error(`Too deep objects in depth ${depth}`);
    if (v === null || v === undefined) return this.nil();
    switch (typeof v) {
      case 'boolean': return this.bool(v);
      case 'number': return this.number(v);
      case 'string': return this.str(v);
      case 'object': break;
      default: return this.raw(this.fallback(v));
    }
    if (Array.isArray(v)) {
      const n = v.length;
      this.arrayHeader(n);
      for (let i = 0; i < n; i++) this.value(v[i], depth + 1);
    } else if (v instanceof Uint8Array) {
      this.bin(v);
    } else if (isPlainObject(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      let n = 0;
      for (let i = 0; i < keys.length; i++) if (o[keys[i]!] !== undefined) n++;
      this.mapHeader(n);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        const item = o[k];
        if (item === undefined) continue;
        this.str(k);
        this.value(item, depth + 1);
      }
    } else {
      this.raw(this.fallback(v));
    }
  }

  /** Bytes that already are one or more whole msgpack values, copied as they are. */
  raw(b: Uint8Array): void {
    this.room(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }
}
