// The event log: every message routed through the events exchange is appended to the store with the
// group commit, stamped with its id (a header live subscribers see), fed to the task and worker
// indexes, read from a cursor, and pruned in the background to its count and age bounds. The
// indexes live in memory and are rebuilt from the stored events at start: storing an event costs
// its share of the commit and a scan of its top-level fields, no parse and no row of an index.
import { fail } from '../../shared/errors.js';
import { DEFAULT_EVENTS_PER_READ, EVENT_ID_HEADER, MAX_EVENTS_PER_READ, MAX_EVENT_TYPES_PER_READ } from '../../shared/events.js';
import type { EventPage, EventRecord, MessageProperties } from '../../shared/frames.js';
import type { BrokerStore, StoredEvent } from '../store/store.js';
import { ByteInterner } from './byte-interner.js';
import type { LogFn } from './engine.js';
import type { EventLogStats, EventRetention, EventsApi, EventsPage, EventsQuery, EventView, TaskDetail } from './events-api.js';
import { FIELD_HOSTNAME, FIELD_NAME, FIELD_OFFSETS, FIELD_TYPE, FIELD_UUID, scanEventOffsets } from './event-scan.js';
import type { CommitWriter } from './message-flow.js';
import { MAX_TASK_ID_BYTES, TaskIndex } from './task-index.js';
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
/** Type strings whose check against TYPE_PATTERN is remembered; the memory is cleared past this. */
const MAX_CHECKED_TYPES = 1024;
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

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

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

/** What reading a body found: not a JSON object, an object whose fields the scan found (in `offsets`), or one parsed (in `parsed`). */
const NOT_OBJECT = 0;
const SCANNED = 1;
const PARSED = 2;

export class EventLog implements EventsApi {
  readonly enabled: boolean;
  readonly retention: Readonly<EventRetention>;
  readonly tasks: TaskIndex;
  readonly workers: WorkerIndex;
  readonly stats: EventLogStats = { stored: 0, pruned: 0 };
  private nextId: number;
  private readonly listeners = new Set<(event: EventView) => void>();
  /** Where the scan found the fields of the body read last (event-scan.ts). */
  private readonly offsets = new Int32Array(FIELD_OFFSETS);
  /** The body read last, parsed, when the scan left it to the parse. */
  private parsed: Record<string, unknown> | null = null;
  private readonly typeStrings = new ByteInterner();
  private readonly hostStrings = new ByteInterner();
  private readonly nameStrings = new ByteInterner();
  private readonly checkedTypes = new Map<string, boolean>();

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
        const kind = this.readBody(e.body);
        if (kind !== NOT_OBJECT) this.index(e.vhost, e.type, e.body, kind, e.id, e.at);
      }
      after = page[page.length - 1]!.id;
    }
    this.parsed = null;
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
    const kind = this.readBody(body);
    const type = this.typeOf(body, kind, routingKey);
    this.deps.writer.putEvent(id, vhost, type, routingKey, at, body);
    this.stats.stored++;
    if (kind !== NOT_OBJECT) this.index(vhost, type, body, kind, id, at);
    if (this.listeners.size > 0) {
      const data = kind === NOT_OBJECT ? null : kind === PARSED ? this.parsed : parseObject(body);
      this.notify({ id, vhost, type, routingKey, at, body, data });
    }
    this.parsed = null;
    if (!live) return props;
    // Object.assign, not spread syntax: an order of magnitude cheaper here, and this runs per event.
    const headers = Object.assign({}, props?.headers, { [EVENT_ID_HEADER]: id });
    return Object.assign({}, props, { headers });
  }

  /** Reads a body's top-level fields: scanned into `offsets`, else parsed into `parsed`; only JSON objects are indexed. */
  private readBody(body: Uint8Array): number {
    if (body.byteLength < 2 || body[0] !== OPEN_BRACE) return NOT_OBJECT;
    if (scanEventOffsets(body, this.offsets)) return SCANNED;
    this.parsed = parseObject(body);
    return this.parsed === null ? NOT_OBJECT : PARSED;
  }

  /** The event's type: its body's `type` when that looks like one, else the routing key. */
  private typeOf(body: Uint8Array, kind: number, routingKey: string): string {
    let named: string | null = null;
    if (kind === SCANNED) {
      const start = this.offsets[FIELD_TYPE]!;
      if (start >= 0) named = this.typeStrings.intern(body, start, this.offsets[FIELD_TYPE + 1]!);
    } else if (kind === PARSED) named = text(this.parsed!.type);
    if (named === null) return routingKey;
    let ok = this.checkedTypes.get(named);
    if (ok === undefined) {
      if (this.checkedTypes.size >= MAX_CHECKED_TYPES) this.checkedTypes.clear();
      ok = TYPE_PATTERN.test(named);
      this.checkedTypes.set(named, ok);
    }
    return ok ? named : routingKey;
  }

  /**
   * Feeds an event of a JSON object body (just read: `kind`) to the indexes: a task event by its
   * scanned fields (no string built for the task id), a worker event (a few per worker and
   * heartbeat interval) parsed, unless it was already.
   */
  private index(vhost: string, type: string, body: Uint8Array, kind: number, id: number, at: number): void {
    try {
      if (type.startsWith('task-')) {
        if (kind === SCANNED) {
          const o = this.offsets;
          const start = o[FIELD_UUID]!;
          const end = o[FIELD_UUID + 1]!;
          // The scan takes no control characters, so no NUL (which would let a task id pose as another vhost's).
          if (start < 0 || end === start || end - start > MAX_TASK_ID_BYTES) return;
          const host = o[FIELD_HOSTNAME]! < 0 ? null : this.hostStrings.intern(body, o[FIELD_HOSTNAME]!, o[FIELD_HOSTNAME + 1]!);
          const name = o[FIELD_NAME]! < 0 ? null : this.nameStrings.intern(body, o[FIELD_NAME]!, o[FIELD_NAME + 1]!);
          this.tasks.onEventBytes(vhost, body, start, end, type, host, name, id, at);
        } else {
          const data = this.parsed!;
          const uuid = text(data.uuid);
          if (uuid !== null && uuid !== '') this.tasks.onEvent(vhost, uuid, type, text(data.hostname), text(data.name), id, at);
        }
      } else if (type.startsWith('worker-')) {
        const parsed = kind === PARSED ? this.parsed : parseObject(body);
        const host = text(parsed?.hostname);
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
