// The events of one group commit as one blob (a chunk of the event log), built as the events come:
// each event's fixed header and body are copied into the chunk at once, so a stored event holds
// no object, no reference to the frame it came in and no encoding pass at commit time.
//
// Layout (little-endian): count u32, string table offset u32, first id f64, last id f64, storing
// time of the last event f64; then per event: id -
// first id u32, storing time f64, vhost u32, type u32, routing key u32 (indexes into the string
// table), body length u32, the body; then the string table: its count u32, and per string its
// UTF-8 byte length u32 and bytes.
import type { StoredEvent } from './store.js';

const CHUNK_HEADER = 32;
const EVENT_HEADER = 28;
const INITIAL_BYTES = 64 * 1024;
/** A buffer bigger than this is given up when a chunk used less than a quarter of it. */
const SHRINK_ABOVE = 4 * 1024 * 1024;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A built chunk: its bytes and what the log's directory of chunks keeps of it. */
export interface EventChunk {
  firstId: number;
  lastId: number;
  /** When the broker stored its last event (retention by age compares it). */
  lastAt: number;
  count: number;
  bytes: Uint8Array;
}

/**
 * Collects the events of one commit into a chunk; take() hands it over and starts the next in the
 * same buffer: a chunk's bytes are valid until the next append (the store writes them at once;
 * the in-memory store copies them).
 */
export class ChunkBuilder {
  private buf = new Uint8Array(INITIAL_BYTES);
  private view = new DataView(this.buf.buffer);
  private top = CHUNK_HEADER;
  private readonly strings = new Map<string, number>();
  private stringList: string[] = [];
  private firstId = 0;
  private lastId = 0;
  private lastAt = 0;
  /** Events in the chunk being built. */
  count = 0;

  /** Appends an event (ids grow from one call to the next). */
  append(id: number, vhost: string, type: string, routingKey: string, at: number, body: Uint8Array): void {
    const length = body.byteLength;
    if (this.top + EVENT_HEADER + length > this.buf.length) this.grow(this.top + EVENT_HEADER + length);
    if (this.count === 0) this.firstId = id;
    const v = this.view;
    const at0 = this.top;
    v.setUint32(at0, id - this.firstId, true);
    v.setFloat64(at0 + 4, at, true);
    v.setUint32(at0 + 12, this.stringIndex(vhost), true);
    v.setUint32(at0 + 16, this.stringIndex(type), true);
    v.setUint32(at0 + 20, this.stringIndex(routingKey), true);
    v.setUint32(at0 + 24, length, true);
    this.buf.set(body, at0 + EVENT_HEADER);
    this.top = at0 + EVENT_HEADER + length;
    this.lastId = id;
    this.lastAt = at;
    this.count++;
  }

  /** The chunk of the events appended since the last take(), or null when there are none. */
  take(): EventChunk | null {
    if (this.count === 0) return null;
    const table = this.stringList.map((s) => utf8.encode(s));
    let tableBytes = 4;
    for (const s of table) tableBytes += 4 + s.byteLength;
    if (this.top + tableBytes > this.buf.length) this.grow(this.top + tableBytes);
    const v = this.view;
    v.setUint32(0, this.count, true);
    v.setUint32(4, this.top, true);
    v.setFloat64(8, this.firstId, true);
    v.setFloat64(16, this.lastId, true);
    v.setFloat64(24, this.lastAt, true);
    let at = this.top;
    v.setUint32(at, table.length, true);
    at += 4;
    for (const s of table) {
      v.setUint32(at, s.byteLength, true);
      this.buf.set(s, at + 4);
      at += 4 + s.byteLength;
    }
    const chunk: EventChunk = { firstId: this.firstId, lastId: this.lastId, lastAt: this.lastAt, count: this.count, bytes: this.buf.subarray(0, at) };
    // The buffer is kept for the next chunk, unless a burst made it much bigger than chunks need.
    if (this.buf.length > SHRINK_ABOVE && at * 4 < this.buf.length) {
      this.buf = new Uint8Array(Math.max(INITIAL_BYTES, at * 2));
      this.view = new DataView(this.buf.buffer);
    }
    this.top = CHUNK_HEADER;
    this.strings.clear();
    this.stringList = [];
    this.count = 0;
    return chunk;
  }

