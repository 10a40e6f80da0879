// The task index: per task id, what its events said (state, arguments, result or error, worker,
// times), kept in the store with the event log's retention. Recent tasks are cached in memory, so
// an event of a running task costs a merge and one row write per commit, never a read.
import { fail } from '../../shared/errors.js';
import type { BrokerStore, StoredTaskIndex, TaskIndexQuery } from '../store/store.js';
import type { TaskInfo, TasksQuery } from './events-api.js';
import type { CommitWriter } from './message-flow.js';
import { applyTaskEvent, newTaskEntry, type TaskEntry } from './task-events.js';

/** Tasks kept in memory by default: enough for every task in flight on a busy broker. */
export const DEFAULT_TASK_CACHE = 10_000;

/** Tasks a query returns by default, and at most. */
const DEFAULT_QUERY_LIMIT = 100;
const MAX_QUERY_LIMIT = 1_000;

/**
 * A cached task. `changed` once an event changed it since its row was last built; `queued` while a
 * write of its row waits in the writer for the next commit, which builds the row from the entry as
 * it is then (one serialization however many events changed it) and clears both. Only an entry
 * with neither may leave the cache: the store then holds what the entry holds.
 */
interface Cached {
  readonly entry: TaskEntry;
  readonly key: string;
  changed: boolean;
  queued: boolean;
  /** Used since the eviction scan last passed it (second chance: the scan moves it to the back instead). */
  used: boolean;
  /** Left the index with retention: a write still queued for it writes nothing. */
  dropped: boolean;
  readonly row: () => StoredTaskIndex | null;
}

/** Fields of the entry kept in the row's JSON detail (the rest are columns). Nulls are left out. */
const DETAIL_FIELDS = [
  'args', 'kwargs', 'argsValue', 'kwargsValue', 'result', 'exception', 'traceback', 'retries', 'queue', 'exchange', 'routingKey', 'rootId', 'parentId', 'eta', 'expires',
  'sent', 'received', 'started', 'succeeded', 'failed', 'retried', 'revoked', 'rejected', 'runtime', 'terminated', 'expired', 'reason',
  'timestamp', 'lastSeen', 'events',
] as const satisfies readonly (keyof TaskEntry)[];

function toRow(e: TaskEntry): StoredTaskIndex {
  const detail: Record<string, unknown> = {};
  for (const k of DETAIL_FIELDS) {
    const v = e[k];
    if (v !== null) detail[k] = v;
  }
  return {
    vhost: e.vhost, taskId: e.id, firstEventId: e.firstEventId, lastEventId: e.lastEventId, state: e.state, name: e.name, worker: e.worker,
    firstAt: e.firstSeen, detail: JSON.stringify(detail),
  };
}

function fromRow(r: StoredTaskIndex): TaskEntry {
  const entry = newTaskEntry(r.vhost, r.taskId, r.firstEventId, r.firstAt);
  Object.assign(entry, JSON.parse(r.detail) as Partial<TaskEntry>);
  entry.state = r.state;
  entry.name = r.name;
  entry.worker = r.worker;
  entry.lastEventId = r.lastEventId;
  return entry;
}

/** The cache key of a task: its id in the default vhost (the common case, no string built), else vhost + NUL + id. */
function keyOf(vhost: string, taskId: string): string {
  return vhost === '/' ? taskId : `${vhost}\u0000${taskId}`;
}

/** The API's view of an entry (without its event ids). */
export function taskInfoOf(e: TaskEntry): TaskInfo {
  const { events: _events, ...info } = e;
  return info;
}

function optionalText(q: Record<string, unknown>, key: string): string | null {
  const v = q[key];
  if (v === undefined) return null;
  if (typeof v !== 'string' || v.length > 255) throw fail('ERR_INVALID_ARGUMENT', `tasks query: ${key} must be a string of at most 255 characters`);
  return v;
}

function optionalCount(q: Record<string, unknown>, key: string, max = Number.MAX_SAFE_INTEGER): number | null {
  const v = q[key];
  if (v === undefined) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw fail('ERR_INVALID_ARGUMENT', `tasks query: ${key} must be an integer from 0 to ${max}`);
  return v;
}

/** What the task index needs: the store it reads, the writer it writes through, how many tasks to cache. */
export interface TaskIndexDeps {
  store: Pick<BrokerStore, 'loadTaskIndex' | 'queryTaskIndex'>;
  writer: Pick<CommitWriter, 'putEventTask' | 'flush'>;
  cacheSize?: number;
}

/**
 * Task rows are not written per event: changed tasks are written together when `writeChanged()` is
 * called (every second by the event log, before a query, at close), so a task costs one row write
 * for all the events of its second, in one large transaction. What a crash loses of that is read
 * back from the event log at start (see EventLog).
 */
