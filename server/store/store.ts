// The store contract: everything the broker keeps on disk, named in queue terms.
// server/store/ is the only code that speaks SQL; the engine sees this interface alone.
import type { ExchangeType, ScheduleRecord } from '../../shared/frames.js';
import type { EventChunk } from './event-chunk.js';

/** How hard a commit works to be durable (see README, "Durability"). */
export type DurabilityMode = 'full' | 'process';

/** A message as it lives on disk: one row per (queue, message). */
export interface StoredMessage {
  /** Broker-wide unique and increasing; also the FIFO order inside a queue. */
  id: number;
  queueId: number;
  exchange: string;
  routingKey: string;
  body: Uint8Array;
  /** msgpack-encoded MessageProperties, or null when the message had none. */
  props: Uint8Array | null;
  priority: number;
  /** Epoch ms before which the message is not ready (delayed delivery); 0 = ready. */
  readyAt: number;
  /** Epoch ms after which the message is dead (TTL); 0 = never. */
  expiresAt: number;
  /** Deliveries so far that ended without an ack (requeues); bumped through `counts`. */
  deliveryCount: number;
  /**
   * Which of its queue's paged lists the row belongs to, fixed at insert: the priority lane it is
   * filed under (0 in a queue without priorities), or DELAYED_LANE for a delayed message.
   */
  lane: number;
}

/** The lane of rows published with a delay: paged in due-time order, apart from the ready lanes. */
export const DELAYED_LANE = -1;

/** Where a page of delayed rows starts: after this (readyAt, id), in due-time order. */
export interface DelayedCursor { readyAt: number; id: number }

/** What one lane of a queue holds on disk (recovery). */
export interface LaneCount {
  lane: number;
  count: number;
  /** Latest ready_at in the lane (0 for a ready lane). */
  maxReadyAt: number;
}

export interface ExchangeRecord {
  vhost: string;
  name: string;
  type: ExchangeType;
  autoDelete: boolean;
  internal: boolean;
  arguments: Record<string, unknown>;
}

export interface QueueRecord {
  /** Assigned by the store on first save; stable across restarts. */
  id: number;
  vhost: string;
  name: string;
  autoDelete: boolean;
  /** The queue's options (QueueOptions minus passive), kept as given. */
  options: Record<string, unknown>;
}

export interface BindingRecord {
  vhost: string;
  exchange: string;
  queue: string;
  pattern: string;
  arguments: Record<string, unknown>;
}

/** A binding of exchange `source` to exchange `destination` (exchange.bind). */
export interface ExchangeBindingRecord {
  vhost: string;
  source: string;
  destination: string;
  pattern: string;
  arguments: Record<string, unknown>;
}

export interface Topology {
  exchanges: ExchangeRecord[];
  queues: QueueRecord[];
  bindings: BindingRecord[];
  exchangeBindings: ExchangeBindingRecord[];
}

/** A task result as stored: opaque body, state, when it was done and when it expires. */
export interface StoredResult {
  vhost: string;
  taskId: string;
  state: string;
  body: Uint8Array | null;
  contentType: string | null;
  /** Epoch ms of the last store (0 for a PENDING registered at publish). */
  dateDone: number;
  /** Epoch ms after which the row is deleted; 0 = never. */
  expiresAt: number;
}

/** Identifies one result. */
export interface ResultKey { vhost: string; taskId: string }

/** A revoked task id the broker remembers until `expiresAt` (0 = forever). */
export interface StoredRevocation {
  vhost: string;
  taskId: string;
  expiresAt: number;
  terminate: boolean;
}

/** A group (chord header) whose members' final results the broker counts. */
export interface StoredGroup {
  vhost: string;
  groupId: string;
  /** Member task ids in group order. */
  members: string[];
  /** Members whose result became final. */
  done: number;
  /** The chord body to publish when done reaches members.length (engine-encoded), or null. */
  callback: Uint8Array | null;
  /** The callback was published. */
  fired: boolean;
  /** Epoch ms after which the group is deleted; 0 = never. */
  expiresAt: number;
}

/** The counting state of a stored group, written with the result that advanced it. */
export interface GroupProgress { vhost: string; groupId: string; done: number; fired: boolean }

/** A beat schedule entry as stored (ScheduleRecord of the protocol, per vhost). Times are epoch ms. */
export interface StoredScheduleEntry extends ScheduleRecord {
  vhost: string;
}

/** Identifies one schedule entry. */
export interface ScheduleKey { vhost: string; name: string }

/** A beat leader lease. The row is never deleted, so its epoch only grows, across restarts too. */
export interface StoredLease {
  vhost: string;
  name: string;
  /** null once released. */
  holder: string | null;
  epoch: number;
  /** Epoch ms (broker clock) after which it is free to take. */
  expiresAt: number;
}

