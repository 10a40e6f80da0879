// The byte-level pieces every AMQP 0-9-1 encoder and decoder shares: a growable output buffer that
// hands out finished frames as views of one slab, and a bounds-checked reader that fails with a coded error.
import { CeleriacError, fail, type ErrorCode } from '../../../shared/errors.js';

const TWO_32 = 4294967296;

type Utf8Slicer = Buffer & { utf8Slice(start: number, end: number): string };
/**
 * Buffer's own UTF-8 slicer, what toString('utf8', start, end) calls after checking its arguments:
 * a third faster on the short strings of every frame. It is on Buffer.prototype in every Node
 * version, undocumented; toString stands in should it ever go.
 */
const HAS_UTF8_SLICE = typeof (Buffer.prototype as Partial<Utf8Slicer>).utf8Slice === 'function';

/** The UTF-8 text of bytes [start, end) of `buf` (bounds already checked by the caller). */
export function utf8(buf: Buffer, start: number, end: number): string {
  return HAS_UTF8_SLICE ? (buf as Utf8Slicer).utf8Slice(start, end) : buf.toString('utf8', start, end);
}

/**
 * A growable output buffer. Encoders write at `pos` after `ensure(n)`; `take()` hands out the
 * bytes written since the last take as a view of the current slab and goes on writing after them,
 * so many small frames share one allocation (as Node's Buffer pool does) and no view handed out is
 * ever written again. `buf` and `pos` are public so the hot encoders can write without a call per byte.
 */
export class ByteWriter {
  /** The current slab; bytes [start, pos) are written and not yet taken. */
  buf: Buffer;
  /** Where the next byte goes. */
  pos = 0;
  private start = 0;

  /** @param slabSize bytes per slab; a write larger than one gets a buffer of its own. */
  constructor(private readonly slabSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(slabSize);
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.pos - this.start;
  }

  /** Makes room for `n` more bytes, moving the pending bytes to a fresh slab when this one is full. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const pending = this.pos - this.start;
    // Doubling when the caller lets bytes pile up keeps a long run of writes linear.
    const next = Buffer.allocUnsafe(Math.max(this.slabSize, pending + n, 2 * pending));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = pending;
  }

  /** A position that stays valid when ensure() moves the pending bytes to a new slab (see offsetOf). */
  mark(): number {
    return this.pos - this.start;
  }

  /** Where a mark is in `buf` now. */
  offsetOf(mark: number): number {
    return this.start + mark;
  }

  /**
   * Reserves 4 bytes for a length written later by patchLength; returns a mark that stays valid
   * when ensure() moves the pending bytes to a new slab.
   */
  reserveLength(): number {
    this.ensure(4);
    this.pos += 4;
    return this.pos - this.start;
  }

  /** Writes, into the 4 bytes reserved at `mark`, how many bytes were written after them. */
  patchLength(mark: number): void {
    const at = this.start + mark;
    this.buf.writeUInt32BE(this.pos - at, at - 4);
  }

