// The SQL of the event log (schema 6); the task and worker indexes are the engine's, in memory.
// Prepared once by the SqliteStore, which runs the batch part inside its one write transaction.
import type Database from 'better-sqlite3';
import type { EventLogQuery, EventPruneResult, StoredEvent, WriteBatch } from './store.js';

interface EventRow { id: number; vhost: string; type: string; routing_key: string; at: number; body: Buffer }

const EVENT_COLUMNS = 'id, vhost, type, routing_key, at, body';

function toEvent(r: EventRow): StoredEvent {
  return { id: r.id, vhost: r.vhost, type: r.type, routingKey: r.routing_key, at: r.at, body: r.body };
}

/** Statements for the `events` table. */
export class EventsSql {
  private readonly insertEvent: Database.Statement;
  private readonly raiseMaxEventId: Database.Statement;
  private readonly selectBounds: Database.Statement<[], { first: number | null; last: number }>;
  private readonly selectWindow: Database.Statement<[Record<string, unknown>], EventRow>;
  private readonly selectFirstFrom: Database.Statement<[number], { id: number; at: number }>;
  private readonly selectByIds: Database.Statement<[string], EventRow>;
  private readonly selectOldest: Database.Statement<[number], { id: number; at: number }>;
  private readonly deleteEventsUpTo: Database.Statement;

  constructor(db: Database.Database) {
    this.insertEvent = db.prepare(`INSERT INTO events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`);
    this.raiseMaxEventId = db.prepare(`UPDATE meta SET value = max(value, ?) WHERE key = 'max_event_id'`);
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
  }

  /** The batch's event writes; runs inside the store's write transaction. */
  apply(batch: WriteBatch): void {
    const events = batch.events ?? [];
    if (events.length > 0) {
      for (const e of events) this.insertEvent.run(e.id, e.vhost, e.type, e.routingKey, e.at, e.body);
      this.raiseMaxEventId.run(events[events.length - 1]!.id);
    }
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
    return { deleted: this.deleteEventsUpTo.run(upTo).changes, upTo };
  }
}
