// The event log's request of a Connection: a read of the broker's stored events from a cursor
// (eventsRead). A base of Connection written against its request primitive, as beat-requests.ts is.
import { fail } from '../shared/errors.js';
import { MAX_EVENTS_PER_READ, MAX_EVENT_TYPES_PER_READ } from '../shared/events.js';
import type { EventPage, EventRecord } from '../shared/frames.js';
import { OP } from '../shared/opcodes.js';
import { BeatRequests } from './beat-requests.js';
import { isRecord, unexpected } from './replies.js';
import type { RequestFrame } from './requests.js';
import type { EventReadQuery } from './transport/transport.js';

/** A read of the stored events (defined with the transport contract, which names the event log). */
export type { EventReadQuery } from './transport/transport.js';

function invalid(message: string): never {
  throw fail('ERR_INVALID_ARGUMENT', message);
}

function wholeNumber(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    invalid(`${what} must be a whole number from 0 to ${max}, got ${typeof v === 'number' ? v : JSON.stringify(v) ?? String(v)}`);
  }
  return v;
}

/** Checks a query the way the broker would, so bad input fails the call, never the connection. */
function eventsReadFrame(id: number, query: EventReadQuery): RequestFrame {
  if (!isRecord(query)) invalid('readEvents(query): query must be an object');
  const frame: RequestFrame = { op: OP.eventsRead, id };
  if (query.since !== undefined) frame.since = wholeNumber(query.since, 'readEvents: since (an event id)');
  if (query.limit !== undefined) frame.limit = wholeNumber(query.limit, 'readEvents: limit', MAX_EVENTS_PER_READ);
  if (query.from !== undefined) {
    const from = query.from instanceof Date ? query.from.getTime() : query.from;
    if (typeof from !== 'number' || !Number.isFinite(from)) invalid('readEvents: from must be a Date or a time in epoch ms');
    frame.from = Math.max(0, Math.floor(from));
  }
  if (query.types !== undefined) {
    const t: unknown = query.types;
    if (!Array.isArray(t) || t.length > MAX_EVENT_TYPES_PER_READ || !t.every((x) => typeof x === 'string' && x !== '')) {
      invalid(`readEvents: types must be an array of at most ${MAX_EVENT_TYPES_PER_READ} event type names`);
    }
    frame.types = [...(t as string[])];
  }
  return frame;
}

function asEventRecord(v: unknown): EventRecord {
  if (!isRecord(v) || typeof v.id !== 'number' || typeof v.type !== 'string' || typeof v.routingKey !== 'string' || typeof v.at !== 'number' || !(v.body instanceof Uint8Array)) {
    return unexpected('an eventsRead');
  }
  return { id: v.id, type: v.type, routingKey: v.routingKey, at: v.at, body: v.body };
}

/**
 * The event log's request of a Connection (which extends this, through beat's and the task
 * layer's requests). Needs only `request`, `newId` and the broker's capabilities.
 */
export abstract class EventRequests extends BeatRequests {
  /** The capabilities the broker announced in its welcome on the current socket. */
  abstract get capabilities(): readonly string[];

  /**
   * Reads the broker's stored events of this connection's vhost, oldest first, from a cursor: the
   * events, and `next` (pass it as `since` to read on) and `last` (the newest id; caught up once
   * `next >= last`). Rejects with ERR_INVALID_ARGUMENT for a bad query or a `since` beyond the
   * newest id, ERR_PRECONDITION_FAILED when the broker stores no events or predates the event log.
   */
  async readEvents(query: EventReadQuery = {}): Promise<EventPage> {
    const frame = eventsReadFrame(this.newId(), query);
    // An older broker would close the connection on an opcode it does not know.
    if (!this.capabilities.includes('events')) throw fail('ERR_PRECONDITION_FAILED', 'this broker has no event log (it does not announce the events capability)');
    const result = await this.request(frame, true);
    if (!isRecord(result) || !Array.isArray(result.events) || typeof result.next !== 'number' || typeof result.last !== 'number') return unexpected('an eventsRead');
    return { events: result.events.map(asEventRecord), next: result.next, last: result.last };
  }
}
