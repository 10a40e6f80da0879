// `app.events`: the app's entry to events — subscribing to them with typed handlers, live and from
// the broker's stored history, and reading that history. (Workers publish through worker-events.ts,
// producers through sent-events.ts.)
import { fail } from '../../shared/errors.js';
import type { EventReadQuery, Transport } from '../transport/transport.js';
import { subscribeEvents, type EventSubscription, type SubscribeOptions } from './receiver.js';
import { EVENT_TYPES, type AnyEvent, type EventHandlers, type HistoryEvent } from './types.js';

/** What Events needs of the app. */
export interface EventsHost {
  /** The producer's link: events travel on its transport. */
  link(): Promise<{ readonly transport: Transport }>;
}

/** A page of the stored history. */
export interface EventHistory {
  /** The events, oldest first (stored messages that are not events are left out). */
  events: HistoryEvent[];
  /** Pass as `since` to read on: every matching event up to it has been returned. */
  next: number;
  /** The broker's newest event id when it answered: caught up once `next >= last`. */
  last: number;
}

const KNOWN: ReadonlySet<string> = new Set(EVENT_TYPES);

/** The stored body as an event, or undefined when it is not one of the known event types. */
function eventOf(body: Uint8Array): AnyEvent | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    const type = (v as { type?: unknown }).type;
    return typeof type === 'string' && KNOWN.has(type) ? (v as AnyEvent) : undefined;
  } catch {
    return undefined;
  }
}

/** Events of the app's broker (Celery's `app.events`). */
export class Events {
  constructor(private readonly host: EventsHost) {}

  /**
   * Receives events from every worker and producer on the broker: `handlers` by event type
   * (`'task-succeeded'`, `'worker-heartbeat'`, ...) and `'*'` for all, each typed and given the
   * event's id. With `since` (an event id, or a Date), the broker's stored history from there is
   * handed on first, then live events, none missed or repeated; after a reconnect the events
   * missed meanwhile are read back. Resolves once subscribed (and the history handed on); `close()`
   * the subscription to stop.
   */
  async subscribe(handlers: EventHandlers, options: SubscribeOptions = {}): Promise<EventSubscription> {
    return subscribeEvents((await this.host.link()).transport, handlers, options);
  }

  /**
   * One read of the broker's stored events, oldest first: after event id `since` (default: the
   * oldest kept) or from time `from`, at most `limit` (default 1,000, at most 10,000), of `types`.
   * Rejects with ERR_INVALID_ARGUMENT for a bad query or a `since` beyond the newest id, and with
   * ERR_PRECONDITION_FAILED when the broker stores no events.
   */
  async history(query: EventReadQuery = {}): Promise<EventHistory> {
    const log = (await this.host.link()).transport.eventLog();
    if (log === undefined) throw fail('ERR_PRECONDITION_FAILED', 'this broker keeps no event history (it does not announce the events capability)');
    const page = await log.readEvents(query);
    const events: HistoryEvent[] = [];
    for (const r of page.events) {
      const event = eventOf(r.body);
      if (event !== undefined) events.push({ id: r.id, at: r.at, routingKey: r.routingKey, event });
    }
    return { events, next: page.next, last: page.last };
  }
}
