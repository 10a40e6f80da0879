// The BrokerStore on SQLite (better-sqlite3): opening and tuning the file, topology and messages;
// results, task control and beat have their SQL in results-sql.ts, task-control-sql.ts and
// beat-sql.ts. Statements are prepared once at open; one write batch is one transaction (group
// commit). The event log's chunks are not in SQLite but in segment files beside it
// (event-store.ts, event-segments.ts); only its pruning mark is a row (events-sql.ts).
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { ExchangeType } from '../../shared/frames.js';
import type {
  BindingRecord,
  ExchangeBindingRecord,
  BrokerStore,
  DurabilityMode,
  ExchangeRecord,
  QueueRecord,
  DelayedCursor,
  EventLogQuery,
  EventPruneResult,
  LaneCount,
  StoredMessage,
  StoredGroup,
  StoredResult,
  StoredRevocation,
  StoredBeat,
  StoredEvent,
  Topology,
  StoreFileSizes,
  WriteBatch,
} from './store.js';
import { BeatSql } from './beat-sql.js';
import { EventSegments, MemoryChunks } from './event-segments.js';
import { EventStore } from './event-store.js';
import { EventsSql } from './events-sql.js';
import { ResultsSql } from './results-sql.js';
import { migrate } from './schema.js';
import { TaskControlSql } from './task-control-sql.js';
import { DELAYED_LANE, isEmptyBatch } from './store.js';
import { WalSync } from './wal-sync.js';

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** Path of the database file, or ':memory:' for a store that lives and dies with the process. */
  file: string;
  /**
   * 'full': every commit is fsynced before it counts (survives power loss).
   * 'process': WAL + synchronous=NORMAL, a commit survives a process crash, not power loss.
   */
  durability: DurabilityMode;
}

/*
 * Tuning, with the reasons:
 * - locking_mode=EXCLUSIVE: one broker owns a file. A second broker-server on the same file
 *   fails at open with "database is locked" instead of silently sharing it; it also lets WAL
 *   run without the -shm file. (Consequence: other tools cannot read the file while the
 *   broker runs.)
 * - cache_size 16 MiB: the hot path never reads SQL (the engine indexes ready messages in
 *   memory), so a large cache only costs RSS; the target is <= 300 MB with 1M queued messages.
 * - wal_autocheckpoint 4,000 pages (16 MiB): fewer, larger checkpoints than the default
 *   1,000 at insert rates of ~100k rows/s, while each one stays short enough not to stall
 *   a commit for long. journal_size_limit trims the WAL back after a burst.
 * - mmap off: mapped pages would count against the broker's RSS.
 * - 'full' durability runs SQLite at synchronous=NORMAL and fsyncs the WAL itself, on the
 *   store's own thread (sync()), before any commit is reported durable. Same guarantee as
 *   synchronous=FULL — the committed WAL frames are on disk before a confirm; SQLite still
 *   syncs the WAL before each checkpoint and the database after it — but a busy event loop
 *   never blocks on an fsync, and one fsync covers every commit made while the previous one
 *   ran. Only a commit of a few callbacks (one task at a time) fsyncs on the loop, where the
 *   hand-off to the thread and back would cost more than the fsync.
 */
const CACHE_KIB = 16 * 1024;
const WAL_AUTOCHECKPOINT_PAGES = 4000;
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024;
/** How long open waits for a lock held by another process (a broker still shutting down). */
const OPEN_LOCK_TIMEOUT_MS = 1000;

interface MessageRow {
  id: number;
  queue_id: number;
  exchange: string;
  routing_key: string;
  body: Buffer;
  props: Buffer | null;
  priority: number;
  ready_at: number;
  expires_at: number;
  delivery_count: number;
  lane: number;
}

interface ExchangeRow {
  vhost: string;
  name: string;
  type: string;
  auto_delete: number;
  internal: number;
  arguments: string;
}

interface QueueRow {
  id: number;
  vhost: string;
  name: string;
  auto_delete: number;
  options: string;
}

interface BindingRow {
  vhost: string;
  exchange: string;
  queue: string;
  pattern: string;
  arguments: string;
}

interface ExchangeBindingRow {
  vhost: string;
  source: string;
  destination: string;
  pattern: string;
  arguments: string;
}

/**
 * Opens (creating if needed) a celeriac data file and returns its store.
 * Throws an Error naming the file and the reason when it cannot be used: missing directory,
 * a directory, not a database, another application's database, no permission, or locked by
 * another broker.
 */
