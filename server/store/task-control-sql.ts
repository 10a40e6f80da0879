// The SQL of task control on SQLite: revoked task ids and groups (chord counters).
// Prepared once by the SqliteStore, which runs the batch part inside its one write transaction.
import type Database from 'better-sqlite3';
import type { StoredGroup, StoredRevocation, WriteBatch } from './store.js';

interface RevokedRow { vhost: string; task_id: string; expires_at: number; terminate: number }
interface GroupRow {
  vhost: string; group_id: string; members: string; done: number; callback: Buffer | null; fired: number; expires_at: number;
}

function toGroup(r: GroupRow): StoredGroup {
  return {
    vhost: r.vhost, groupId: r.group_id, members: JSON.parse(r.members) as string[], done: r.done,
    callback: r.callback, fired: r.fired !== 0, expiresAt: r.expires_at,
  };
}

/** Statements for the `revoked`, `groups` and `group_specs` tables (schema 3). */
export class TaskControlSql {
  private readonly upsertRevoked: Database.Statement;
  private readonly selectRevoked: Database.Statement<[number], RevokedRow>;
  private readonly removeExpiredRevoked: Database.Statement;
  private readonly insertGroup: Database.Statement;
  private readonly insertSpec: Database.Statement;
  private readonly updateGroup: Database.Statement;
  private readonly selectGroup: Database.Statement<[string, string], GroupRow>;
  private readonly selectOpenGroups: Database.Statement<[number], GroupRow>;
  private readonly removeExpiredGroups: Database.Statement;
  private readonly removeExpiredSpecs: Database.Statement;
  private readonly deleteExpiredGroupsTx: (now: number) => number;

  constructor(db: Database.Database) {
    this.upsertRevoked = db.prepare('INSERT OR REPLACE INTO revoked (vhost, task_id, expires_at, terminate) VALUES (?, ?, ?, ?)');
    this.selectRevoked = db.prepare('SELECT vhost, task_id, expires_at, terminate FROM revoked WHERE expires_at = 0 OR expires_at > ? ORDER BY vhost, task_id');
    this.removeExpiredRevoked = db.prepare('DELETE FROM revoked WHERE expires_at > 0 AND expires_at <= ?');
    // Plain INSERTs: declaring an existing group is refused by the engine first, and if two ever
    // reached the store the key constraint fails the batch rather than resetting a counter.
    this.insertGroup = db.prepare(
      'INSERT INTO groups (vhost, group_id, size, done, has_callback, fired, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertSpec = db.prepare('INSERT INTO group_specs (vhost, group_id, members, callback) VALUES (?, ?, ?, ?)');
    this.updateGroup = db.prepare('UPDATE groups SET done = ?, fired = ? WHERE vhost = ? AND group_id = ?');
    const cols = 'g.vhost, g.group_id, s.members, g.done, s.callback, g.fired, g.expires_at';
    const join = 'groups g JOIN group_specs s ON s.vhost = g.vhost AND s.group_id = g.group_id';
    this.selectGroup = db.prepare(`SELECT ${cols} FROM ${join} WHERE g.vhost = ? AND g.group_id = ?`);
    this.selectOpenGroups = db.prepare(
      `SELECT ${cols} FROM ${join} WHERE (g.expires_at = 0 OR g.expires_at > ?)
         AND (g.done < g.size OR (g.has_callback = 1 AND g.fired = 0)) ORDER BY s.rowid`,
    );
    this.removeExpiredSpecs = db.prepare(
      `DELETE FROM group_specs WHERE rowid IN (SELECT s.rowid FROM ${join} WHERE g.expires_at > 0 AND g.expires_at <= ?)`,
    );
    this.removeExpiredGroups = db.prepare('DELETE FROM groups WHERE expires_at > 0 AND expires_at <= ?');
    // Specs first: they are found through their group's expiry, which goes with the group row.
    this.deleteExpiredGroupsTx = db.transaction((now: number) => {
      this.removeExpiredSpecs.run(now);
      return this.removeExpiredGroups.run(now).changes;
    });
  }

  /** The batch's task-control writes; runs inside the store's write transaction, after the results. */
  apply(batch: WriteBatch): void {
    for (const r of batch.revocations ?? []) this.upsertRevoked.run(r.vhost, r.taskId, r.expiresAt, r.terminate ? 1 : 0);
    for (const g of batch.groups ?? []) {
      this.insertGroup.run(g.vhost, g.groupId, g.members.length, g.done, g.callback === null ? 0 : 1, g.fired ? 1 : 0, g.expiresAt);
      this.insertSpec.run(g.vhost, g.groupId, JSON.stringify(g.members), g.callback);
    }
    for (const p of batch.groupProgress ?? []) this.updateGroup.run(p.done, p.fired ? 1 : 0, p.vhost, p.groupId);
  }

  loadRevocations(now: number): StoredRevocation[] {
    return this.selectRevoked.all(now).map((r) => ({ vhost: r.vhost, taskId: r.task_id, expiresAt: r.expires_at, terminate: r.terminate !== 0 }));
  }

  deleteExpiredRevocations(now: number): number {
    return this.removeExpiredRevoked.run(now).changes;
  }

  loadGroup(vhost: string, groupId: string): StoredGroup | null {
    const row = this.selectGroup.get(vhost, groupId);
    return row === undefined ? null : toGroup(row);
  }

  loadOpenGroups(now: number): StoredGroup[] {
    return this.selectOpenGroups.all(now).map(toGroup);
  }

  deleteExpiredGroups(now: number): number {
    return this.deleteExpiredGroupsTx(now);
  }
}
