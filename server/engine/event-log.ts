// The event log: every message routed through the events exchange is appended to the store with the
// group commit, stamped with its id (a header live subscribers see), fed to the task and worker
// indexes, read from a cursor, and pruned in the background to its count and age bounds.
import { fail } from '../../shared/errors.js';
import { DEFAULT_EVENTS_PER_READ, EVENT_ID_HEADER, MAX_EVENTS_PER_READ, MAX_EVENT_TYPES_PER_READ } from '../../shared/events.js';
import type { EventPage, EventRecord, MessageProperties } from '../../shared/frames.js';
import type { BrokerStore, StoredEvent } from '../store/store.js';
import type { LogFn } from './engine.js';
import type { EventLogStats, EventRetention, EventsApi, EventsPage, EventsQuery, EventView, TaskDetail } from './events-api.js';
import type { CommitWriter } from './message-flow.js';
import { TaskIndex } from './task-index.js';
import { WorkerIndex } from './worker-index.js';

/**
 * Ids one read looks at beyond its cursor, at most. Ids are dense (one log for the broker), so this
 * bounds the rows a read with a rare type filter walks; it then answers with fewer events and a
 * `next` further on.
 */
const READ_WINDOW = 20_000;
/** Changed tasks after which their rows are written at once rather than at the next tick. */
const MAX_CHANGED_TASKS = 5_000;
/** Events read back per page when the indexes catch up with the log at start. */
const REPLAY_PAGE = 1_000;
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
  /** Tasks the task index keeps in memory. */
  taskCacheSize?: number;
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
  /** The event id the last index mark handed to the writer named. */
  private marked: number;
  private readonly listeners = new Set<(event: EventView) => void>();

  constructor(private readonly deps: EventLogDeps) {
    this.retention = Object.freeze({ ...deps.retention });
    this.enabled = deps.retention.maxCount > 0 && deps.retention.maxAge > 0;
    this.nextId = deps.store.eventLogBounds().last + 1;
    this.marked = deps.store.eventIndexThrough();
    this.tasks = new TaskIndex({ store: deps.store, writer: deps.writer, ...(deps.taskCacheSize === undefined ? {} : { cacheSize: deps.taskCacheSize }) });
    this.workers = new WorkerIndex({ writer: deps.writer, now: deps.now }, deps.store.loadWorkerIndex());
    this.catchUpIndexes();
  }

  /**
   * Task rows are written once a second, not with each event, so a crash can leave them behind the
   * log: the events after the last index mark are read back into the indexes (applying one twice
   * changes nothing), and written with the next writeIndex().
   */
  private catchUpIndexes(): void {
    const last = this.lastId;
    let after = this.deps.store.eventIndexThrough();
    while (after < last) {
      const page = this.deps.store.readEvents({ vhost: null, afterId: after, upToId: last, limit: REPLAY_PAGE, types: null });
      if (page.length === 0) break;
      for (const e of page) {
        const data = parseObject(e.body);
        if (data !== null) this.index(e.vhost, e.type, data, e.id, e.at);
      }
      after = page[page.length - 1]!.id;
    }
  }

  /**
   * Hands the rows of the tasks changed since the last call to the writer, with the mark that the
   * rows are complete up to the newest event. Called every second and at close (a task query
   * writes the changed rows itself first).
   */
  writeIndex(): void {
    if (this.tasks.changedCount === 0 && this.marked === this.lastId) return; // nothing new: no commit
    this.tasks.writeChanged();
    this.marked = this.lastId;
    this.deps.writer.putEventIndexMark(this.marked);
  }

  get lastId(): number {
    return this.nextId - 1;
  }

  /**
   * Stores an event routed through the events exchange of `vhost` (when the log is enabled) and
   * returns its properties with the id header added, for the copies delivered live.
   */
  capture(vhost: string, routingKey: string, body: Uint8Array, props: MessageProperties | undefined): MessageProperties | undefined {
    if (!this.enabled) return props;
    const id = this.nextId++;
    const at = this.deps.now();
    const data = parseObject(body);
    const named = data?.type;
    const type = typeof named === 'string' && TYPE_PATTERN.test(named) ? named : routingKey;
    const event: StoredEvent = { id, vhost, type, routingKey, at, body };
    this.deps.writer.putEvent(event);
    this.stats.stored++;
    if (data !== null) this.index(vhost, type, data, id, at);
    if (this.listeners.size > 0) this.notify(viewOf(event, data));
    // Object.assign, not spread syntax: an order of magnitude cheaper here, and this runs per event.
    const headers = Object.assign({}, props?.headers, { [EVENT_ID_HEADER]: id });
    return Object.assign({}, props, { headers });
  }

  private index(vhost: string, type: string, data: Record<string, unknown>, id: number, at: number): void {
    try {
      if (type.startsWith('task-')) {
        const uuid = data.uuid;
        // A NUL would let a task id pose as another vhost's in the index's keys.
        if (typeof uuid === 'string' && uuid !== '' && uuid.length <= 255 && !uuid.includes('\u0000')) this.tasks.onEvent(vhost, uuid, type, data, id, at);
        if (this.tasks.changedCount >= MAX_CHANGED_TASKS) this.tasks.writeChanged();
      } else if (type.startsWith('worker-')) {
        const host = data.hostname;
        if (typeof host === 'string' && host !== '' && host.length <= 255) this.workers.onEvent(vhost, host, type, data, id, at);
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
      const entry = this.tasks.get(v, taskId);
      if (entry === null) continue;
      this.deps.writer.flush();
      const { events, ...info } = entry;
      return { ...info, timeline: this.deps.store.loadEvents(events).map((e) => viewOf(e)) };
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
      if (r.deleted < PRUNE_BATCH || performance.now() >= deadline) return;
    }
  }
}
