// Writes msgpack values into one growing buffer, piece by piece: what lets the codec write a frame
// from parts it already holds as bytes (a message's properties as their publisher encoded them)
// instead of building an array and encoding every value of it again.

const textEncoder = new TextEncoder();

/**
 * A reusable msgpack byte writer. Every write picks the smallest form, as @msgpack/msgpack's
 * Encoder does, so what it writes is byte for byte what the Encoder writes for the same values.
 */
export class MsgpackWriter {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initialSize = 4096) {
    this.buf = new Uint8Array(initialSize);
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
   * A string. Names on the hot path (consumer tags, exchanges, routing keys) are ASCII: written a
   * char a byte with no encoder call; the first other char starts the string over through UTF-8.
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
        this.utf8(s);
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  private utf8(s: string): void {
    const bytes = textEncoder.encode(s);
    this.room(5 + bytes.length);
    this.strHeader(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
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

  /** Bytes that already are one or more whole msgpack values, copied as they are. */
  raw(b: Uint8Array): void {
    this.room(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }
}
