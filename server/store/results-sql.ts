// The SQL of task results on SQLite: PENDING rows registered at publish, stored results, expiry.
// Prepared once by the SqliteStore, which runs the batch part inside its one write transaction.
import type Database from 'better-sqlite3';
import type { StoredResult, WriteBatch } from './store.js';

interface ResultRow {
  vhost: string;
  task_id: string;
  state: string;
  body: Buffer | null;
  content_type: string | null;
  date_done: number;
  expires_at: number;
}

const COLUMNS = 'vhost, task_id, state, body, content_type, date_done, expires_at';

/** A result's column values, in COLUMNS order. */
function row(r: StoredResult): unknown[] {
  return [r.vhost, r.taskId, r.state, r.body, r.contentType, r.dateDone, r.expiresAt];
}

/** Statements for the `results` table. */
export class ResultsSql {
  private readonly insertTrack: Database.Statement;
  private readonly upsertResult: Database.Statement;
  private readonly removeResult: Database.Statement;
  private readonly selectResult: Database.Statement<[string, string], ResultRow>;
  private readonly removeExpiredResults: Database.Statement;

  constructor(db: Database.Database) {
    // A PENDING row never overwrites a result that is already there; a stored result replaces any.
    this.insertTrack = db.prepare(`INSERT OR IGNORE INTO results (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    this.upsertResult = db.prepare(`INSERT OR REPLACE INTO results (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    this.removeResult = db.prepare('DELETE FROM results WHERE vhost = ? AND task_id = ?');
    this.selectResult = db.prepare(`SELECT ${COLUMNS} FROM results WHERE vhost = ? AND task_id = ?`);
    this.removeExpiredResults = db.prepare('DELETE FROM results WHERE expires_at > 0 AND expires_at <= ?');
  }

  /** The batch's result writes; runs inside the store's write transaction, after the messages. */
  apply(batch: WriteBatch): void {
    for (const r of batch.tracks ?? []) this.insertTrack.run(row(r));
    for (const r of batch.results ?? []) this.upsertResult.run(row(r));
    for (const k of batch.resultDeletes ?? []) this.removeResult.run(k.vhost, k.taskId);
  }

  loadResult(vhost: string, taskId: string): StoredResult | null {
    const r = this.selectResult.get(vhost, taskId);
    if (r === undefined) return null;
    return {
      vhost: r.vhost, taskId: r.task_id, state: r.state, body: r.body, contentType: r.content_type,
      dateDone: r.date_done, expiresAt: r.expires_at,
    };
  }

  deleteExpiredResults(now: number): number {
    return this.removeExpiredResults.run(now).changes;
  }
}
