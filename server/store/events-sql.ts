// The SQL of the event log and of the task and worker indexes kept from it (schema 6).
// Prepared once by the SqliteStore, which runs the batch part inside its one write transaction.
import type Database from 'better-sqlite3';
import type {
  EventLogQuery, EventPruneResult, StoredEvent, StoredTaskIndex, StoredWorkerIndex, TaskIndexQuery, WriteBatch,
} from './store.js';

interface EventRow { id: number; vhost: string; type: string; routing_key: string; at: number; body: Buffer }
interface TaskRow {
  first_event_id: number; vhost: string; task_id: string; last_event_id: number; state: string; name: string | null;
  worker: string | null; first_at: number; detail: string;
}
interface WorkerRow { vhost: string; hostname: string; last_event_id: number; detail: string }

const EVENT_COLUMNS = 'id, vhost, type, routing_key, at, body';
const TASK_COLUMNS = 'first_event_id, vhost, task_id, last_event_id, state, name, worker, first_at, detail';

function toEvent(r: EventRow): StoredEvent {
  return { id: r.id, vhost: r.vhost, type: r.type, routingKey: r.routing_key, at: r.at, body: r.body };
}

function toTask(r: TaskRow): StoredTaskIndex {
  return {
    vhost: r.vhost, taskId: r.task_id, firstEventId: r.first_event_id, lastEventId: r.last_event_id, state: r.state, name: r.name,
    worker: r.worker, firstAt: r.first_at, detail: r.detail,
  };
}

/** `%` and `_` match themselves in a LIKE pattern (escaped with `\`). */
function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Statements for the `events`, `event_tasks` and `event_workers` tables. */
export class EventsSql {
  private readonly insertEvent: Database.Statement;
  private readonly raiseMaxEventId: Database.Statement;
  private readonly raiseIndexThrough: Database.Statement;
  private readonly selectIndexThrough: Database.Statement<[], { value: number }>;
  private readonly upsertTask: Database.Statement;
  private readonly upsertWorker: Database.Statement;
  private readonly selectBounds: Database.Statement<[], { first: number | null; last: number }>;
  private readonly selectWindow: Database.Statement<[Record<string, unknown>], EventRow>;
  private readonly selectFirstFrom: Database.Statement<[number], { id: number; at: number }>;
  private readonly selectByIds: Database.Statement<[string], EventRow>;
  private readonly selectOldest: Database.Statement<[number], { id: number; at: number }>;
  private readonly deleteEventsUpTo: Database.Statement;
  private readonly deleteTasksUpTo: Database.Statement;
  private readonly deleteWorkersUpTo: Database.Statement;
  private readonly selectTask: Database.Statement<[string, string], TaskRow>;
  private readonly selectTasks: Database.Statement<[Record<string, unknown>], TaskRow>;
  private readonly selectWorkers: Database.Statement<[], WorkerRow>;
  private readonly pruneTx: (upTo: number) => number;

