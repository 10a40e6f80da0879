// The SQL of the event log (schema 6); the task and worker indexes are the engine's, in memory.
// Events are stored a chunk per group commit (event-chunk.ts): one row holding the events of the
// commit, keyed by its first id, with its last id and the storing time of its last event. Reads
// decode the chunks of their window; retention deletes whole chunks, oldest first, once every event
// of one is beyond a bound. Prepared once by the SqliteStore, which runs the batch part inside its
// one write transaction.
import type Database from 'better-sqlite3';
import { decodeChunk, encodeChunk } from './event-chunk.js';
import type { EventLogQuery, EventPruneResult, StoredEvent, WriteBatch } from './store.js';

interface ChunkRow { first_id: number; last_id: number; stored_at: number; events: Buffer }

/** Statements for the `events` table. */
export class EventsSql {
  private readonly insertChunk: Database.Statement;
  private readonly raiseMaxEventId: Database.Statement;
  private readonly selectBounds: Database.Statement<[], { first: number | null; last: number }>;
  private readonly selectFrom: Database.Statement<[{ from: number; upTo: number }], ChunkRow>;
  private readonly selectHolding: Database.Statement<[number], ChunkRow>;
  private readonly selectFirstFrom: Database.Statement<[number], { first_id: number; stored_at: number }>;
  private readonly selectOldest: Database.Statement<[], { first_id: number; last_id: number; stored_at: number }>;
  private readonly deleteChunksUpTo: Database.Statement;
  private readonly pruneTx: (upTo: number) => void;

  constructor(db: Database.Database) {
    this.insertChunk = db.prepare('INSERT INTO events (first_id, last_id, stored_at, events) VALUES (?, ?, ?, ?)');
    this.raiseMaxEventId = db.prepare(`UPDATE meta SET value = max(value, ?) WHERE key = 'max_event_id'`);
    // meta.max_event_id is raised by pruning only (what it deletes): with the kept chunks it gives the highest id ever stored.
    this.selectBounds = db.prepare(
      `SELECT (SELECT min(first_id) FROM events) AS first,
              max(coalesce((SELECT value FROM meta WHERE key = 'max_event_id'), 0),
                  coalesce((SELECT last_id FROM events ORDER BY first_id DESC LIMIT 1), 0)) AS last`,
    );
    // The chunk holding id `after + 1` (the last that starts at or before it) and those after, up to `upTo`.
    this.selectFrom = db.prepare(
      `SELECT first_id, last_id, stored_at, events FROM events
       WHERE first_id >= coalesce((SELECT first_id FROM events WHERE first_id <= @from ORDER BY first_id DESC LIMIT 1), 0) AND first_id <= @upTo
       ORDER BY first_id`,
    );
    this.selectHolding = db.prepare('SELECT first_id, last_id, stored_at, events FROM events WHERE first_id <= ? ORDER BY first_id DESC LIMIT 1');
    this.selectFirstFrom = db.prepare('SELECT first_id, stored_at FROM events WHERE first_id >= ? ORDER BY first_id LIMIT 1');
    this.selectOldest = db.prepare('SELECT first_id, last_id, stored_at FROM events ORDER BY first_id');
    this.deleteChunksUpTo = db.prepare('DELETE FROM events WHERE first_id <= ?');
    this.pruneTx = db.transaction((upTo: number) => {
      this.deleteChunksUpTo.run(upTo);
      this.raiseMaxEventId.run(upTo);
    });
  }

  /** The batch's events as one chunk; runs inside the store's write transaction. */
  apply(batch: WriteBatch): void {
    const events = batch.events ?? [];
    if (events.length === 0) return;
    const last = events[events.length - 1]!;
    this.insertChunk.run(events[0]!.id, last.id, last.at, encodeChunk(events));
  }

  bounds(): { first: number; last: number } {
    const r = this.selectBounds.get();
    return { first: r?.first ?? 0, last: r?.last ?? 0 };
  }

  read(q: EventLogQuery): StoredEvent[] {
    if (q.limit <= 0 || q.upToId <= q.afterId) return [];
    const types = q.types === null ? null : new Set(q.types);
    const out: StoredEvent[] = [];
    for (const row of this.selectFrom.iterate({ from: q.afterId + 1, upTo: q.upToId })) {
      if (row.last_id <= q.afterId) continue;
      for (const e of decodeChunk(row.events)) {
        if (e.id <= q.afterId) continue;
        if (e.id > q.upToId) return out;
        if ((q.vhost !== null && e.vhost !== q.vhost) || (types !== null && !types.has(e.type))) continue;
        out.push(e);
        if (out.length >= q.limit) return out;
      }
    }
    return out;
  }

  /**
   * Bisects the chunks (by first id, from the oldest kept to the newest) for the first whose last
   * event was stored at or after `time`, then finds the first such event in it: storing times
   * grow with ids, so no earlier chunk holds one.
   */
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
      if (row.stored_at >= time) {
        found = row.first_id;
        hi = mid - 1;
      } else {
        lo = row.first_id + 1;
      }
    }
    // The first chunk whose last event is young enough holds the first such event.
    if (found === null) return null;
    for (const e of decodeChunk(this.selectHolding.get(found)!.events)) if (e.at >= time) return e.id;
    return null;
  }

  /** The events of these ids still kept, in id order (each chunk decoded once). */
  loadByIds(ids: readonly number[]): StoredEvent[] {
    const out: StoredEvent[] = [];
    let chunk: { first: number; last: number; events: StoredEvent[] } | null = null;
    for (const id of [...new Set(ids)].sort((a, b) => a - b)) {
      if (chunk === null || id < chunk.first || id > chunk.last) {
        const row = this.selectHolding.get(id);
        if (row === undefined || row.last_id < id) continue;
        chunk = { first: row.first_id, last: row.last_id, events: decodeChunk(row.events) };
      }
      const e = chunk.events[id - chunk.first];
      // Ids are dense within a chunk; the check keeps a wrong guess from answering another event.
      if (e !== undefined && e.id === id) out.push(e);
      else {
        const found = chunk.events.find((x) => x.id === id);
        if (found !== undefined) out.push(found);
      }
    }
    return out;
  }

  /**
   * Deletes the oldest chunks whose every event is beyond a bound (last id at or below
   * `keepAfterId`, or last event stored before `before`), up to about `limit` events (at least one
   * chunk), stopping at the first chunk to keep.
   */
  prune(keepAfterId: number, before: number, limit: number): EventPruneResult {
    if (limit <= 0) return { deleted: 0, upTo: 0 };
    let upTo = 0;
    let firstDeleted = 0;
    let deleted = 0;
    for (const r of this.selectOldest.iterate()) {
      if (r.last_id > keepAfterId && r.stored_at >= before) break;
      if (deleted > 0 && deleted + (r.last_id - r.first_id + 1) > limit) break;
      if (firstDeleted === 0) firstDeleted = r.first_id;
      upTo = r.last_id;
      deleted += r.last_id - r.first_id + 1;
    }
    if (upTo === 0) return { deleted: 0, upTo: 0 };
    this.pruneTx(upTo);
    return { deleted, upTo };
  }
}
