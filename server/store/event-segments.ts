// The event log's files: chunks (event-chunk.ts) appended to segment files in a directory beside
// the data file, `<data file>-events/`, one write per group commit. Appending costs a write of the
// chunk's bytes, once: no B-tree, no WAL frame and checkpoint copy of each page as in SQLite.
//
// A segment holds records, one per chunk: magic u32 ('CEV1'), payload length u32, CRC-32 of the
// payload u32, the payload (the chunk). Segments are named by their sequence number and filled to
// about SEGMENT_BYTES; retention removes whole segments once all their chunks are pruned. At open
// every segment is read back: a segment is cut at its first record that is not whole and intact
// (what a kill -9 in the middle of a write, or power lost before an fsync, can leave at the end).
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from './crc32.js';

/** Bytes after which a new segment is started (a chunk never spans two). */
export const SEGMENT_BYTES = 16 * 1024 * 1024;
const RECORD_HEADER = 12;
const MAGIC = 0x31564543; // 'CEV1' little-endian
const NAME = /^(\d{12})\.events$/;

const nameOf = (seq: number): string => `${String(seq).padStart(12, '0')}.events`;

/** Where a chunk's payload lies. */
export interface ChunkPlace {
  segment: number;
  offset: number;
  length: number;
}

/** How the event log's chunks are kept: in segment files, or in memory for a ':memory:' store. */
export interface ChunkFiles {
  /** Stores a chunk's bytes (valid during the call only); throws having stored nothing when it cannot. */
  append(bytes: Uint8Array): ChunkPlace;
  /** Takes back the chunk appended last (its commit failed). */
  undo(place: ChunkPlace): void;
  /** The bytes of a stored chunk. */
  read(place: ChunkPlace): Uint8Array;
  /** Drops every segment before `segment` (all their chunks were pruned). */
  removeBefore(segment: number): void;
  /** The number of the oldest segment held, or null when none is. */
  oldestSegment(): number | null;
  /** Bytes held. */
  sizeBytes(): number;
  close(): void;
}

/** Options of {@link EventSegments}. */
export interface EventSegmentOptions {
  /**
   * Runs fsyncs of these descriptors off the event loop ('full' durability; the store's fsync
   * thread), in the order asked, then calls `done`. With it, a segment that fills up is fsynced
   * then, and syncTargets() hands out the one being written; without it nothing is fsynced.
   */
  fsync?: (fds: readonly number[], done: (err: Error | null) => void) => void;
  /** Bytes after which a segment is full. Default SEGMENT_BYTES. */
  segmentBytes?: number;
}

interface Segment {
  seq: number;
  size: number;
}

/** The segment files of one data file. */
export class EventSegments implements ChunkFiles {
  private readonly segments: Segment[] = [];
  /** The segment appended to, open for reading and writing; null until the first append (or after it was removed). */
  private active: { seq: number; fd: number } | null = null;
  /** The active segment was written since the last syncTargets(). */
  private dirty = false;
  /** An older segment open for reading (reads come in runs over one segment: a window, a rebuild). */
  private reader: { seq: number; fd: number } | null = null;
  /**
   * Holds on each open descriptor of a segment written to: being the active one, and each fsync in
   * flight that names it. A descriptor is closed when its last hold goes (an fsync thread must
   * never see its number reused by another file).
   */
  private readonly holds = new Map<number, number>();
  /** The first failed fsync of a filled segment, reported with the next sync (see takeError()). */
  private syncError: Error | null = null;
  private closed = false;
  private readonly segmentBytes: number;
  private bytes = 0;

