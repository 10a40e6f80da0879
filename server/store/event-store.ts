// The store's side of the event log: a directory in memory of the chunks kept (first and last id,
// storing time of the last event, where its bytes are), over the chunk files (event-segments.ts).
// Reads decode the chunks of their window; retention takes whole chunks, oldest first, once every
// event of one is beyond a bound, and drops a segment file once all its chunks are gone. The
// highest id pruned is kept in the SQLite file (meta.max_event_id), so ids keep increasing when
// every chunk was pruned; the directory is rebuilt from the segments at open.
import { chunkHeader, decodeChunk, type EventChunk } from './event-chunk.js';
import type { ChunkFiles, ChunkPlace } from './event-segments.js';
import type { EventLogQuery, EventPruneResult, StoredEvent } from './store.js';

const INITIAL_CHUNKS = 256;

function grown<T extends Float64Array | Int32Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

/** Where the highest pruned id is kept (the SQLite file's meta row). */
export interface PrunedMark {
  read(): number;
  /** Raises it to `upTo` (committed, not necessarily durable yet). */
  raise(upTo: number): void;
  /** Makes the raised mark durable: done before a segment file goes, so a restart never finds fewer ids than were handed out. */
  sync(): void;
}

/** The chunks of the event log. */
export class EventStore {
  // Chunk i (head <= i < count) in columns: its ids, the storing time of its last event, where it is.
  private head = 0;
  private count = 0;
  private firstId = new Float64Array(INITIAL_CHUNKS);
  private lastId = new Float64Array(INITIAL_CHUNKS);
  private lastAt = new Float64Array(INITIAL_CHUNKS);
  private segment = new Float64Array(INITIAL_CHUNKS);
  private offset = new Float64Array(INITIAL_CHUNKS);
  private length = new Int32Array(INITIAL_CHUNKS);
  /** Every id at or below this was pruned. */
  private prunedThrough: number;
  private readonly files: ChunkFiles;

  /**
   * `open` opens the chunk files, calling back with each chunk read back (in order); those the
   * mark says were pruned, and any that would not keep ids increasing, are left out.
   */
  constructor(private readonly mark: PrunedMark, open: (chunk: (bytes: Uint8Array, place: ChunkPlace) => void) => ChunkFiles) {
    this.prunedThrough = mark.read();
    this.files = open((bytes, place) => {
      const h = chunkHeader(bytes);
      const last = this.count === 0 ? this.prunedThrough : Math.max(this.prunedThrough, this.lastId[this.count - 1]!);
      if (h === null || h.firstId <= last) return;
      this.add(h.firstId, h.lastId, h.lastAt, place);
    });
    // Segments holding only chunks pruned before the last stop go now.
    this.removeSegmentsBeforeHead();
  }

  /** Appends a commit's chunk; throws having stored nothing when it cannot. */
  append(chunk: EventChunk): ChunkPlace {
    const place = this.files.append(chunk.bytes);
    this.add(chunk.firstId, chunk.lastId, chunk.lastAt, place);
    return place;
  }

  /** Takes back the chunk appended last (the rest of its commit failed). */
  undo(place: ChunkPlace): void {
    if (this.count > this.head && this.segment[this.count - 1] === place.segment && this.offset[this.count - 1] === place.offset) this.count--;
    this.files.undo(place);
  }

  bounds(): { first: number; last: number } {
    const first = this.head < this.count ? this.firstId[this.head]! : 0;
    const last = this.count > this.head ? Math.max(this.prunedThrough, this.lastId[this.count - 1]!) : this.prunedThrough;
    return { first, last };
  }

  read(q: EventLogQuery): StoredEvent[] {
    if (q.limit <= 0 || q.upToId <= q.afterId) return [];
    const types = q.types === null ? null : new Set(q.types);
    const out: StoredEvent[] = [];
    for (let i = this.firstEndingAfter(q.afterId); i < this.count && this.firstId[i]! <= q.upToId; i++) {
      for (const e of this.events(i)) {
        if (e.id <= q.afterId) continue;
        if (e.id > q.upToId) return out;
        if ((q.vhost !== null && e.vhost !== q.vhost) || (types !== null && !types.has(e.type))) continue;
        out.push(e);
        if (out.length >= q.limit) return out;
      }
    }
    return out;
  }

