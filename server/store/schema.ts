// The SQLite schema of a celeriac data file and the migrations that bring any older file up to it.
// Owns table layout only; statements that read and write rows live in sqlite-store.ts.
import type Database from 'better-sqlite3';

/**
 * Migrations, oldest first: the file's schema version is the number of entries applied.
 * Never edit an entry once released; append a new one instead.
 *
 * Layout notes (why):
 * - queues.id is AUTOINCREMENT so a deleted queue's id is never handed to a new queue; the
 *   engine may still hold in-flight work tagged with the old id.
 * - messages.id is the rowid and comes from the engine (broker-wide, increasing), so FIFO
 *   order inside a queue is id order. Since migration 4 a row also has a lane: the priority
 *   level it is filed under in its queue (0 in a queue without priorities), or -1 for a message
 *   published with a delay. One index, (queue_id, lane, ready_at, id), serves both kinds of
 *   paging: a lane's tail in id order (`lane = ? AND ready_at = 0 AND id > ?`; a lane >= 0 row
 *   always has ready_at 0) and the delayed rows in due-time order (`lane = -1 AND (ready_at, id)
 *   > (?, ?)`), as well as counts and purges. (Migration 4 replaced the (queue_id, id) index.)
 * - meta.max_message_id remembers the highest id ever stored, even after every message was
 *   acked, so ids keep increasing across restarts.
 * - bindings are keyed by their arguments too (canonical JSON), as in AMQP 0-9-1, where two
 *   bindings differing only in arguments are distinct (headers exchanges).
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE exchanges (
    vhost TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    auto_delete INTEGER NOT NULL,
    internal INTEGER NOT NULL,
    arguments TEXT NOT NULL,
    PRIMARY KEY (vhost, name)
  ) WITHOUT ROWID;

  CREATE TABLE queues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    vhost TEXT NOT NULL,
    name TEXT NOT NULL,
    auto_delete INTEGER NOT NULL,
    options TEXT NOT NULL,
    UNIQUE (vhost, name)
  );

  CREATE TABLE bindings (
    vhost TEXT NOT NULL,
    exchange TEXT NOT NULL,
    queue TEXT NOT NULL,
    pattern TEXT NOT NULL,
    arguments TEXT NOT NULL,
    PRIMARY KEY (vhost, exchange, queue, pattern, arguments)
  ) WITHOUT ROWID;
  CREATE INDEX bindings_by_queue ON bindings (vhost, queue);

  CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    queue_id INTEGER NOT NULL,
    exchange TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    body BLOB NOT NULL,
    props BLOB,
    priority INTEGER NOT NULL,
    ready_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    delivery_count INTEGER NOT NULL
  );
  CREATE INDEX messages_by_queue ON messages (queue_id, id);

  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO meta (key, value) VALUES ('max_message_id', 0);
  `,
  // 2: the result store (task state and result, keyed per vhost; expires_at 0 = kept forever).
  `
  CREATE TABLE results (
    vhost TEXT NOT NULL,
    task_id TEXT NOT NULL,
    state TEXT NOT NULL,
    body BLOB,
    content_type TEXT,
    date_done INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (vhost, task_id)
  ) WITHOUT ROWID;
  CREATE INDEX results_by_expiry ON results (expires_at) WHERE expires_at > 0;
  `,
  // 3: task control. Revoked task ids (expires_at 0 = kept forever) and groups (chord headers).
  // A group is two rows: its counter (groups: small, updated with every member's final result) and
  // what never changes (group_specs: members as a JSON array in group order, the engine-encoded
  // callback), so advancing a 100,000-member group's counter does not rewrite its member list.
  // size = the member count, so open groups are found in SQL; fired = the callback was published.
  `
  CREATE TABLE revoked (
    vhost TEXT NOT NULL,
    task_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    terminate INTEGER NOT NULL,
    PRIMARY KEY (vhost, task_id)
  ) WITHOUT ROWID;
  CREATE INDEX revoked_by_expiry ON revoked (expires_at) WHERE expires_at > 0;

  CREATE TABLE groups (
    vhost TEXT NOT NULL,
    group_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    done INTEGER NOT NULL,
    has_callback INTEGER NOT NULL,
    fired INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (vhost, group_id)
  ) WITHOUT ROWID;
  CREATE INDEX groups_by_expiry ON groups (expires_at) WHERE expires_at > 0;

  CREATE TABLE group_specs (
    vhost TEXT NOT NULL,
    group_id TEXT NOT NULL,
    members TEXT NOT NULL,
    callback BLOB,
    UNIQUE (vhost, group_id)
  );
  `,
  // 4: paging lanes (see the layout notes). Existing rows get their lane from what the engine
  // would file them under today: delayed rows (ready_at > 0) -1, rows of a priority queue their
  // priority clamped to 0..maxPriority, the rest 0.
  `
  ALTER TABLE messages ADD COLUMN lane INTEGER NOT NULL DEFAULT 0;
  UPDATE messages SET lane = -1 WHERE ready_at > 0;
  UPDATE messages
    SET lane = max(0, min(priority, (SELECT json_extract(q.options, '$.maxPriority') FROM queues q WHERE q.id = messages.queue_id)))
    WHERE ready_at = 0
      AND queue_id IN (SELECT id FROM queues WHERE json_extract(options, '$.maxPriority') IS NOT NULL);
  DROP INDEX messages_by_queue;
  CREATE INDEX messages_by_lane ON messages (queue_id, lane, ready_at, id);
  `,
  // 5: beat. Entries (spec: the client's JSON text, up to 64 KiB, so a rowid table: WITHOUT ROWID
  // suits small rows only), their leader leases (rows never deleted: an epoch is never reused) and
  // the fire log, keyed (vhost, entry, scheduled_at): the de-duplication of fires, trimmed per entry.
  `
  CREATE TABLE beat_entries (
    vhost TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    paused INTEGER NOT NULL,
    source TEXT NOT NULL,
    last_run_at INTEGER,
    next_run_at INTEGER,
    run_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (vhost, name)
  );

  CREATE TABLE beat_leases (
    vhost TEXT NOT NULL,
    name TEXT NOT NULL,
    holder TEXT,
    epoch INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (vhost, name)
  ) WITHOUT ROWID;

  CREATE TABLE beat_fires (
    vhost TEXT NOT NULL,
    entry TEXT NOT NULL,
    scheduled_at INTEGER NOT NULL,
    fired_at INTEGER NOT NULL,
    PRIMARY KEY (vhost, entry, scheduled_at)
  ) WITHOUT ROWID;
  `,
  // 6: the event log, a row per group commit (a chunk: the events of one commit, encoded by
  // server/store/event-chunk.ts), keyed by the id of its first event (the rowid: read and pruned in
  // id order without another index), with its last id and the storing time of its last event (what
  // retention compares). meta.max_event_id is raised by pruning, so ids keep increasing after every
  // chunk was pruned. The task and worker indexes are the engine's, in memory, rebuilt from the
  // events at start: they have no table.
  `
  CREATE TABLE events (
    first_id INTEGER PRIMARY KEY,
    last_id INTEGER NOT NULL,
    stored_at INTEGER NOT NULL,
    events BLOB NOT NULL
  );

  INSERT INTO meta (key, value) VALUES ('max_event_id', 0);
  `,
  // 7: exchange-to-exchange bindings (AMQP exchange.bind): source routes to destination, keyed by
  // arguments too, as queue bindings are. Indexed by destination for deleting an exchange's incoming ones.
  `
  CREATE TABLE exchange_bindings (
    vhost TEXT NOT NULL,
    source TEXT NOT NULL,
    destination TEXT NOT NULL,
    pattern TEXT NOT NULL,
    arguments TEXT NOT NULL,
    PRIMARY KEY (vhost, source, destination, pattern, arguments)
  ) WITHOUT ROWID;
  CREATE INDEX exchange_bindings_by_destination ON exchange_bindings (vhost, destination);
  `,
  // 8: the event log's chunks move out of SQLite, to segment files beside the data file
  // (server/store/event-segments.ts): written once per commit, where SQLite wrote each page to the
  // WAL and again at the checkpoint. Events stored by a build of migrations 6-7 are not carried over
  // (the format was never released); their highest id is, so ids keep increasing. meta.max_event_id
  // stays: the highest id pruned.
  `
  UPDATE meta SET value = max(value, (SELECT coalesce(max(last_id), 0) FROM events)) WHERE key = 'max_event_id';
  DROP TABLE events;
  `,
  // 9: results become an append-only log keyed by seq, with the task id -> seq index in memory
  // (server/store/results-sql.ts): a table keyed by random task ids wrote about one WAL page per
  // result. Existing results are carried over in the order they were stored.
  `
  CREATE TABLE result_log (
    seq INTEGER PRIMARY KEY,
    vhost TEXT NOT NULL,
    task_id TEXT NOT NULL,
    state TEXT NOT NULL,
    body BLOB,
    content_type TEXT,
    date_done INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  INSERT INTO result_log (vhost, task_id, state, body, content_type, date_done, expires_at)
    SELECT vhost, task_id, state, body, content_type, date_done, expires_at FROM results ORDER BY date_done, task_id;
  DROP TABLE results;
  CREATE INDEX result_log_by_expiry ON result_log (expires_at) WHERE expires_at > 0;
  `,
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database up to SCHEMA_VERSION, each migration in its own transaction.
 * Refuses a file written by a newer build, and a SQLite file that holds another
 * application's tables (it is not ours to add tables to).
 */
export function migrate(db: Database.Database): void {
  const hasVersionTable =
    db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`).get() !== undefined;
  if (!hasVersionTable) {
    const tables = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`).get() as { n: number };
    if (tables.n > 0) throw new Error('it is a SQLite database of another application (no schema_version table)');
    db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL)');
    db.exec('INSERT INTO schema_version (version) VALUES (0)');
  }
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  const current = row?.version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new Error(`it was written by a newer celeriac (schema ${current}; this build knows up to ${SCHEMA_VERSION})`);
  }
  const setVersion = db.prepare('UPDATE schema_version SET version = ?');
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      setVersion.run(v + 1);
    })();
  }
}