/** One fire of an entry: its de-duplication key (vhost, entry, scheduledAt). */
export interface StoredFire {
  vhost: string;
  entry: string;
  scheduledAt: number;
  firedAt: number;
}

/** What recovery reads of beat: every entry, lease and the kept fire log, fires in scheduled order. */
export interface StoredBeat {
  entries: StoredScheduleEntry[];
  leases: StoredLease[];
  fires: StoredFire[];
}

/** The fire log's bound, per entry (see shared/beat-checks.ts: every beat store keeps the same). */
export { FIRE_LOG_KEEP, FIRE_LOG_MAX_AGE_MS } from '../../shared/beat-checks.js';

/** One event as the event log keeps it: a message routed through the events exchange. */
export interface StoredEvent {
  /** Broker-wide, increasing, never reused for a data file (meta keeps the highest ever stored). */
  id: number;
  vhost: string;
  /** The body's `type` field, or the routing key when the body has none. */
  type: string;
  routingKey: string;
  /** When the broker stored it, epoch ms. */
  at: number;
  body: Uint8Array;
}

/** A window of the event log to read, in id order. */
export interface EventLogQuery {
  /** Only this vhost's events; null = every vhost. */
  vhost: string | null;
  /** Events with an id above this... */
  afterId: number;
  /** ...and at most this (bounds the rows looked at, as ids are dense). */
  upToId: number;
  limit: number;
  /** Only events of these types; null = all. */
  types: readonly string[] | null;
}

/** What one pruning step of the event log removed. */
export interface EventPruneResult {
  /** Events deleted. */
  deleted: number;
  /** Every event with an id at or below this is gone (0 = none deleted). */
  upTo: number;
}

/** Everything written in one event-loop turn: applied in one transaction, in this order. */
export interface WriteBatch {
  inserts: StoredMessage[];
  /** Delivery-count changes of messages that stay (requeued after a nack or a dropped consumer). */
  counts: { id: number; deliveryCount: number }[];
  /** Messages gone for good: acked, expired, dead-lettered, dropped. */
  deletes: number[];
  /** PENDING rows for published tasks: written only where no row exists yet. */
  tracks?: StoredResult[];
  /** Results stored (insert or replace). */
  results?: StoredResult[];
  /** Results forgotten. */
  resultDeletes?: ResultKey[];
  /** Revocations (insert or replace). */
  revocations?: StoredRevocation[];
  /** Groups declared (insert; applied before the progress updates). */
  groups?: StoredGroup[];
  /** Group counters advanced (and callbacks fired) with this batch's results. */
  groupProgress?: GroupProgress[];
  /** Schedule entries removed, with their fire log (applied before the entry writes below). */
  scheduleDeletes?: ScheduleKey[];
  /** Schedule entries written whole (insert or replace). */
  scheduleEntries?: StoredScheduleEntry[];
  /** Leases written whole (insert or replace). */
  leases?: StoredLease[];
  /** Fires recorded (a repeat of a key is ignored); each entry's log is then trimmed to its bound. */
  fires?: StoredFire[];
  /** Events appended to the event log: the turn's chunk (event-chunk.ts), or null. */
  events?: EventChunk | null;
}

/** True when a batch writes nothing. */
export function isEmptyBatch(b: WriteBatch): boolean {
  return b.inserts.length + b.counts.length + b.deletes.length + (b.tracks?.length ?? 0) + (b.results?.length ?? 0) + (b.resultDeletes?.length ?? 0)
    + (b.revocations?.length ?? 0) + (b.groups?.length ?? 0) + (b.groupProgress?.length ?? 0)
    + (b.scheduleDeletes?.length ?? 0) + (b.scheduleEntries?.length ?? 0) + (b.leases?.length ?? 0) + (b.fires?.length ?? 0)
    + (b.events?.count ?? 0) === 0;
}

/** The durable store of one broker. Methods are synchronous: SQLite commits are sub-millisecond. */
/** Bytes of the store's files on disk. */
export interface StoreFileSizes {
  /** The SQLite database file. */
  db: number;
  /** Its write-ahead log (grows between checkpoints). */
  wal: number;
  /** The event log's segment files. */
  events: number;
}