  /**
   * The first chunk whose last event was stored at or after `time` (storing times grow with ids)
   * holds the first such event.
   */
  firstAt(time: number): number | null {
    let lo = this.head;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lastAt[mid]! < time) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= this.count) return null;
    for (const e of this.events(lo)) if (e.at >= time) return e.id;
    return null;
  }

  /** The events of these ids still kept, in id order (each chunk decoded once). */
  loadByIds(ids: readonly number[]): StoredEvent[] {
    const out: StoredEvent[] = [];
    let chunk = -1;
    let events: StoredEvent[] = [];
    for (const id of [...new Set(ids)].sort((a, b) => a - b)) {
      if (chunk < 0 || id > this.lastId[chunk]!) {
        const i = this.firstEndingAfter(id - 1);
        if (i >= this.count || this.firstId[i]! > id) continue;
        chunk = i;
        events = this.events(i);
      }
      const e = events[id - this.firstId[chunk]!];
      // Ids are dense within a chunk; the check keeps a wrong guess from answering another event.
      if (e !== undefined && e.id === id) out.push(e);
      else {
        const found = events.find((x) => x.id === id);
        if (found !== undefined) out.push(found);
      }
    }
    return out;
  }

  /**
   * Prunes the oldest chunks whose every event is beyond a bound (last id at or below
   * `keepAfterId`, or last event stored before `before`), up to about `limit` events (at least one
   * chunk), stopping at the first chunk to keep.
   */
  prune(keepAfterId: number, before: number, limit: number): EventPruneResult {
    if (limit <= 0) return { deleted: 0, upTo: 0 };
    let upTo = 0;
    let deleted = 0;
    let i = this.head;
    for (; i < this.count; i++) {
      if (this.lastId[i]! > keepAfterId && this.lastAt[i]! >= before) break;
      const n = this.lastId[i]! - this.firstId[i]! + 1;
      if (deleted > 0 && deleted + n > limit) break;
      upTo = this.lastId[i]!;
      deleted += n;
    }
    if (upTo === 0) return { deleted: 0, upTo: 0 };
    // The mark first: a restart before the files go must not bring these chunks back.
    this.mark.raise(upTo);
    this.prunedThrough = Math.max(this.prunedThrough, upTo);
    this.head = i;
    this.removeSegmentsBeforeHead();
    if (this.head > INITIAL_CHUNKS && this.head * 2 > this.count) this.compact();
    return { deleted, upTo };
  }

  /** Bytes of the chunks held (in their files, or in memory). */
  sizeBytes(): number {
    return this.files.sizeBytes();
  }

  /** The chunk files, for the store's fsync (a segment store), or null. */
  get chunkFiles(): ChunkFiles {
    return this.files;
  }

  close(): void {
    this.files.close();
  }

  private add(first: number, last: number, lastAt: number, place: ChunkPlace): void {
    if (this.count === this.firstId.length) {
      const n = this.count * 2;
      this.firstId = grown(this.firstId, n);
      this.lastId = grown(this.lastId, n);
      this.lastAt = grown(this.lastAt, n);
      this.segment = grown(this.segment, n);
      this.offset = grown(this.offset, n);
      this.length = grown(this.length, n);
    }
    const i = this.count++;
    this.firstId[i] = first;
    this.lastId[i] = last;
    this.lastAt[i] = lastAt;
    this.segment[i] = place.segment;
    this.offset[i] = place.offset;
    this.length[i] = place.length;
  }

  private events(i: number): StoredEvent[] {
    return decodeChunk(this.files.read({ segment: this.segment[i]!, offset: this.offset[i]!, length: this.length[i]! }));
  }

  /** The index of the first kept chunk whose last id is above `id` (count when none). */
  private firstEndingAfter(id: number): number {
    let lo = this.head;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lastId[mid]! <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops the files of segments whose chunks are all pruned (all of them when none is kept). */
  private removeSegmentsBeforeHead(): void {
    // The head chunk may share its segment with pruned ones; that segment stays.
    const keepFrom = this.head < this.count ? this.segment[this.head]! : Number.POSITIVE_INFINITY;
    const oldest = this.files.oldestSegment();
    if (oldest === null || oldest >= keepFrom) return;
    this.mark.sync();
    this.files.removeBefore(keepFrom);
  }

  /** Moves the kept chunks to the front of the columns. */
  private compact(): void {
    const n = this.count - this.head;
    for (const a of [this.firstId, this.lastId, this.lastAt, this.segment, this.offset, this.length]) a.copyWithin(0, this.head, this.count);
    this.head = 0;
    this.count = n;
  }
}
