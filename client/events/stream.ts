// One subscription's events in order, each once: stored history read from a cursor, then the live
// stream, with the live events that arrive meanwhile held back and de-duplicated by event id.
//
// Invariant: `position` is the id up to which every event has been handed on (or was not wanted);
// an event with an id at or below it is never handed on again. The live queue gets events in id
// order (the broker stores and routes each in one step), so live events need no re-ordering.
import { CeleriacError } from '../../shared/errors.js';
import type { EventPage } from '../../shared/frames.js';
import type { EventReadQuery } from '../transport/transport.js';

/** Events one history read asks for. */
const PAGE = 1_000;

/** What the stream hands on: the body, its routing key, its id (undefined when the broker stores none) and whether it came from the history. */
export type EventSink = (body: Uint8Array, routingKey: string, id: number | undefined, replayed: boolean) => void;

export interface EventStreamDeps {
  /** One read of the stored history (the subscription's type filter added). */
  read(query: EventReadQuery): Promise<EventPage>;
  deliver: EventSink;
  /** Whether a history event's routing key is one the subscription's binding would have taken. */
  wanted(routingKey: string): boolean;
}

interface Held { id: number | undefined; routingKey: string; body: Uint8Array }

export class EventStream {
  private holding = false;
  private held: Held[] = [];
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(private readonly deps: EventStreamDeps, public position: number) {}

  /** Holds live events back until the next catch-up ends (the socket dropped: history comes first). */
  hold(): void {
    this.holding = true;
  }

  /** A live event. */
  live(id: number | undefined, routingKey: string, body: Uint8Array): void {
    if (this.closed) return;
    if (this.holding) this.held.push({ id, routingKey, body });
    else this.take(id, routingKey, body, false);
  }

  /**
   * Reads the history after `position` (or, the first time, from the first event stored at
   * `from`) until it meets the held live events or the newest id, then lets the held ones through.
   * A catch-up asked for while one runs makes that one read again before it ends. Rejects with the
   * read's error, after letting the held events through (live goes on).
   */
  catchUp(from?: Date): Promise<void> {
    this.holding = true;
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      try {
        let start = from;
        do {
          this.again = false;
          await this.readHistory(start);
          start = undefined;
        } while (this.again && !this.closed);
      } finally {
        this.running = undefined;
        this.release();
      }
    })();
    this.running = run;
    return run;
  }

  /** Drops everything from now on. */
  close(): void {
    this.closed = true;
    this.held = [];
  }

  private async readHistory(from: Date | undefined): Promise<void> {
    let cursor = this.position;
    let first = true;
    while (!this.closed) {
      const page = await this.deps.read({ since: cursor, limit: PAGE, ...(first && from !== undefined ? { from } : {}) });
      first = false;
      for (const e of page.events) if (this.deps.wanted(e.routingKey)) this.take(e.id, e.routingKey, e.body, true);
      cursor = Math.max(cursor, page.next);
      // Every wanted event up to the cursor was handed on: held ones at or below it are repeats.
      if (cursor > this.position) this.position = cursor;
      const firstHeld = this.held.find((h) => h.id !== undefined)?.id;
      if (cursor >= page.last || (firstHeld !== undefined && cursor >= firstHeld - 1)) return;
    }
  }

  private release(): void {
    this.holding = false;
    const held = this.held;
    this.held = [];
    for (const h of held) this.take(h.id, h.routingKey, h.body, false);
  }

  private take(id: number | undefined, routingKey: string, body: Uint8Array, replayed: boolean): void {
    if (this.closed) return;
    if (id !== undefined) {
      if (id <= this.position) return;
      this.position = id;
    }
    this.deps.deliver(body, routingKey, id, replayed);
  }
}

/** True for the error a read gives when its cursor is beyond the broker's newest id (a new data file). */
export function isCursorAhead(err: unknown): boolean {
  return err instanceof CeleriacError && err.code === 'ERR_INVALID_ARGUMENT' && typeof err.details?.['last'] === 'number' && typeof err.details['since'] === 'number';
}