export function openSqliteStore(options: SqliteStoreOptions): BrokerStore {
  const { file, durability } = options;
  if (durability !== 'full' && durability !== 'process') {
    throw new Error(`unknown durability mode ${JSON.stringify(durability)} (expected 'full' or 'process')`);
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: OPEN_LOCK_TIMEOUT_MS });
    configure(db, file === ':memory:', durability);
    migrate(db);
    return new SqliteStore(db, file, durability === 'full' && file !== ':memory:');
  } catch (err) {
    try {
      db?.close();
    } catch {
      // Already failing; the open error below is the one worth reporting.
    }
    throw openError(file, err);
  }
}

function configure(db: Database.Database, memory: boolean, durability: DurabilityMode): void {
  if (!memory) {
    // Order matters: the locking mode must be set before WAL is first used, so that no
    // shared-memory index is created and the exclusive lock is taken on first access.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // 'full' adds its own WAL fsync: see the tuning notes

    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
  }
  db.pragma(`cache_size = -${CACHE_KIB}`);
  db.pragma('temp_store = MEMORY');
  db.pragma('mmap_size = 0');
}

/** One line the CLI can print: which file, and why it cannot be used. */
function openError(file: string, err: unknown): Error {
  const raw = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  let reason = raw;
  if (isDirectory(file)) reason = 'it is a directory';
  else if (code === 'SQLITE_NOTADB') reason = 'it is not a SQLite database';
  else if (code === 'SQLITE_BUSY') reason = 'database is locked (is another broker-server using it?)';
  else if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM') {
    reason = `${raw} (check that the directory exists and is writable)`;
  } else if (/directory does not exist/i.test(raw)) reason = 'its directory does not exist';
  return new Error(`cannot open data file ${file}: ${reason}`, { cause: err });
}

