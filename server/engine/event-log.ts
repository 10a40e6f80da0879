// The event log: every message routed through the events exchange is appended to the store with the
// group commit, stamped with its id (a header live subscribers see), fed to the task and worker
// indexes, read from a cursor, and pruned in the background to its count and age bounds. The
// indexes live in memory and are rebuilt from the stored events at start: storing an event costs
// its share of the commit and a scan of its top-level fields, no parse and no row of an index.
import { fail } from '../../shared/errors.js';
import { DEFAULT_EVENTS_PER_READ, EVENT_ID_HEADER, MAX_EVENTS_PER_READ, MAX_EVENT_TYPES_PER_READ } from '../../shared/events.js';
import type { EventPage, EventRecord, MessageProperties } from '../../shared/frames.js';
import type { BrokerStore, StoredEvent } from '../store/store.js';
import type { LogFn } from './engine.js';
import type { EventLogStats, EventRetention, EventsApi, EventsPage, EventsQuery, EventView, TaskDetail } from './events-api.js';
import { scanEventFields, type EventFields } from './event-scan.js';
import type { CommitWriter } from './message-flow.js';
import { TaskIndex } from './task-index.js';
import { WorkerIndex } from './worker-index.js';

/**
 * Ids one read looks at beyond its cursor, at most. Ids are dense (one log for the broker), so this
 * bounds the rows a read with a rare type filter walks; it then answers with fewer events and a
 * `next` further on.
 */
const READ_WINDOW = 20_000;
/** Events read back per page when the indexes are rebuilt at start. */
const REPLAY_PAGE = 5_000;
/** Events deleted per pruning statement, and how long one pruning round may hold the event loop. */
const PRUNE_BATCH = 2_000;
const PRUNE_BUDGET_MS = 20;
/** Event types look like Celery's ('task-succeeded'); anything else is typed by its routing key. */
const TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const OPEN_BRACE = 0x7b;

/** What the event log needs of the engine. */
export interface EventLogDeps {
  store: BrokerStore;
  writer: CommitWriter;
  now: () => number;
  log: LogFn;
  retention: EventRetention;
  /** The vhosts that exist (a task looked up without one is searched in each). */
  vhostNames: () => Iterable<string>;
}

const utf8 = new TextDecoder();