  constructor(db: Database.Database) {
    this.insertEvent = db.prepare(`INSERT INTO events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`);
    this.raiseMaxEventId = db.prepare(`UPDATE meta SET value = max(value, ?) WHERE key = 'max_event_id'`);
    this.raiseIndexThrough = db.prepare(`UPDATE meta SET value = max(value, ?) WHERE key = 'event_index_through'`);
    this.selectIndexThrough = db.prepare(`SELECT value FROM meta WHERE key = 'event_index_through'`);
    // A row keeps the first_event_id and first_at it was created with: they place it in listings.
    this.upsertTask = db.prepare(
      `INSERT INTO event_tasks (${TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (vhost, task_id) DO UPDATE SET last_event_id = excluded.last_event_id, state = excluded.state,
         name = excluded.name, worker = excluded.worker, detail = excluded.detail`,
    );
    this.upsertWorker = db.prepare(
      `INSERT INTO event_workers (vhost, hostname, last_event_id, detail) VALUES (?, ?, ?, ?)
       ON CONFLICT (vhost, hostname) DO UPDATE SET last_event_id = excluded.last_event_id, detail = excluded.detail`,
    );
    this.selectBounds = db.prepare(
      `SELECT (SELECT min(id) FROM events) AS first,
              max(coalesce((SELECT value FROM meta WHERE key = 'max_event_id'), 0), coalesce((SELECT max(id) FROM events), 0)) AS last`,
    );
    // A window of ids walked in rowid order; the filters only skip rows inside it.
    this.selectWindow = db.prepare(
      `SELECT ${EVENT_COLUMNS} FROM events
       WHERE id > @after AND id <= @upTo AND (@vhost IS NULL OR vhost = @vhost)
         AND (@types IS NULL OR type IN (SELECT value FROM json_each(@types)))
       ORDER BY id LIMIT @limit`,
    );
    this.selectFirstFrom = db.prepare('SELECT id, at FROM events WHERE id >= ? ORDER BY id LIMIT 1');
    this.selectByIds = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`);
    this.selectOldest = db.prepare('SELECT id, at FROM events ORDER BY id LIMIT ?');
    this.deleteEventsUpTo = db.prepare('DELETE FROM events WHERE id <= ?');
    // A range of the rowid (first_event_id); of its rows only tasks still running past N stay.
    this.deleteTasksUpTo = db.prepare('DELETE FROM event_tasks WHERE first_event_id <= @upTo AND last_event_id <= @upTo');
    this.deleteWorkersUpTo = db.prepare('DELETE FROM event_workers WHERE last_event_id <= ?');
    this.selectTask = db.prepare(`SELECT ${TASK_COLUMNS} FROM event_tasks WHERE vhost = ? AND task_id = ?`);
    this.selectTasks = db.prepare(
      `SELECT ${TASK_COLUMNS} FROM event_tasks
       WHERE (@before IS NULL OR first_event_id < @before) AND (@vhost IS NULL OR vhost = @vhost) AND (@state IS NULL OR state = @state)
         AND (@name IS NULL OR name = @name) AND (@worker IS NULL OR worker = @worker)
         AND (@from IS NULL OR first_at >= @from) AND (@to IS NULL OR first_at < @to)
         AND (@search IS NULL OR task_id LIKE @search || '%' ESCAPE '\\' OR name LIKE '%' || @search || '%' ESCAPE '\\')
       ORDER BY first_event_id DESC LIMIT @limit`,
    );
    this.selectWorkers = db.prepare('SELECT vhost, hostname, last_event_id, detail FROM event_workers ORDER BY vhost, hostname');
    this.pruneTx = db.transaction((upTo: number) => {
      const n = this.deleteEventsUpTo.run(upTo).changes;
      this.deleteTasksUpTo.run({ upTo });
      this.deleteWorkersUpTo.run(upTo);
      return n;
    });
  }

  /** The batch's event writes; runs inside the store's write transaction. */
  apply(batch: WriteBatch): void {
    const events = batch.events ?? [];
    if (events.length > 0) {
      for (const e of events) this.insertEvent.run(e.id, e.vhost, e.type, e.routingKey, e.at, e.body);
      this.raiseMaxEventId.run(events[events.length - 1]!.id);
    }
    for (const t of batch.eventTasks ?? []) {
      this.upsertTask.run(t.firstEventId, t.vhost, t.taskId, t.lastEventId, t.state, t.name, t.worker, t.firstAt, t.detail);
    }
    for (const w of batch.eventWorkers ?? []) this.upsertWorker.run(w.vhost, w.hostname, w.lastEventId, w.detail);
    if (batch.eventIndexThrough !== undefined) this.raiseIndexThrough.run(batch.eventIndexThrough);
  }

  indexThrough(): number {
    return this.selectIndexThrough.get()?.value ?? 0;
  }

  bounds(): { first: number; last: number } {
    const r = this.selectBounds.get();
    return { first: r?.first ?? 0, last: r?.last ?? 0 };
  }

  read(q: EventLogQuery): StoredEvent[] {
    if (q.limit <= 0 || q.upToId <= q.afterId) return [];
    const types = q.types === null ? null : JSON.stringify(q.types);
    return this.selectWindow.all({ after: q.afterId, upTo: q.upToId, vhost: q.vhost, types, limit: q.limit }).map(toEvent);
  }

  /** Bisects ids [first, last] for the first kept event stored at or after `time` (a gap is skipped to the next kept id). */
  firstAt(time: number): number | null {
    const { first, last } = this.bounds();
    if (first === 0) return null;
    let lo = first;
    let hi = last;
    let found: number | null = null;
    while (lo <= hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const row = this.selectFirstFrom.get(mid);
      if (row === undefined) {
        hi = mid - 1;
        continue;
      }
      if (row.at >= time) {
        found = row.id;
        hi = mid - 1;
      } else {
        lo = row.id + 1;
      }
    }
    return found;
  }

  loadByIds(ids: readonly number[]): StoredEvent[] {
    if (ids.length === 0) return [];
    return this.selectByIds.all(JSON.stringify(ids)).map(toEvent);
  }

  prune(keepAfterId: number, before: number, limit: number): EventPruneResult {
    if (limit <= 0) return { deleted: 0, upTo: 0 };
    // Oldest first, up to the first event to keep (iterated, so that one row is all a log within
    // its bounds costs): never a scan past the batch.
    let upTo = 0;
    for (const r of this.selectOldest.iterate(limit)) {
      if (r.id > keepAfterId && r.at >= before) break;
      upTo = r.id;
    }
    if (upTo === 0) return { deleted: 0, upTo: 0 };
    return { deleted: this.pruneTx(upTo), upTo };
  }

  loadTask(vhost: string, taskId: string): StoredTaskIndex | null {
    const r = this.selectTask.get(vhost, taskId);
    return r === undefined ? null : toTask(r);
  }

  queryTasks(q: TaskIndexQuery): StoredTaskIndex[] {
    if (q.limit <= 0) return [];
    const search = q.search === null || q.search === '' ? null : likeEscape(q.search);
    return this.selectTasks.all({
      before: q.beforeId, vhost: q.vhost, state: q.state, name: q.name, worker: q.worker, from: q.from, to: q.to, search, limit: q.limit,
    }).map(toTask);
  }

  loadWorkers(): StoredWorkerIndex[] {
    return this.selectWorkers.all().map((r) => ({ vhost: r.vhost, hostname: r.hostname, lastEventId: r.last_event_id, detail: r.detail }));
  }
}