function isDirectory(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** The directory of the event log's segments: beside the real data file (symlinks resolved), as SQLite puts the WAL. */
function eventsDir(location: string): string {
  return `${fs.realpathSync(location)}-events`;
}

function fileSize(path: string): number {
  try {
    return fs.statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * JSON with object keys sorted, so equal arguments give equal text: binding identity
 * includes its arguments and is compared as text in SQL.
 */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value ?? {}, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

function parseObject(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    queueId: row.queue_id,
    exchange: row.exchange,
    routingKey: row.routing_key,
    body: row.body,
    props: row.props,
    priority: row.priority,
    readyAt: row.ready_at,
    expiresAt: row.expires_at,
    deliveryCount: row.delivery_count,
    lane: row.lane,
  };
}

class SqliteStore implements BrokerStore {
  readonly location: string;
  readonly needsSync: boolean;
  private readonly db: Database.Database;
  private readonly wal: WalSync | null;
  private closed = false;

  private readonly selectExchanges: Database.Statement<[], ExchangeRow>;
  private readonly selectQueues: Database.Statement<[], QueueRow>;
  private readonly selectBindings: Database.Statement<[], BindingRow>;
  private readonly upsertExchange: Database.Statement;
  private readonly removeExchange: Database.Statement;
  private readonly removeExchangeBindings: Database.Statement;
  private readonly upsertNewQueue: Database.Statement<unknown[], { id: number }>;
  private readonly upsertQueueById: Database.Statement<unknown[], { id: number }>;
  private readonly selectQueueById: Database.Statement<[number], { vhost: string; name: string }>;
  private readonly removeQueue: Database.Statement;
  private readonly removeQueueBindings: Database.Statement;
  private readonly insertBinding: Database.Statement;
  private readonly removeBinding: Database.Statement;
  private readonly insertMessage: Database.Statement;
  private readonly updateCount: Database.Statement;
  private readonly deleteMessage: Database.Statement;
  private readonly raiseMaxId: Database.Statement;
  private readonly selectMessages: Database.Statement<[number, number, number], MessageRow>;
  private readonly countQueue: Database.Statement<[number], { n: number }>;
  private readonly purgeMessages: Database.Statement;
  private readonly selectLane: Database.Statement<[number, number, number, number], MessageRow>;
  private readonly selectDelayedSame: Database.Statement<[number, number, number, number], MessageRow>;
  private readonly selectDelayedLater: Database.Statement<[number, number, number], MessageRow>;
  private readonly selectLaneCounts: Database.Statement<[number], { lane: number; n: number; m: number }>;
  private readonly purgeTail: Database.Statement;
  private readonly selectMaxId: Database.Statement<[], { m: number }>;

  private readonly applyTx: (batch: WriteBatch) => void;
  private readonly results: ResultsSql;
  private readonly taskControl: TaskControlSql;
  private readonly beat: BeatSql;
  private readonly events: EventStore;
  /** The event log's segment files (null in memory), fsynced with the WAL. */
  private readonly segments: EventSegments | null;
  private readonly deleteQueueTx: (queueId: number) => void;
  private readonly deleteExchangeTx: (vhost: string, name: string) => void;
  private readonly selectExchangeBindings: Database.Statement<[], ExchangeBindingRow>;
  private readonly insertExchangeBinding: Database.Statement;
  private readonly removeExchangeBinding: Database.Statement;
  private readonly removeExchangeBindingsOf: Database.Statement;

  constructor(db: Database.Database, location: string, needsSync: boolean) {
    this.db = db;
    this.location = location;
    this.needsSync = needsSync;
    // SQLite puts the WAL beside the real file (symlinks resolved): so must we.
    this.wal = needsSync ? new WalSync(`${fs.realpathSync(location)}-wal`) : null;

    this.selectExchanges = db.prepare('SELECT vhost, name, type, auto_delete, internal, arguments FROM exchanges ORDER BY vhost, name');
    this.selectQueues = db.prepare('SELECT id, vhost, name, auto_delete, options FROM queues ORDER BY id');
    this.selectBindings = db.prepare(
      'SELECT vhost, exchange, queue, pattern, arguments FROM bindings ORDER BY vhost, exchange, queue, pattern',
    );
    this.upsertExchange = db.prepare(
      `INSERT INTO exchanges (vhost, name, type, auto_delete, internal, arguments) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (vhost, name) DO UPDATE SET type = excluded.type, auto_delete = excluded.auto_delete,
         internal = excluded.internal, arguments = excluded.arguments`,
    );
    this.removeExchange = db.prepare('DELETE FROM exchanges WHERE vhost = ? AND name = ?');
    this.removeExchangeBindings = db.prepare('DELETE FROM bindings WHERE vhost = ? AND exchange = ?');
    this.selectExchangeBindings = db.prepare(
      'SELECT vhost, source, destination, pattern, arguments FROM exchange_bindings ORDER BY vhost, source, destination, pattern',
    );
    this.insertExchangeBinding = db.prepare(
      'INSERT OR IGNORE INTO exchange_bindings (vhost, source, destination, pattern, arguments) VALUES (?, ?, ?, ?, ?)',
    );
    this.removeExchangeBinding = db.prepare(
      'DELETE FROM exchange_bindings WHERE vhost = ? AND source = ? AND destination = ? AND pattern = ? AND arguments = ?',
    );
    this.removeExchangeBindingsOf = db.prepare('DELETE FROM exchange_bindings WHERE vhost = ? AND (source = ? OR destination = ?)');
    this.upsertNewQueue = db.prepare(
      `INSERT INTO queues (vhost, name, auto_delete, options) VALUES (?, ?, ?, ?)
       ON CONFLICT (vhost, name) DO UPDATE SET auto_delete = excluded.auto_delete, options = excluded.options
       RETURNING id`,
    );
    this.upsertQueueById = db.prepare(
      `INSERT INTO queues (id, vhost, name, auto_delete, options) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET vhost = excluded.vhost, name = excluded.name,
         auto_delete = excluded.auto_delete, options = excluded.options
       RETURNING id`,
    );
    this.selectQueueById = db.prepare('SELECT vhost, name FROM queues WHERE id = ?');
    this.removeQueue = db.prepare('DELETE FROM queues WHERE id = ?');
    this.removeQueueBindings = db.prepare('DELETE FROM bindings WHERE vhost = ? AND queue = ?');
    this.insertBinding = db.prepare(
      'INSERT OR IGNORE INTO bindings (vhost, exchange, queue, pattern, arguments) VALUES (?, ?, ?, ?, ?)',
    );
    this.removeBinding = db.prepare(
      'DELETE FROM bindings WHERE vhost = ? AND exchange = ? AND queue = ? AND pattern = ? AND arguments = ?',
    );
    this.insertMessage = db.prepare(
      `INSERT INTO messages (id, queue_id, exchange, routing_key, body, props, priority, ready_at, expires_at, delivery_count, lane)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.updateCount = db.prepare('UPDATE messages SET delivery_count = ? WHERE id = ?');
    this.deleteMessage = db.prepare('DELETE FROM messages WHERE id = ?');
    this.raiseMaxId = db.prepare(`UPDATE meta SET value = max(value, ?) WHERE key = 'max_message_id'`);
    const columns = 'id, queue_id, exchange, routing_key, body, props, priority, ready_at, expires_at, delivery_count, lane';
    this.selectMessages = db.prepare(`SELECT ${columns} FROM messages WHERE queue_id = ? AND id > ? ORDER BY id LIMIT ?`);
    // Both paging reads walk the (queue_id, lane, ready_at, id) index in order (schema.ts).
    this.selectLane = db.prepare(
      `SELECT ${columns} FROM messages WHERE queue_id = ? AND lane = ? AND ready_at = 0 AND id > ? ORDER BY id LIMIT ?`,
    );
    // After (readyAt, id) in two index ranges: the rest of readyAt's rows, then later ones. (A
    // row-value `(ready_at, id) > (?, ?)` seeks on ready_at only and would rescan every row sharing
    // one due time, such as a batch with one eta, on each page.)
    this.selectDelayedSame = db.prepare(
      `SELECT ${columns} FROM messages WHERE queue_id = ? AND lane = ${DELAYED_LANE} AND ready_at = ? AND id > ? ORDER BY id LIMIT ?`,
    );
    this.selectDelayedLater = db.prepare(
      `SELECT ${columns} FROM messages WHERE queue_id = ? AND lane = ${DELAYED_LANE} AND ready_at > ? ORDER BY ready_at, id LIMIT ?`,
    );
    this.selectLaneCounts = db.prepare('SELECT lane, count(*) AS n, max(ready_at) AS m FROM messages WHERE queue_id = ? GROUP BY lane');
    this.countQueue = db.prepare('SELECT count(*) AS n FROM messages WHERE queue_id = ?');
    this.purgeMessages = db.prepare('DELETE FROM messages WHERE queue_id = ?');
    this.purgeTail = db.prepare('DELETE FROM messages WHERE queue_id = ? AND lane = ? AND ready_at = 0 AND id > ?');
    this.selectMaxId = db.prepare(
      `SELECT max(coalesce((SELECT value FROM meta WHERE key = 'max_message_id'), 0),
                  coalesce((SELECT max(id) FROM messages), 0)) AS m`,
    );

    this.results = new ResultsSql(db);
    this.taskControl = new TaskControlSql(db);
    this.beat = new BeatSql(db);
    const mark = new EventsSql(db, () => this.wal?.syncNow());
    let segments: EventSegments | null = null;
    this.events = new EventStore(mark, (chunk) => {
      if (location === ':memory:') return new MemoryChunks();
      // Beside the real file, as the WAL.
      const wal = this.wal;
      segments = new EventSegments(eventsDir(location), wal === null ? {} : { fsync: (fds, done) => wal.syncFds(fds, done) }, chunk);
      return segments;
    });
    this.segments = segments;
    // Invariant: inserts, then count updates, then deletes (the WriteBatch contract), so a
    // batch may update or delete a row it inserts. Any throw rolls the whole batch back.
    this.applyTx = db.transaction((batch: WriteBatch) => {
      let maxId = 0;
      for (const m of batch.inserts) {
        this.insertMessage.run(
          m.id, m.queueId, m.exchange, m.routingKey, m.body, m.props,
          m.priority, m.readyAt, m.expiresAt, m.deliveryCount, m.lane,
        );
        if (m.id > maxId) maxId = m.id;
      }
      if (maxId > 0) this.raiseMaxId.run(maxId);
      for (const c of batch.counts) this.updateCount.run(c.deliveryCount, c.id);
      for (const id of batch.deletes) this.deleteMessage.run(id);
      this.results.apply(batch);
      this.taskControl.apply(batch);
      this.beat.apply(batch);
    });
    this.deleteQueueTx = db.transaction((queueId: number) => {
      const queue = this.selectQueueById.get(queueId);
      if (queue) this.removeQueueBindings.run(queue.vhost, queue.name);
      this.purgeMessages.run(queueId);
      this.removeQueue.run(queueId);
    });
    // Bindings whose source exchange is gone would come back at recovery pointing at nothing.
    this.deleteExchangeTx = db.transaction((vhost: string, name: string) => {
      this.removeExchangeBindings.run(vhost, name);
      this.removeExchangeBindingsOf.run(vhost, name, name);
      this.removeExchange.run(vhost, name);
    });
  }

  loadTopology(): Topology {
    return {
      exchanges: this.selectExchanges.all().map((r) => ({
        vhost: r.vhost,
        name: r.name,
        type: r.type as ExchangeType,
        autoDelete: r.auto_delete !== 0,
        internal: r.internal !== 0,
        arguments: parseObject(r.arguments),
      })),
      queues: this.selectQueues.all().map((r) => ({
        id: r.id,
        vhost: r.vhost,
        name: r.name,
        autoDelete: r.auto_delete !== 0,
        options: parseObject(r.options),
      })),
      bindings: this.selectBindings.all().map((r) => ({
        vhost: r.vhost,
        exchange: r.exchange,
        queue: r.queue,
        pattern: r.pattern,
        arguments: parseObject(r.arguments),
      })),
      exchangeBindings: this.selectExchangeBindings.all().map((r) => ({
        vhost: r.vhost,
        source: r.source,
        destination: r.destination,
        pattern: r.pattern,
        arguments: parseObject(r.arguments),
      })),
    };
  }

  saveExchange(record: ExchangeRecord): void {
    this.upsertExchange.run(
      record.vhost, record.name, record.type,
      record.autoDelete ? 1 : 0, record.internal ? 1 : 0, canonicalJson(record.arguments),
    );
    this.topologyDurable();
  }

  /** Also removes the bindings whose source is this exchange, as AMQP does. */
  deleteExchange(vhost: string, name: string): void {
    this.deleteExchangeTx(vhost, name);
    this.topologyDurable();
  }

  saveQueue(record: QueueRecord): number {
    const autoDelete = record.autoDelete ? 1 : 0;
    const options = canonicalJson(record.options);
    const row =
      record.id === 0
        ? this.upsertNewQueue.get(record.vhost, record.name, autoDelete, options)
        : this.upsertQueueById.get(record.id, record.vhost, record.name, autoDelete, options);
    if (!row) throw new Error(`saveQueue: no id returned for queue ${record.vhost}/${record.name}`);
    this.topologyDurable();
    return row.id;
  }

  deleteQueue(queueId: number): void {
    this.deleteQueueTx(queueId);
    this.topologyDurable();
  }

  saveBinding(record: BindingRecord): void {
    this.insertBinding.run(record.vhost, record.exchange, record.queue, record.pattern, canonicalJson(record.arguments));
    this.topologyDurable();
  }

  deleteBinding(record: BindingRecord): void {
    this.removeBinding.run(record.vhost, record.exchange, record.queue, record.pattern, canonicalJson(record.arguments));
    this.topologyDurable();
  }

  saveExchangeBinding(record: ExchangeBindingRecord): void {
    this.insertExchangeBinding.run(record.vhost, record.source, record.destination, record.pattern, canonicalJson(record.arguments));
    this.topologyDurable();
  }

  deleteExchangeBinding(record: ExchangeBindingRecord): void {
    this.removeExchangeBinding.run(record.vhost, record.source, record.destination, record.pattern, canonicalJson(record.arguments));
    this.topologyDurable();
  }

  applyBatch(batch: WriteBatch): void {
    if (isEmptyBatch(batch)) return;
    // The events first: if they cannot be written, nothing of the batch is applied; if the rest
    // fails, they are taken back.
    const place = batch.events ? this.events.append(batch.events) : null;
    // A turn of events only (heartbeats, a monitor's stream) needs no SQLite transaction.
    if (place !== null && isEmptyBatch({ ...batch, events: null })) return;
    try {
      this.applyTx(batch);
      this.results.keepIndex();
    } catch (err) {
      this.results.undoIndex();
      if (place !== null) this.events.undo(place);
      throw err;
    }
  }

  loadResult(vhost: string, taskId: string): StoredResult | null {
    return this.results.loadResult(vhost, taskId);
  }

  deleteExpiredResults(now: number): number {
    return this.results.deleteExpiredResults(now);
  }

  loadRevocations(now: number): StoredRevocation[] {
    return this.taskControl.loadRevocations(now);
  }

  deleteExpiredRevocations(now: number): number {
    return this.taskControl.deleteExpiredRevocations(now);
  }

  loadGroup(vhost: string, groupId: string): StoredGroup | null {
    return this.taskControl.loadGroup(vhost, groupId);
  }

  loadOpenGroups(now: number): StoredGroup[] {
    return this.taskControl.loadOpenGroups(now);
  }

  deleteExpiredGroups(now: number): number {
    return this.taskControl.deleteExpiredGroups(now);
  }

  loadBeat(): StoredBeat {
    return this.beat.loadBeat();
  }

  eventLogBounds(): { first: number; last: number } {
    return this.events.bounds();
  }

  readEvents(query: EventLogQuery): StoredEvent[] {
    return this.events.read(query);
  }

  firstEventAt(time: number): number | null {
    return this.events.firstAt(time);
  }

  loadEvents(ids: readonly number[]): StoredEvent[] {
    return this.events.loadByIds(ids);
  }

  pruneEvents(keepAfterId: number, before: number, limit: number): EventPruneResult {
    return this.events.prune(keepAfterId, before, limit);
  }

  loadMessages(queueId: number, afterId: number, limit: number): StoredMessage[] {
    if (limit <= 0) return [];
    return this.selectMessages.all(queueId, afterId, limit).map(toMessage);
  }

  loadLane(queueId: number, lane: number, afterId: number, limit: number): StoredMessage[] {
    if (limit <= 0) return [];
    return this.selectLane.all(queueId, lane, afterId, limit).map(toMessage);
  }

  loadDelayed(queueId: number, after: DelayedCursor, limit: number): StoredMessage[] {
    if (limit <= 0) return [];
    const rows = this.selectDelayedSame.all(queueId, after.readyAt, after.id, limit);
    if (rows.length < limit) rows.push(...this.selectDelayedLater.all(queueId, after.readyAt, limit - rows.length));
    return rows.map(toMessage);
  }

  laneCounts(queueId: number): LaneCount[] {
    return this.selectLaneCounts.all(queueId).map((r) => ({ lane: r.lane, count: r.n, maxReadyAt: r.m }));
  }

  countMessages(queueId: number): number {
    return this.countQueue.get(queueId)?.n ?? 0;
  }

  purgeQueue(queueId: number): number {
    const n = this.purgeMessages.run(queueId).changes;
    this.topologyDurable();
    return n;
  }

  deleteLaneAfter(queueId: number, lane: number, afterId: number): number {
    const n = this.purgeTail.run(queueId, lane, afterId).changes;
    this.topologyDurable();
    return n;
  }

  /**
   * Topology changes and purges are answered as done: in 'full' mode they are fsynced at once,
   * blocking (they are rare, unlike message writes, which sync off the event loop).
   */
  private topologyDurable(): void {
    this.wal?.syncNow();
  }

  maxMessageId(): number {
    return this.selectMaxId.get()?.m ?? 0;
  }

  sizeBytes(): number {
    const { db, wal, events } = this.fileSizes();
    return db + wal + events;
  }

  fileSizes(): StoreFileSizes {
    if (this.location === ':memory:') return { db: 0, wal: 0, events: 0 };
    return { db: fileSize(this.location), wal: fileSize(`${this.location}-wal`), events: this.events.sizeBytes() };
  }

  sync(done: (err: Error | null) => void, inline = false): void {
    if (this.wal === null || this.closed) {
      done(null);
      return;
    }
    if (inline) {
      let failure: Error | null = null;
      try {
        this.syncNow();
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
      }
      // As on the thread: a filled segment's failed fsync fails this sync too.
      failure ??= this.segments?.takeError() ?? null;
      queueMicrotask(() => done(failure));
      return;
    }
    // The event segments written since the last sync are fsynced with the WAL.
    const segments = this.segments;
    const fds = segments?.syncTargets() ?? [];
    this.wal.sync((err) => {
      segments?.synced(fds);
      // A filled segment's fsync failing fails this sync too: its events are no more durable than these.
      done(err ?? segments?.takeError() ?? null);
    }, fds);
  }

  syncNow(): void {
    if (this.wal === null || this.closed) return;
    this.wal.syncNow();
    this.segments?.syncNow();
  }

  get isOpen(): boolean {
    return !this.closed && this.db.open;
  }

  /** Idempotent. A clean close checkpoints the WAL into the main file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wal?.close();
    this.events.close();
    this.db.close();
  }
}