  /** The bytes written since the last take (a view: valid for as long as the caller keeps it). */
  take(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return out;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf[this.pos] = v >>> 8;
    this.buf[this.pos + 1] = v & 0xff;
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  /** An unsigned 64-bit integer given as a safe integer or a bigint (range checked by the caller). */
  u64(v: number | bigint): void {
    this.ensure(8);
    if (typeof v === 'bigint') this.buf.writeBigUInt64BE(v, this.pos);
    else {
      this.buf.writeUInt32BE(Math.floor(v / TWO_32), this.pos);
      this.buf.writeUInt32BE(v % TWO_32, this.pos + 4);
    }
    this.pos += 8;
  }

  /** A signed 64-bit integer given as a safe integer or a bigint (range checked by the caller). */
  i64(v: number | bigint): void {
    this.ensure(8);
    if (typeof v === 'bigint') this.buf.writeBigInt64BE(v, this.pos);
    else {
      const hi = Math.floor(v / TWO_32);
      this.buf.writeInt32BE(hi, this.pos);
      this.buf.writeUInt32BE(v - hi * TWO_32, this.pos + 4);
    }
    this.pos += 8;
  }

  /** Raw bytes, as they are. */
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A short string: one length octet and at most 255 bytes of UTF-8 [AMQP 0-9-1 §4.2.5.3]. */
  shortstr(s: string, what: string): void {
    this.ensure(1 + 3 * s.length);
    const buf = this.buf;
    const len = s.length;
    if (len < 256) {
      // Names, tags and keys are nearly always ASCII: copied in a loop they cost half of a write() call.
      const at = this.pos + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at + i] = c;
      }
      if (i === len) {
        buf[this.pos] = len;
        this.pos = at + len;
        return;
      }
    }
    const n = buf.write(s, this.pos + 1, 'utf8');
    if (n > 255) throw fail('ERR_INVALID_ARGUMENT', `${what}: ${n} bytes of UTF-8, more than a short string holds (255)`);
    buf[this.pos] = n;
    this.pos += 1 + n;
  }

  /** A long string: a 32-bit length and the bytes. */
  longstr(b: Uint8Array): void {
    this.ensure(4 + b.length);
    this.buf.writeUInt32BE(b.length, this.pos);
    this.buf.set(b, this.pos + 4);
    this.pos += 4 + b.length;
  }
}

/**
 * Reads the arguments of one method or one content header, bounds-checked: running past `end`
 * throws an ERR_AMQP_FRAME CeleriacError naming `what`, never a RangeError.
 */
export class Reader {
  /**
   * @param what names the method or header in error messages ("basic.consume")
   * @param details facts every error carries (the method's classId and methodId, for connection.close)
   */
  constructor(readonly buf: Buffer, public pos: number, readonly end: number, readonly what: string, readonly details?: Record<string, unknown>) {}

  /** Fails unless `n` more bytes are there. */
  need(n: number, field: string): void {
    if (this.end - this.pos < n) throw this.truncated(field);
  }

  truncated(field: string): CeleriacError {
    return fail('ERR_AMQP_FRAME', `${this.what}: the frame ends inside ${field}`, this.details);
  }

  /** A coded error about this method or header. */
  error(code: ErrorCode, message: string): CeleriacError {
    return fail(code, `${this.what}: ${message}`, this.details);
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** An unsigned 64-bit integer: a number when it is a safe integer, else a bigint. */
  u64(field: string): number | bigint {
    this.need(8, field);
    const v = readU64(this.buf, this.pos);
    this.pos += 8;
    return v;
  }

  shortstr(field: string): string {
    const n = this.u8(field);
    this.need(n, field);
    const s = n === 0 ? '' : utf8(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** A long string's bytes, as a view of the input (no copy). */
  longstr(field: string): Buffer {
    const n = this.u32(field);
    this.need(n, field);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/** An unsigned 64-bit big-endian integer at `at`: a number when safe, else a bigint. The caller checked bounds. */
export function readU64(buf: Buffer, at: number): number | bigint {
  const hi = buf.readUInt32BE(at);
  // Below 2^21 in the high word the value is below 2^53: exact as a number.
  if (hi < 0x200000) return hi * TWO_32 + buf.readUInt32BE(at + 4);
  return buf.readBigUInt64BE(at);
}

/** A signed 64-bit big-endian integer at `at`: a number when it is a safe integer, else a bigint. */
export function readI64(buf: Buffer, at: number): number | bigint {
  const hi = buf.readInt32BE(at);
  if (hi > -0x200000 && hi < 0x200000) return hi * TWO_32 + buf.readUInt32BE(at + 4);
  const b = buf.readBigInt64BE(at);
  // A bigint of magnitude 2^53 or more never rounds to a safe integer, so this keeps exactness.
  const n = Number(b);
  return Number.isSafeInteger(n) ? n : b;
}
