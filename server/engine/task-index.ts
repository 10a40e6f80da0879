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

/** A cached task and whether the store has its latest version (only such entries may leave the cache). */
interface Cached {
  entry: TaskEntry;
  version: number;
  saved: number;
}

/** Fields that are columns of the row; the rest go in its JSON detail. */
const COLUMNS = new Set(['vhost', 'id', 'state', 'name', 'worker', 'firstEventId', 'lastEventId', 'firstSeen']);

function toRow(e: TaskEntry): StoredTaskIndex {
  const detail: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (!COLUMNS.has(k)) detail[k] = v;
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

export class TaskIndex {
  /** Recently touched tasks, least recent first (a Map keeps insertion order). */
  private readonly cache = new Map<string, Cached>();
  private readonly cacheSize: number;

  constructor(private readonly deps: TaskIndexDeps) {
    this.cacheSize = deps.cacheSize ?? DEFAULT_TASK_CACHE;
  }

  /** A task event was stored as `eventId` at broker time `at`: merge it and write the task's row with the commit. */
  onEvent(vhost: string, taskId: string, type: string, event: Record<string, unknown>, eventId: number, at: number): void {
    const key = `${vhost}\u0000${taskId}`;
    let cached = this.cache.get(key);
    if (cached !== undefined) this.cache.delete(key);
    else {
      // Not touched lately: its row (a task from before a restart, or evicted), or a new task.
      const row = this.deps.store.loadTaskIndex(vhost, taskId);
      cached = { entry: row === null ? newTaskEntry(vhost, taskId, eventId, at) : fromRow(row), version: 0, saved: 0 };
    }
    this.cache.set(key, cached);
    applyTaskEvent(cached.entry, type, event, eventId, at);
    const c = cached;
    const version = ++c.version;
    // A failed commit lost this version; the next event writes the whole row again. Either way
    // the entry may leave the cache now.
    this.deps.writer.putEventTask(toRow(c.entry), () => { if (version > c.saved) c.saved = version; });
    if (this.cache.size > this.cacheSize * 1.25) this.trim();
  }

  /** The task, freshest first from the cache, else from the store; null when unknown. */
  get(vhost: string, taskId: string): TaskEntry | null {
    const cached = this.cache.get(`${vhost}\u0000${taskId}`);
    if (cached !== undefined) return cached.entry;
    const row = this.deps.store.loadTaskIndex(vhost, taskId);
    return row === null ? null : fromRow(row);
  }

  /** A page of tasks, newest first; pending row writes are committed first. */
  query(raw: TasksQuery = {}): { tasks: TaskInfo[]; cursor: number | null } {
    if (raw === null || typeof raw !== 'object') throw fail('ERR_INVALID_ARGUMENT', 'tasks query: must be an object');
    const q = raw as Record<string, unknown>;
    const limit = optionalCount(q, 'limit', MAX_QUERY_LIMIT) ?? DEFAULT_QUERY_LIMIT;
    const query: TaskIndexQuery = {
      vhost: optionalText(q, 'vhost'), state: optionalText(q, 'state'), name: optionalText(q, 'name'), worker: optionalText(q, 'worker'),
      search: optionalText(q, 'search'), from: optionalCount(q, 'from'), to: optionalCount(q, 'to'), beforeId: optionalCount(q, 'cursor'), limit,
    };
    this.deps.writer.flush();
    const rows = this.deps.store.queryTaskIndex(query);
    const tasks = rows.map((r) => taskInfoOf(fromRow(r)));
    return { tasks, cursor: rows.length === limit && limit > 0 ? rows[rows.length - 1]!.firstEventId : null };
  }

  /** Retention deleted the rows whose latest event id is at or below `upTo`: so do we, for saved entries. */
  pruned(upTo: number): void {
    for (const [key, c] of this.cache) if (c.entry.lastEventId <= upTo && c.saved === c.version) this.cache.delete(key);
  }

  /** Evicts least recent saved entries down to the cache size (unsaved ones stay until their commit). */
  private trim(): void {
    let excess = this.cache.size - this.cacheSize;
    for (const [key, c] of this.cache) {
      if (excess <= 0) break;
      if (c.saved !== c.version) continue;
      this.cache.delete(key);
      excess--;
    }
  }
}
