// The SQL of task results on SQLite: PENDING rows registered at publish, stored results, expiry.
// Prepared once by the SqliteStore, which runs the batch part inside its one write transaction.
//
// Results are an append-only log (`result_log`, keyed by an increasing seq) with the task id ->
// seq index in memory. Why: task ids are random UUIDs, so a table keyed by id put each result on a
// different B-tree leaf, about one 4 KiB WAL page per task under load (1.2-1.9 measured). Appended
// rows share the tail pages: a commit of 150 results writes a few pages. A newer result for an id
// appends and deletes the row it supersedes, which is recent and so on a page the commit writes
// anyway. The index is rebuilt from the table at open (one scan), and costs about 100 bytes of
// memory per stored result, as a Redis result backend holds every key in memory.
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
const keyOf = (vhost: string, taskId: string): string => `${vhost}\u0000${taskId}`;
/** Expired rows deleted per statement, so a sweep of millions holds few in memory at once. */
const EXPIRY_CHUNK = 10_000;

/** A result's column values, in COLUMNS order. */
function row(r: StoredResult): unknown[] {
  return [r.vhost, r.taskId, r.state, r.body, r.contentType, r.dateDone, r.expiresAt];
}

/** What an index change replaced, to put back if the batch's transaction rolls back. */
interface IndexUndo {
  ids: Map<string, number>;
  taskId: string;
  seq: number | undefined;
}

/** Statements for the `result_log` table, and the in-memory index that finds a task's row. */
export class ResultsSql {
  private readonly insertRow: Database.Statement;
  private readonly removeRow: Database.Statement;
  private readonly selectRow: Database.Statement<[number], ResultRow>;
  private readonly removeExpired: Database.Statement<[number, number], { seq: number; vhost: string; task_id: string }>;
  /** vhost -> task id -> seq of the task's current row. */
  private readonly index = new Map<string, Map<string, number>>();
  /** The index changes of the batch being applied, newest last. */
  private undoLog: IndexUndo[] = [];

  constructor(db: Database.Database) {
    this.insertRow = db.prepare(`INSERT INTO result_log (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    this.removeRow = db.prepare('DELETE FROM result_log WHERE seq = ?');
    this.selectRow = db.prepare(`SELECT ${COLUMNS} FROM result_log WHERE seq = ?`);
    this.removeExpired = db.prepare(
      `DELETE FROM result_log WHERE seq IN
         (SELECT seq FROM result_log WHERE expires_at > 0 AND expires_at <= ? LIMIT ?)
       RETURNING seq, vhost, task_id`,
    );
    this.loadIndex(db);
  }

  /** Rebuilds the index from the log. Rows come in seq order, so a later row for an id wins. */
  private loadIndex(db: Database.Database): void {
    const stale: number[] = [];
    const rows = db.prepare('SELECT seq, vhost, task_id FROM result_log ORDER BY seq').raw().iterate() as IterableIterator<
      [number, string, string]
    >;
    for (const [seq, vhost, taskId] of rows) {
      const ids = this.idsOf(vhost);
      const older = ids.get(taskId);
      if (older !== undefined) stale.push(older);
      ids.set(taskId, seq);
    }
    // Only a file edited by hand has two rows for one id; the older one would never be read again.
    if (stale.length > 0) db.transaction(() => { for (const seq of stale) this.removeRow.run(seq); })();
  }

  private idsOf(vhost: string): Map<string, number> {
    let ids = this.index.get(vhost);
    if (ids === undefined) {
      ids = new Map();
      this.index.set(vhost, ids);
    }
    return ids;
  }

  private setSeq(ids: Map<string, number>, taskId: string, seq: number | undefined): void {
    this.undoLog.push({ ids, taskId, seq: ids.get(taskId) });
    if (seq === undefined) ids.delete(taskId);
    else ids.set(taskId, seq);
  }

  private append(r: StoredResult): number {
    return Number(this.insertRow.run(row(r)).lastInsertRowid);
  }

  /**
   * The batch's result writes; runs inside the store's write transaction, after the messages.
   * A PENDING row never overwrites a result that is already there; a stored result replaces any.
   * The caller ends it with keepIndex() once the transaction committed, or undoIndex() if not.
   */
  apply(batch: WriteBatch): void {
    this.undoLog = [];
    const tracks = batch.tracks ?? [];
    const results = batch.results ?? [];
    // A task published and finished within one batch: its PENDING row would be replaced at once,
    // so only the result is written.
    const finished = tracks.length > 0 && results.length > 0 ? new Set(results.map((r) => keyOf(r.vhost, r.taskId))) : null;
    for (const r of tracks) {
      const ids = this.idsOf(r.vhost);
      if (ids.has(r.taskId) || finished?.has(keyOf(r.vhost, r.taskId))) continue;
      this.setSeq(ids, r.taskId, this.append(r));
    }
    for (const r of results) {
      const ids = this.idsOf(r.vhost);
      const older = ids.get(r.taskId);
      this.setSeq(ids, r.taskId, this.append(r));
      if (older !== undefined) this.removeRow.run(older);
    }
    for (const k of batch.resultDeletes ?? []) {
      const ids = this.index.get(k.vhost);
      const seq = ids?.get(k.taskId);
      if (ids === undefined || seq === undefined) continue;
      this.removeRow.run(seq);
      this.setSeq(ids, k.taskId, undefined);
    }
  }

  /** The batch's transaction committed: its index changes stand. */
  keepIndex(): void {
    this.undoLog = [];
  }

  /** The batch's transaction rolled back: the index goes back to what the table holds. */
  undoIndex(): void {
    for (let i = this.undoLog.length - 1; i >= 0; i--) {
      const u = this.undoLog[i] as IndexUndo;
      if (u.seq === undefined) u.ids.delete(u.taskId);
      else u.ids.set(u.taskId, u.seq);
    }
    this.undoLog = [];
  }

  loadResult(vhost: string, taskId: string): StoredResult | null {
    const seq = this.index.get(vhost)?.get(taskId);
    if (seq === undefined) return null;
    const r = this.selectRow.get(seq);
    // A seq is reused once the newest row is deleted (no AUTOINCREMENT): should the index ever
    // fall out of step with the table, a missing answer beats another task's result.
    if (r === undefined || r.task_id !== taskId || r.vhost !== vhost) return null;
    return {
      vhost: r.vhost, taskId: r.task_id, state: r.state, body: r.body, contentType: r.content_type,
      dateDone: r.date_done, expiresAt: r.expires_at,
    };
  }

  /** Deletes every result whose expiry has passed; each chunk commits on its own. */
  deleteExpiredResults(now: number): number {
    let total = 0;
    for (;;) {
      const gone = this.removeExpired.all(now, EXPIRY_CHUNK);
      for (const g of gone) {
        const ids = this.index.get(g.vhost);
        if (ids?.get(g.task_id) === g.seq) ids.delete(g.task_id);
      }
      total += gone.length;
      if (gone.length < EXPIRY_CHUNK) return total;
    }
  }
}