export interface BrokerStore {
  /** Where the data lives (':memory:' for tests). */
  readonly location: string;
  loadTopology(): Topology;
  saveExchange(record: ExchangeRecord): void;
  /** Removes the exchange, the bindings whose source it is and the exchange bindings whose destination it is. */
  deleteExchange(vhost: string, name: string): void;
  /** Inserts or updates the queue; returns its id (assigned when record.id is 0). */
  saveQueue(record: QueueRecord): number;
  /** Removes the queue, its bindings and all its messages. */
  deleteQueue(queueId: number): void;
  saveBinding(record: BindingRecord): void;
  deleteBinding(record: BindingRecord): void;
  saveExchangeBinding(record: ExchangeBindingRecord): void;
  deleteExchangeBinding(record: ExchangeBindingRecord): void;
  /** Applies one batch in one transaction; throws if the commit fails (nothing of it applied). */
  applyBatch(batch: WriteBatch): void;
  /** Up to `limit` messages of a queue, any lane, with id > afterId, in id order (tools and tests). */
  loadMessages(queueId: number, afterId: number, limit: number): StoredMessage[];
  /** Up to `limit` rows of one ready lane (>= 0) of a queue with id > afterId, in id order (paging). */
  loadLane(queueId: number, lane: number, afterId: number, limit: number): StoredMessage[];
  /** Up to `limit` delayed rows of a queue after `after`, in (readyAt, id) order (paging). */
  loadDelayed(queueId: number, after: DelayedCursor, limit: number): StoredMessage[];
  /** Rows per lane of a queue (recovery sizes each lane's on-disk tail from it). */
  laneCounts(queueId: number): LaneCount[];
  /** A stored result, or null when there is none (never published, forgotten or expired). */
  loadResult(vhost: string, taskId: string): StoredResult | null;
  /** Deletes results whose expiry is at or before `now`; returns how many. */
  deleteExpiredResults(now: number): number;
  /** Revocations not expired at `now` (recovery). */
  loadRevocations(now: number): StoredRevocation[];
  /** Deletes revocations whose expiry is at or before `now`; returns how many. */
  deleteExpiredRevocations(now: number): number;
  /** A stored group, or null. */
  loadGroup(vhost: string, groupId: string): StoredGroup | null;
  /** Groups not expired at `now` still counting, or complete with a callback not fired (recovery). */
  loadOpenGroups(now: number): StoredGroup[];
  /** Deletes groups whose expiry is at or before `now`; returns how many. */
  deleteExpiredGroups(now: number): number;
  /** Beat's entries, leases and fire log (recovery). */
  loadBeat(): StoredBeat;
  /** The oldest event id kept (0 when the log is empty) and the highest ever stored (0 when none ever was). */
  eventLogBounds(): { first: number; last: number };
  /** Up to `limit` events of the window, in id order. */
  readEvents(query: EventLogQuery): StoredEvent[];
  /**
   * The id of the first event kept that was stored at or after `time` (epoch ms), or null when
   * none was. Found by bisecting ids, as storing times grow with ids (the broker's clock).
   */
  firstEventAt(time: number): number | null;
  /** The events of these ids still kept, in id order. */
  loadEvents(ids: readonly number[]): StoredEvent[];
  /**
   * Deletes the oldest events that have an id at or below `keepAfterId` or were stored before
   * `before`, stopping at the first one that has neither, about `limit` of them. Events are stored
   * in chunks (those of one commit together), and a chunk goes whole: only once each of its events
   * is beyond a bound, and at least one chunk per call even when it holds more than `limit`. One transaction.
   */
  pruneEvents(keepAfterId: number, before: number, limit: number): EventPruneResult;
  /** Messages of a queue still on disk. */
  countMessages(queueId: number): number;
  /** Deletes every message of the queue; returns how many. */
  purgeQueue(queueId: number): number;
  /**
   * Deletes the rows of one ready lane (>= 0) of a queue with id > afterId in one statement;
   * returns how many (purge of a deep queue's on-disk tail).
   */
  deleteLaneAfter(queueId: number, lane: number, afterId: number): number;
  /** Highest message id ever stored (0 when none), so ids keep increasing across restarts. */
  maxMessageId(): number;
  /** Bytes of the database file, its WAL and the event log's segments (0 in memory). */
  sizeBytes(): number;
  /** The same, apart: the database file, its write-ahead log and the event segments (all 0 in memory). */
  fileSizes(): StoreFileSizes;
  /** True from open until close() (the management API's readiness check). */
  readonly isOpen: boolean;
  /**
   * True when commits become durable only after `sync` ('full' on a file). Then a commit
   * returns once written, and the fsync runs off the event loop, covering every commit before it.
   */
  readonly needsSync: boolean;
  /**
   * Makes every commit so far durable, then calls `done`: the fsync runs on the store's thread,
   * or with `inline` on the event loop now (`done` still after the caller's stack) — for a small
   * commit on a quiet broker, where handing the fsync to a thread and back costs more than it.
   */
  sync(done: (err: Error | null) => void, inline?: boolean): void;
  /** The same, blocking (used at close). */
  syncNow(): void;
  close(): void;
}