  private stringIndex(s: string): number {
    let i = this.strings.get(s);
    if (i === undefined) {
      i = this.stringList.length;
      this.stringList.push(s);
      this.strings.set(s, i);
    }
    return i;
  }

  private grow(needed: number): void {
    let n = this.buf.length * 2;
    while (n < needed) n *= 2;
    const buf = new Uint8Array(n);
    buf.set(this.buf.subarray(0, this.top));
    this.buf = buf;
    this.view = new DataView(buf.buffer);
  }
}

/** The chunk of `events` (in id order, at least one): how tools and tests build one whole. */
export function encodeChunk(events: readonly StoredEvent[]): EventChunk {
  const builder = new ChunkBuilder();
  for (const e of events) builder.append(e.id, e.vhost, e.type, e.routingKey, e.at, e.body);
  const chunk = builder.take();
  if (chunk === null) throw new Error('encodeChunk: no events');
  return { ...chunk, bytes: chunk.bytes.slice() };
}

/** What a chunk's fixed header says (its bytes left out); null when the bytes cannot be a chunk. */
export function chunkHeader(bytes: Uint8Array): Omit<EventChunk, 'bytes'> | null {
  if (bytes.byteLength < CHUNK_HEADER) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = v.getUint32(0, true);
  const firstId = v.getFloat64(8, true);
  const lastId = v.getFloat64(16, true);
  const lastAt = v.getFloat64(24, true);
  if (count === 0 || !Number.isSafeInteger(firstId) || firstId < 1 || !Number.isSafeInteger(lastId) || lastId < firstId || !Number.isFinite(lastAt)) return null;
  return { firstId, lastId, lastAt, count };
}

/**
 * The events of a chunk, in id order; their bodies are views of `bytes`. Throws when the bytes are
 * not a well-formed chunk (the segment reader checks a checksum first, so that means a bug).
 */
export function decodeChunk(bytes: Uint8Array): StoredEvent[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = v.getUint32(0, true);
  const tableAt = v.getUint32(4, true);
  const firstId = v.getFloat64(8, true);
  if (tableAt < CHUNK_HEADER || tableAt + 4 > bytes.byteLength) throw new Error('event chunk: bad string table offset');
  const n = v.getUint32(tableAt, true);
  const strings: string[] = new Array<string>(n);
  let at = tableAt + 4;
  for (let i = 0; i < n; i++) {
    const length = v.getUint32(at, true);
    if (at + 4 + length > bytes.byteLength) throw new Error('event chunk: string table cut short');
    strings[i] = fromUtf8.decode(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  const text = (i: number): string => {
    const s = strings[i];
    if (s === undefined) throw new Error('event chunk: bad string index');
    return s;
  };
  const out: StoredEvent[] = new Array<StoredEvent>(count);
  at = CHUNK_HEADER;
  for (let i = 0; i < count; i++) {
    if (at + EVENT_HEADER > tableAt) throw new Error('event chunk: events cut short');
    const length = v.getUint32(at + 24, true);
    const bodyAt = at + EVENT_HEADER;
    if (bodyAt + length > tableAt) throw new Error('event chunk: body cut short');
    out[i] = {
      id: firstId + v.getUint32(at, true), vhost: text(v.getUint32(at + 12, true)), type: text(v.getUint32(at + 16, true)),
      routingKey: text(v.getUint32(at + 20, true)), at: v.getFloat64(at + 4, true), body: bytes.subarray(bodyAt, bodyAt + length),
    };
    at = bodyAt + length;
  }
  return out;
}
