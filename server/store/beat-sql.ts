// The SQL of beat on SQLite: schedule entries, leader leases and the fire log (schema 5).
// Prepared once by the SqliteStore, which runs the batch part inside its one write transaction.
import type Database from 'better-sqlite3';
import { FIRE_LOG_KEEP, FIRE_LOG_MAX_AGE_MS, type StoredBeat, type StoredScheduleEntry, type WriteBatch } from './store.js';

interface EntryRow {
  vhost: string; name: string; spec: string; paused: number; source: string; last_run_at: number | null; next_run_at: number | null;
  run_count: number; created_at: number; updated_at: number; revision: number;
}
interface LeaseRow { vhost: string; name: string; holder: string | null; epoch: number; expires_at: number }
interface FireRow { vhost: string; entry: string; scheduled_at: number; fired_at: number }

function toEntry(r: EntryRow): StoredScheduleEntry {
  return {
    vhost: r.vhost, name: r.name, spec: r.spec, paused: r.paused !== 0, source: r.source, lastRunAt: r.last_run_at, nextRunAt: r.next_run_at,
    runCount: r.run_count, createdAt: r.created_at, updatedAt: r.updated_at, revision: r.revision,
  };
}

/** Statements for the `beat_entries`, `beat_leases` and `beat_fires` tables. */
export class BeatSql {
  private readonly upsertEntry: Database.Statement;
  private readonly deleteEntry: Database.Statement;
  private readonly deleteEntryFires: Database.Statement;
  private readonly upsertLease: Database.Statement;
  private readonly insertFire: Database.Statement;
  private readonly trimOld: Database.Statement;
  private readonly trimBeyondKeep: Database.Statement;
  private readonly selectEntries: Database.Statement<[], EntryRow>;
  private readonly selectLeases: Database.Statement<[], LeaseRow>;
  private readonly selectFires: Database.Statement<[], FireRow>;

  constructor(db: Database.Database) {
    this.upsertEntry = db.prepare(
      `INSERT INTO beat_entries (vhost, name, spec, paused, source, last_run_at, next_run_at, run_count, created_at, updated_at, revision)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (vhost, name) DO UPDATE SET spec = excluded.spec, paused = excluded.paused, source = excluded.source,
         last_run_at = excluded.last_run_at, next_run_at = excluded.next_run_at, run_count = excluded.run_count,
         created_at = excluded.created_at, updated_at = excluded.updated_at, revision = excluded.revision`,
    );
    this.deleteEntry = db.prepare('DELETE FROM beat_entries WHERE vhost = ? AND name = ?');
    this.deleteEntryFires = db.prepare('DELETE FROM beat_fires WHERE vhost = ? AND entry = ?');
    this.upsertLease = db.prepare(
      `INSERT INTO beat_leases (vhost, name, holder, epoch, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (vhost, name) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at`,
    );
    // OR IGNORE: a fire the engine already refused as a duplicate cannot get here, and a retried
    // batch (after a failed commit) writes the same key again.
    this.insertFire = db.prepare('INSERT OR IGNORE INTO beat_fires (vhost, entry, scheduled_at, fired_at) VALUES (?, ?, ?, ?)');
    // Both trims walk the primary key (vhost, entry, scheduled_at) of one entry.
    this.trimOld = db.prepare('DELETE FROM beat_fires WHERE vhost = ? AND entry = ? AND scheduled_at < ?');
    this.trimBeyondKeep = db.prepare(
      `DELETE FROM beat_fires WHERE vhost = ? AND entry = ? AND scheduled_at <= (
         SELECT scheduled_at FROM beat_fires WHERE vhost = ? AND entry = ? ORDER BY scheduled_at DESC LIMIT 1 OFFSET ${FIRE_LOG_KEEP})`,
    );
    this.selectEntries = db.prepare(
      `SELECT vhost, name, spec, paused, source, last_run_at, next_run_at, run_count, created_at, updated_at, revision
       FROM beat_entries ORDER BY vhost, name`,
    );
    this.selectLeases = db.prepare('SELECT vhost, name, holder, epoch, expires_at FROM beat_leases ORDER BY vhost, name');
    this.selectFires = db.prepare('SELECT vhost, entry, scheduled_at, fired_at FROM beat_fires ORDER BY vhost, entry, scheduled_at');
  }

  /**
   * The batch's beat writes; runs inside the store's write transaction. Removals first, so a name
   * removed and added again in one batch starts with an empty fire log.
   */
  apply(batch: WriteBatch): void {
    for (const k of batch.scheduleDeletes ?? []) {
      this.deleteEntry.run(k.vhost, k.name);
      this.deleteEntryFires.run(k.vhost, k.name);
    }
    for (const e of batch.scheduleEntries ?? []) {
      this.upsertEntry.run(
        e.vhost, e.name, e.spec, e.paused ? 1 : 0, e.source, e.lastRunAt, e.nextRunAt, e.runCount, e.createdAt, e.updatedAt, e.revision,
      );
    }
    for (const l of batch.leases ?? []) this.upsertLease.run(l.vhost, l.name, l.holder, l.epoch, l.expiresAt);
    const fires = batch.fires ?? [];
    if (fires.length === 0) return;
    const trimmed = new Map<string, { vhost: string; entry: string; at: number }>();
    for (const f of fires) {
      this.insertFire.run(f.vhost, f.entry, f.scheduledAt, f.firedAt);
      const key = `${f.vhost}\u0000${f.entry}`;
      const at = Math.max(f.firedAt, trimmed.get(key)?.at ?? 0);
      trimmed.set(key, { vhost: f.vhost, entry: f.entry, at });
    }
    for (const { vhost, entry, at } of trimmed.values()) {
      this.trimOld.run(vhost, entry, at - FIRE_LOG_MAX_AGE_MS);
      this.trimBeyondKeep.run(vhost, entry, vhost, entry);
    }
  }

  loadBeat(): StoredBeat {
    return {
      entries: this.selectEntries.all().map(toEntry),
      leases: this.selectLeases.all().map((r) => ({ vhost: r.vhost, name: r.name, holder: r.holder, epoch: r.epoch, expiresAt: r.expires_at })),
      fires: this.selectFires.all().map((r) => ({ vhost: r.vhost, entry: r.entry, scheduledAt: r.scheduled_at, firedAt: r.fired_at })),
    };
  }
}
