// The events of one group commit as one blob (a chunk of the event log): a row per commit instead
// of a row per event, so storing an event costs a share of one insert. Layout: the byte length of
// a JSON header (u32 little-endian), the header — per event [id, vhost, type, routingKey, at,
// body length] — then the bodies one after another, as published.
import type { StoredEvent } from './store.js';

type HeaderEntry = [id: number, vhost: string, type: string, routingKey: string, at: number, length: number];

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** The blob of `events` (in id order, at least one). */
export function encodeChunk(events: readonly StoredEvent[]): Uint8Array {
  const header: HeaderEntry[] = new Array(events.length);
  let bodies = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    header[i] = [e.id, e.vhost, e.type, e.routingKey, e.at, e.body.byteLength];
    bodies += e.body.byteLength;
  }
  const head = utf8.encode(JSON.stringify(header));
  const out = new Uint8Array(4 + head.byteLength + bodies);
  new DataView(out.buffer).setUint32(0, head.byteLength, true);
  out.set(head, 4);
  let at = 4 + head.byteLength;
  for (const e of events) {
    out.set(e.body, at);
    at += e.body.byteLength;
  }
  return out;
}

/** The events of a blob made by encodeChunk, in id order; their bodies are views of `blob`. */
export function decodeChunk(blob: Uint8Array): StoredEvent[] {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const headLength = view.getUint32(0, true);
  const header = JSON.parse(fromUtf8.decode(blob.subarray(4, 4 + headLength))) as HeaderEntry[];
  let at = 4 + headLength;
  return header.map(([id, vhost, type, routingKey, time, length]) => {
    const body = blob.subarray(at, at + length);
    at += length;
    return { id, vhost, type, routingKey, at: time, body };
  });
}