export class TaskIndex {
  /** Cached tasks in the order the eviction scan meets them (a Map keeps insertion order). */
  private readonly cache = new Map<string, Cached>();
  /** Tasks changed since the last writeChanged(). */
  private changedSet = new Set<Cached>();
  private readonly cacheSize: number;

  constructor(private readonly deps: TaskIndexDeps) {
    this.cacheSize = deps.cacheSize ?? DEFAULT_TASK_CACHE;
  }

  /** Tasks changed and not yet handed to the writer. */
  get changedCount(): number {
    return this.changedSet.size;
  }

  /** A task event was stored as `eventId` at broker time `at`: merge it; its row is written with the next writeChanged(). */
  onEvent(vhost: string, taskId: string, type: string, event: Record<string, unknown>, eventId: number, at: number): void {
    const key = keyOf(vhost, taskId);
    let cached = this.cache.get(key);
    if (cached !== undefined) cached.used = true;
    else {
      // Not touched lately: its row (a task from before a restart, or evicted), or a new task.
      const row = this.deps.store.loadTaskIndex(vhost, taskId);
      cached = this.cached(key, row === null ? newTaskEntry(vhost, taskId, eventId, at) : fromRow(row));
      this.cache.set(key, cached);
    }
    if (!applyTaskEvent(cached.entry, type, event, eventId, at)) return;
    cached.changed = true;
    this.changedSet.add(cached);
  }

  /**
   * Hands the row of every changed task to the writer (built when the commit is made), after
   * trimming the cache of entries the store is up to date with.
   */
  writeChanged(): void {
    // Trimmed here, not per event: entries become evictable only once their rows are built.
    if (this.cache.size > this.cacheSize) this.trim();
    const changed = this.changedSet;
    if (changed.size === 0) return;
    this.changedSet = new Set();
    for (const c of changed) {
      if (!c.changed || c.queued) continue; // already written, or its queued row will be built with this change
      c.queued = true;
      this.deps.writer.putEventTask(c.key, c.row);
    }
  }

  private cached(key: string, entry: TaskEntry): Cached {
    const c: Cached = {
      entry, key, changed: false, queued: false, used: false, dropped: false,
      row: () => {
        c.changed = false;
        c.queued = false;
        return c.dropped ? null : toRow(entry);
      },
    };
    return c;
  }

  /** The task, freshest first from the cache, else from the store; null when unknown. */
  get(vhost: string, taskId: string): TaskEntry | null {
    const cached = this.cache.get(keyOf(vhost, taskId));
    if (cached !== undefined) return cached.entry;
    const row = this.deps.store.loadTaskIndex(vhost, taskId);
    return row === null ? null : fromRow(row);
  }

  /** A page of tasks, newest first; changed rows are written (committed) first. */
  query(raw: TasksQuery = {}): { tasks: TaskInfo[]; cursor: number | null } {
    if (raw === null || typeof raw !== 'object') throw fail('ERR_INVALID_ARGUMENT', 'tasks query: must be an object');
    const q = raw as Record<string, unknown>;
    const limit = optionalCount(q, 'limit', MAX_QUERY_LIMIT) ?? DEFAULT_QUERY_LIMIT;
    const query: TaskIndexQuery = {
      vhost: optionalText(q, 'vhost'), state: optionalText(q, 'state'), name: optionalText(q, 'name'), worker: optionalText(q, 'worker'),
      search: optionalText(q, 'search'), from: optionalCount(q, 'from'), to: optionalCount(q, 'to'), beforeId: optionalCount(q, 'cursor'), limit,
    };
    this.writeChanged();
    this.deps.writer.flush();
    const rows = this.deps.store.queryTaskIndex(query);
    const tasks = rows.map((r) => taskInfoOf(fromRow(r)));
    return { tasks, cursor: rows.length === limit && limit > 0 ? rows[rows.length - 1]!.firstEventId : null };
  }

  /**
   * Retention deleted the rows whose latest event id is at or below `upTo`: so do we, with their
   * changes not yet written (a write already queued writes nothing), or a later write would bring
   * such a task back.
   */
  pruned(upTo: number): void {
    for (const [key, c] of this.cache) {
      if (c.entry.lastEventId > upTo) continue;
      c.dropped = true;
      this.cache.delete(key);
      this.changedSet.delete(c);
    }
  }

  /**
   * Evicts entries the store is up to date with, down to the cache size, oldest first; one used
   * since the last scan gets a second chance at the back (an approximate LRU that costs nothing per
   * event). Entries still to be written are skipped, and the scan looks at each entry at most once.
   */
  private trim(): void {
    let excess = this.cache.size - this.cacheSize;
    let budget = this.cache.size;
    for (const [key, c] of this.cache) {
      if (excess <= 0 || budget-- <= 0) break;
      if (c.changed || c.queued) continue;
      this.cache.delete(key);
      if (c.used) {
        c.used = false;
        this.cache.set(key, c);
        continue;
      }
      excess--;
    }
  }
}