  /**
   * Opens (creating it if needed) the directory `dir` and reads every segment back, oldest first:
   * `chunk` is called with each intact chunk and its place, in file order.
   */
  constructor(private readonly dir: string, private readonly options: EventSegmentOptions, chunk: (bytes: Uint8Array, place: ChunkPlace) => void) {
    this.segmentBytes = options.segmentBytes ?? SEGMENT_BYTES;
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir);
      if (options.fsync !== undefined) syncDir(path.dirname(dir));
    }
    const seqs = fs.readdirSync(dir).flatMap((f) => {
      const m = NAME.exec(f);
      return m === null ? [] : [Number(m[1])];
    }).sort((a, b) => a - b);
    for (const seq of seqs) {
      const size = this.recover(seq, chunk);
      this.segments.push({ seq, size });
      this.bytes += size;
    }
    const last = this.segments[this.segments.length - 1];
    if (last !== undefined && last.size < this.segmentBytes) this.activate(last.seq, fs.openSync(this.file(last.seq), 'r+'));
  }

  append(bytes: Uint8Array): ChunkPlace {
    const total = RECORD_HEADER + bytes.byteLength;
    let seg = this.segments[this.segments.length - 1];
    if (this.active === null || seg === undefined || (seg.size > 0 && seg.size + total > this.segmentBytes)) seg = this.startSegment();
    const fd = this.active!.fd;
    const header = new Uint8Array(RECORD_HEADER);
    const v = new DataView(header.buffer);
    v.setUint32(0, MAGIC, true);
    v.setUint32(4, bytes.byteLength, true);
    v.setUint32(8, crc32(bytes), true);
    const at = seg.size;
    let written: number;
    try {
      written = fs.writevSync(fd, [header, bytes], at);
    } catch (err) {
      this.cutBack(seg, at);
      throw err;
    }
    if (written !== total) {
      this.cutBack(seg, at);
      throw new Error(`event segment ${this.file(seg.seq)}: short write (${written} of ${total} bytes)`);
    }
    seg.size += total;
    this.bytes += total;
    this.dirty = true;
    return { segment: seg.seq, offset: at + RECORD_HEADER, length: bytes.byteLength };
  }

  undo(place: ChunkPlace): void {
    const seg = this.segments[this.segments.length - 1];
    if (seg === undefined || seg.seq !== place.segment || this.active?.seq !== place.segment) return;
    const at = place.offset - RECORD_HEADER;
    this.bytes -= seg.size - at;
    this.cutBack(seg, at);
  }

  read(place: ChunkPlace): Uint8Array {
    const out = Buffer.allocUnsafe(place.length);
    const n = fs.readSync(this.readerOf(place.segment), out, 0, place.length, place.offset);
    if (n !== place.length) throw new Error(`event segment ${this.file(place.segment)}: ${n} of ${place.length} bytes read at ${place.offset}`);
    return out;
  }

  /** A descriptor to read segment `seq` with: the active one's, or one kept open for the segment read last. */
  private readerOf(seq: number): number {
    if (this.active?.seq === seq) return this.active.fd;
    if (this.reader?.seq === seq) return this.reader.fd;
    this.closeReader();
    const fd = fs.openSync(this.file(seq), 'r');
    this.reader = { seq, fd };
    return fd;
  }

  private closeReader(): void {
    if (this.reader !== null) this.closeQuietly(this.reader.fd);
    this.reader = null;
  }

  removeBefore(segment: number): void {
    if (this.reader !== null && this.reader.seq < segment) this.closeReader();
    while (this.segments.length > 0 && this.segments[0]!.seq < segment) {
      const seg = this.segments.shift()!;
      if (this.active?.seq === seg.seq) this.deactivate();
      fs.rmSync(this.file(seg.seq), { force: true });
      this.bytes -= seg.size;
    }
  }

  oldestSegment(): number | null {
    return this.segments[0]?.seq ?? null;
  }

  sizeBytes(): number {
    return this.bytes;
  }

  /**
   * Descriptors to fsync so that everything appended so far is durable: the active segment when it
   * was written since the last call (a filled one was fsynced as it filled, ahead of this). Pass
   * them to synced() once their fsync has ended.
   */
  syncTargets(): number[] {
    if (!this.dirty || this.active === null) return [];
    this.dirty = false;
    this.hold(this.active.fd);
    return [this.active.fd];
  }

  /** The fsync of these descriptors (from syncTargets()) has ended. */
  synced(fds: readonly number[]): void {
    for (const fd of fds) this.unhold(fd);
  }

  /** The failed fsync of a filled segment since the last call, if any (the store reports it with its next sync). */
  takeError(): Error | null {
    const err = this.syncError;
    this.syncError = null;
    return err;
  }

  /** fsyncs everything appended, blocking (at close and with topology changes). */
  syncNow(): void {
    for (const fd of this.syncTargets()) {
      try {
        fs.fsyncSync(fd);
      } finally {
        this.synced([fd]);
      }
    }
  }

  close(): void {
    this.closed = true;
    this.closeReader();
    this.active = null;
    for (const fd of this.holds.keys()) this.closeQuietly(fd);
    this.holds.clear();
  }

  private file(seq: number): string {
    return path.join(this.dir, nameOf(seq));
  }

  private activate(seq: number, fd: number): void {
    this.active = { seq, fd };
    this.dirty = false;
    this.hold(fd);
  }

  /** The active segment is no longer appended to (filled, cut off after a failed write, or removed). */
  private deactivate(): void {
    const fd = this.active!.fd;
    this.active = null;
    this.dirty = false;
    this.unhold(fd);
  }

  private hold(fd: number): void {
    this.holds.set(fd, (this.holds.get(fd) ?? 0) + 1);
  }

  private unhold(fd: number): void {
    // After close() every descriptor is closed already: a late callback must not close a number reused since.
    if (this.closed) return;
    const n = (this.holds.get(fd) ?? 0) - 1;
    if (n > 0) {
      this.holds.set(fd, n);
      return;
    }
    this.holds.delete(fd);
    this.closeQuietly(fd);
  }

  /**
   * Starts the next segment and makes it the active one. The one filled, when written since its
   * last fsync, is fsynced now (off the event loop, ahead of any later sync), then closed.
   */
  private startSegment(): Segment {
    const last = this.segments[this.segments.length - 1];
    const seq = (last?.seq ?? 0) + 1;
    const fd = fs.openSync(this.file(seq), 'w+');
    const fsync = this.options.fsync;
    // Its directory entry must be durable before anything in it is reported so.
    if (fsync !== undefined) syncDir(this.dir);
    if (this.active !== null) {
      const filled = this.active.fd;
      if (fsync !== undefined && this.dirty) {
        this.hold(filled);
        fsync([filled], (err) => {
          if (err !== null && this.syncError === null) this.syncError = err;
          this.unhold(filled);
        });
      }
      this.deactivate();
    }
    this.activate(seq, fd);
    const seg = { seq, size: 0 };
    this.segments.push(seg);
    return seg;
  }

  /**
   * Cuts the active segment back to `size` after a failed write. When even that fails, the segment
   * is left (a reopen cuts it at the bad record) and the next append starts a new one.
   */
  private cutBack(seg: Segment, size: number): void {
    try {
      fs.ftruncateSync(this.active!.fd, size);
      seg.size = size;
    } catch {
      this.deactivate();
    }
  }

  private closeQuietly(fd: number): void {
    try {
      fs.closeSync(fd);
    } catch {
      // Closing a descriptor we own cannot usefully fail; nothing to do if it does.
    }
  }

  /** Reads segment `seq`, calling `chunk` per intact record; cuts the file at the first bad one. Returns its size. */
  private recover(seq: number, chunk: (bytes: Uint8Array, place: ChunkPlace) => void): number {
    const file = this.file(seq);
    const data = fs.readFileSync(file);
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let at = 0;
    while (at + RECORD_HEADER <= data.byteLength) {
      if (v.getUint32(at, true) !== MAGIC) break;
      const length = v.getUint32(at + 4, true);
      if (at + RECORD_HEADER + length > data.byteLength) break;
      const bytes = data.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length);
      if (crc32(bytes) !== v.getUint32(at + 8, true)) break;
      chunk(bytes, { segment: seq, offset: at + RECORD_HEADER, length });
      at += RECORD_HEADER + length;
    }
    if (at < data.byteLength) fs.truncateSync(file, at);
    return at;
  }
}