/** The body as a JSON object, or null (not JSON, or not an object): only such events are indexed. */
function parseObject(body: Uint8Array): Record<string, unknown> | null {
  if (body.byteLength < 2 || body[0] !== OPEN_BRACE) return null;
  try {
    const v: unknown = JSON.parse(utf8.decode(body));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The fields the log stores and indexes an event by: scanned, or parsed when the scan cannot tell. */
function fieldsOf(body: Uint8Array): { fields: EventFields; data: Record<string, unknown> | null } | null {
  if (body.byteLength < 2 || body[0] !== OPEN_BRACE) return null;
  const fields = scanEventFields(body);
  if (fields !== null) return { fields, data: null };
  const data = parseObject(body);
  if (data === null) return null;
  const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return { fields: { type: text(data.type), uuid: text(data.uuid), hostname: text(data.hostname), name: text(data.name) }, data };
}

function viewOf(e: StoredEvent, data: Record<string, unknown> | null = parseObject(e.body)): EventView {
  return { id: e.id, vhost: e.vhost, type: e.type, routingKey: e.routingKey, at: e.at, body: e.body, data };
}

function invalid(message: string, details?: Record<string, unknown>): never {
  throw fail('ERR_INVALID_ARGUMENT', message, details);
}

function cursorOf(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) invalid(`events read: ${what} must be a whole number >= 0, got ${JSON.stringify(v)}`);
  return v;
}

export class EventLog implements EventsApi {
  readonly enabled: boolean;
  readonly retention: Readonly<EventRetention>;
  readonly tasks: TaskIndex;
  readonly workers: WorkerIndex;
  readonly stats: EventLogStats = { stored: 0, pruned: 0 };
  private nextId: number;
  private readonly listeners = new Set<(event: EventView) => void>();

  constructor(private readonly deps: EventLogDeps) {
    this.retention = Object.freeze({ ...deps.retention });
    this.enabled = deps.retention.maxCount > 0 && deps.retention.maxAge > 0;
    this.nextId = deps.store.eventLogBounds().last + 1;
    this.tasks = new TaskIndex({
      // What the index reads is committed first: every event up to lastId is readable.
      loadEvents: (ids) => {
        this.deps.writer.flush();
        return this.deps.store.loadEvents(ids);
      },
      parse: parseObject,
    });
    this.workers = new WorkerIndex({ now: deps.now });
    this.rebuildIndexes();
  }

  /**
   * The indexes are kept in memory only: at start they are rebuilt from the events the log keeps
   * (its retention bounds the work), in id order, as they were built when the events came.
   */
  private rebuildIndexes(): void {
    const last = this.lastId;
    let after = 0;
    while (after < last) {
      const page = this.deps.store.readEvents({ vhost: null, afterId: after, upToId: last, limit: REPLAY_PAGE, types: null });
      if (page.length === 0) break;
      for (const e of page) {
        const scanned = fieldsOf(e.body);
        if (scanned !== null) this.index(e.vhost, e.type, scanned.fields, scanned.data, e.body, e.id, e.at);
      }
      after = page[page.length - 1]!.id;
    }
  }

  get lastId(): number {
    return this.nextId - 1;
  }

  /**
   * Stores an event routed through the events exchange of `vhost` (when the log is enabled) and
   * returns its properties with the id header added, for the copies delivered live; `live` false
   * (no queue takes a copy) leaves them as they are, as nothing reads them.
   */
  capture(vhost: string, routingKey: string, body: Uint8Array, props: MessageProperties | undefined, live = true): MessageProperties | undefined {
    if (!this.enabled) return props;
    const id = this.nextId++;
    const at = this.deps.now();
    const scanned = fieldsOf(body);
    const named = scanned?.fields.type;
    const type = typeof named === 'string' && TYPE_PATTERN.test(named) ? named : routingKey;
    const event: StoredEvent = { id, vhost, type, routingKey, at, body };
    this.deps.writer.putEvent(event);
    this.stats.stored++;
    if (scanned !== null) this.index(vhost, type, scanned.fields, scanned.data, body, id, at);
    if (this.listeners.size > 0) this.notify(scanned === null ? viewOf(event, null) : viewOf(event, scanned.data ?? parseObject(body)));
    if (!live) return props;
    // Object.assign, not spread syntax: an order of magnitude cheaper here, and this runs per event.
    const headers = Object.assign({}, props?.headers, { [EVENT_ID_HEADER]: id });
    return Object.assign({}, props, { headers });
  }

  /**
   * Feeds an event of a JSON object body to the indexes: a task event by its scanned fields, a
   * worker event (a few per worker and heartbeat interval) parsed, unless it was already.
   */
  private index(vhost: string, type: string, fields: EventFields, data: Record<string, unknown> | null, body: Uint8Array, id: number, at: number): void {
    try {
      if (type.startsWith('task-')) {
        const uuid = fields.uuid;
        // A NUL would let a task id pose as another vhost's in the index's keys.
        if (uuid !== null && uuid !== '' && uuid.length <= 255 && !uuid.includes('\u0000')) this.tasks.onEvent(vhost, uuid, type, fields, id, at);
      } else if (type.startsWith('worker-')) {
        const host = fields.hostname;
        const parsed = data ?? parseObject(body);
        if (parsed !== null && host !== null && host !== '' && host.length <= 255) this.workers.onEvent(vhost, host, type, parsed, id, at);
      }
    } catch (err) {
      // The event is stored all the same; an index that cannot take it must not refuse the publish.
      this.deps.log('error', `event ${id} (${type}) could not be indexed: ${(err as Error).message}`);
    }
  }

  private notify(view: EventView): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(view);
      } catch (err) {
        this.deps.log('error', `an event listener failed: ${(err as Error).message}`);
      }
    }
  }

  listen(listener: (event: EventView) => void): () => void {
    if (typeof listener !== 'function') invalid('events listen(listener): listener must be a function');
    // Wrapped, so one function listening twice is two listeners, each stopped by its own remover.
    const wrapped = (e: EventView): void => listener(e);
    this.listeners.add(wrapped);
    return () => { this.listeners.delete(wrapped); };
  }

  read(query: EventsQuery = {}): EventsPage<EventView> {
    if (query === null || typeof query !== 'object') invalid('events read: the query must be an object');
    if (query.vhost !== undefined && typeof query.vhost !== 'string') invalid('events read: vhost must be a string');
    const page = this.readStored(query.vhost ?? null, query);
    return { events: page.events.map((e) => viewOf(e)), next: page.next, last: page.last };
  }

  /** The protocol's read (eventsRead): the vhost's events as records without their vhost. */
  readRecords(vhost: string, query: Omit<EventsQuery, 'vhost'>): EventPage {
    const page = this.readStored(vhost, query);
    const events: EventRecord[] = page.events.map((e) => ({ id: e.id, type: e.type, routingKey: e.routingKey, at: e.at, body: e.body }));
    return { events, next: page.next, last: page.last };
  }

  private readStored(vhost: string | null, query: Omit<EventsQuery, 'vhost'>): EventsPage<StoredEvent> {
    if (!this.enabled) throw fail('ERR_PRECONDITION_FAILED', 'this broker does not store events (its events retention, --events-max-count or --events-max-age, is 0)');
    const since = cursorOf(query.since, 'since') ?? 0;
    const from = cursorOf(query.from, 'from');
    const limit = cursorOf(query.limit, 'limit') ?? DEFAULT_EVENTS_PER_READ;
    if (limit > MAX_EVENTS_PER_READ) invalid(`events read: limit must be at most ${MAX_EVENTS_PER_READ}, got ${limit}`);
    const raw: unknown = query.types;
    if (raw !== undefined && (!Array.isArray(raw) || raw.length > MAX_EVENT_TYPES_PER_READ || !raw.every((t) => typeof t === 'string' && t.length <= 255))) {
      invalid(`events read: types must be an array of at most ${MAX_EVENT_TYPES_PER_READ} event type names`);
    }
    const types = raw === undefined ? null : [...(raw as string[])];
    const last = this.lastId;
    if (since > last) {
      invalid(`events read: cursor ${since} is beyond the newest event id ${last} (ids come from this broker's data file; was it replaced?)`, { since, last });
    }
    // Every event up to `last` is readable once what is pending is committed.
    this.deps.writer.flush();
    const { first } = this.deps.store.eventLogBounds();
    let after = first === 0 ? last : Math.max(since, first - 1);
    if (from !== undefined) {
      const at = this.deps.store.firstEventAt(from);
      after = Math.max(after, at === null ? last : at - 1);
    }
    if (limit === 0 || after >= last) return { events: [], next: after, last };
    const upTo = Math.min(last, after + Math.max(READ_WINDOW, limit));
    const events = this.deps.store.readEvents({ vhost, afterId: after, upToId: upTo, limit, types });
    const next = events.length === limit ? events[events.length - 1]!.id : upTo;
    return { events, next, last };
  }

  /** A task of the index with its timeline (the events of it the log still keeps); null when unknown. */
  taskDetail(taskId: string, vhost: string | undefined): TaskDetail | null {
    if (typeof taskId !== 'string' || taskId === '') invalid('tasks get(taskId): taskId must be a non-empty string');
    if (vhost !== undefined && typeof vhost !== 'string') invalid('tasks get: vhost must be a string');
    for (const v of vhost === undefined ? this.deps.vhostNames() : [vhost]) {
      const task = this.tasks.get(v, taskId);
      if (task === null) continue;
      return { ...task.info, timeline: task.events.map((e) => viewOf(e)) };
    }
    return null;
  }

  /**
   * One round of retention: deletes the oldest events beyond the count bound or past the age bound,
   * in batches, until none is left or the round's time budget is spent (the next round goes on).
   * Cheap when there is nothing to delete: one read of the oldest few rows.
   */
  prune(): void {
    // Also when storing is off (a bound of 0): what an earlier run stored goes too.
    const keepAfter = this.lastId - this.retention.maxCount;
    const before = this.deps.now() - this.retention.maxAge;
    const deadline = performance.now() + PRUNE_BUDGET_MS;
    for (;;) {
      const r = this.deps.store.pruneEvents(keepAfter, before, PRUNE_BATCH);
      if (r.upTo > 0) {
        this.stats.pruned += r.deleted;
        this.tasks.pruned(r.upTo);
        this.workers.pruned(r.upTo);
      }
      if (r.deleted === 0 || performance.now() >= deadline) return;
    }
  }
}
