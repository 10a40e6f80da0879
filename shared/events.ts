// The names both sides use for events: the exchange they travel on, the header in which the broker
// stamps the id it stored an event under, and the bounds of a history read.

/** Topic exchange events are published on (Celery: `celeryev`). Routing key = type with '-' → '.'. */
export const EVENTS_EXCHANGE = 'celeriac.events';

/**
 * Header the broker adds to every message routed through EVENTS_EXCHANGE when it stores events:
 * the id the event has in the broker's event log (increasing, never reused for a data file), so a
 * live subscriber knows where it is in the history and can resume from there.
 */
export const EVENT_ID_HEADER = 'x-celeriac-event-id';

/** Events one history read (eventsRead) returns at most. */
export const MAX_EVENTS_PER_READ = 10_000;

/** Events one history read returns when it names no limit. */
export const DEFAULT_EVENTS_PER_READ = 1_000;

/** Event types one history read may filter on at most. */
export const MAX_EVENT_TYPES_PER_READ = 100;