/** fsync of a directory (its entries), blocking: after a file in it was created. */
function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Chunks kept in memory (a ':memory:' store): a segment per chunk. */
export class MemoryChunks implements ChunkFiles {
  private readonly chunks = new Map<number, Uint8Array>();
  private seq = 0;
  private bytes = 0;

  append(bytes: Uint8Array): ChunkPlace {
    const seq = ++this.seq;
    // A copy: the chunk builder reuses its buffer.
    this.chunks.set(seq, bytes.slice());
    this.bytes += bytes.byteLength;
    return { segment: seq, offset: 0, length: bytes.byteLength };
  }

  undo(place: ChunkPlace): void {
    const bytes = this.chunks.get(place.segment);
    if (bytes === undefined) return;
    this.chunks.delete(place.segment);
    this.bytes -= bytes.byteLength;
  }

  read(place: ChunkPlace): Uint8Array {
    const bytes = this.chunks.get(place.segment);
    if (bytes === undefined) throw new Error(`event chunk ${place.segment} is not held`);
    return bytes;
  }

  removeBefore(segment: number): void {
    for (const [seq, bytes] of this.chunks) {
      if (seq >= segment) break;
      this.chunks.delete(seq);
      this.bytes -= bytes.byteLength;
    }
  }

  oldestSegment(): number | null {
    for (const seq of this.chunks.keys()) return seq;
    return null;
  }

  sizeBytes(): number {
    return this.bytes;
  }

  close(): void {
    this.chunks.clear();
  }
}
