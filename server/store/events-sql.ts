// The event log's one row in SQLite: meta.max_event_id, the highest event id pruned, so ids keep
// increasing after every chunk was pruned (the chunks themselves are in segment files:
// event-segments.ts, event-store.ts). Prepared once by the SqliteStore.
import type Database from 'better-sqlite3';
import type { PrunedMark } from './event-store.js';

/** meta.max_event_id, read and raised. */
export class EventsSql implements PrunedMark {
  private readonly select: Database.Statement<[], { value: number }>;
  private readonly raiseMark: Database.Statement;

  /** `sync` makes a raised mark durable (the WAL's fsync in 'full' durability), before segment files go. */
  constructor(db: Database.Database, readonly sync: () => void) {
    this.select = db.prepare(`SELECT value FROM meta WHERE key = 'max_event_id'`);
    this.raiseMark = db.prepare(`UPDATE meta SET value = max(value, ?) WHERE key = 'max_event_id'`);
  }

  read(): number {
    return this.select.get()?.value ?? 0;
  }

  raise(upTo: number): void {
    this.raiseMark.run(upTo);
  }
}
