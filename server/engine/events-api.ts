// The engine's read side of events: the stored event log, the task index and the worker index, as
// the management API, the dashboard and the protocol's eventsRead see them. Types only.
import type { EventRecord } from '../../shared/frames.js';

/** How much of the event history the broker keeps. Either bound at 0 stores nothing. */
export interface EventRetention {
  /** Keep the newest this many events (by id). Default 100,000. */
  maxCount: number;
  /** Keep events stored less than this many ms ago. Default 24 h. */
  maxAge: number;
}

/** The default retention: 100,000 events, 24 hours. */
export const DEFAULT_EVENT_RETENTION: Readonly<EventRetention> = Object.freeze({ maxCount: 100_000, maxAge: 24 * 60 * 60 * 1000 });

/** A stored event, with its vhost and its body parsed. */
export interface EventView extends EventRecord {
  vhost: string;
  /** The body parsed as JSON when it is a JSON object (celeriac's and Celery's events are), else null. */
  data: Record<string, unknown> | null;
}

/** A read of the event log, oldest first. */
export interface EventsQuery {
  /** Only this vhost's events (default: every vhost). */
  vhost?: string;
  /** Events after this id (default 0: from the oldest kept). An id beyond the newest is ERR_INVALID_ARGUMENT. */
  since?: number;
  /** Start at the first event stored at or after this time (epoch ms) when that is later than `since`. */
  from?: number;
  /** At most this many (default 1,000, at most 10,000; 0 = only the cursor). */
  limit?: number;
  /** Only these event types ('task-failed', ...); default all. */
  types?: readonly string[];
}

/** A page of events and where to read on (see the protocol's EventPage). */
export interface EventsPage<E> {
  events: E[];
  /** Pass as `since` for the next page; every matching event up to it has been returned. */
  next: number;
  /** The newest event id when the read ran: caught up once `next >= last`. */
  last: number;
}

/** Counters of the event log since the broker started. */
export interface EventLogStats {
  /** Events stored. */
  stored: number;
  /** Events deleted by retention. */
  pruned: number;
}

/** The event log. */
export interface EventsApi {
  /** False when the retention stores nothing (a bound is 0): reads are ERR_PRECONDITION_FAILED then. */
  readonly enabled: boolean;
  readonly retention: Readonly<EventRetention>;
  /** The newest event id assigned (0 = none yet). */
  readonly lastId: number;
  readonly stats: Readonly<EventLogStats>;
  /**
   * Stored events, oldest first, from a cursor. Pending writes are committed first, so every event
   * with an id up to `last` that was stored is readable. Throws ERR_INVALID_ARGUMENT for a bad
   * query, ERR_PRECONDITION_FAILED when the broker stores no events.
   */
  read(query?: EventsQuery): EventsPage<EventView>;
  /**
   * Calls `listener` with every event as it is stored (synchronously, on the publish path: keep it
   * short). Returns the function that stops it.
   */
  listen(listener: (event: EventView) => void): () => void;
}

/** A task as the task index knows it from its events (Flower's task state, kept by the broker). */
export interface TaskInfo {
  vhost: string;
  /** The task id (the events' `uuid`). */
  id: string;
  name: string | null;
  /** Celery's state from the latest event by state precedence: PENDING, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED, REJECTED. */
  state: string;
  /** As the events carried them: the arguments, or their repr strings when the caller sent those. */
  args: unknown;
  kwargs: unknown;
  /**
   * The arguments themselves, in kombu's JSON form (bytes and dates as `__type__` markers), when
   * the worker's task-received carried them (celeriac workers do, up to 16 KiB): what a retry sends.
   */
  argsValue: unknown[] | null;
  kwargsValue: Record<string, unknown> | null;
  /** The return value (task-succeeded). */
  result: unknown;
  /** `Name: message` of the error (task-failed, task-retried). */
  exception: string | null;
  traceback: string | null;
  retries: number | null;
  /** Hostname of the worker that sent its latest task event. */
  worker: string | null;
  queue: string | null;
  exchange: string | null;
  routingKey: string | null;
  rootId: string | null;
  parentId: string | null;
  /** ISO 8601, as the task message carried them. */
  eta: string | null;
  expires: string | null;
  /** When each event happened, epoch ms (its sender's clock); null = not seen. */
  sent: number | null;
  received: number | null;
  started: number | null;
  succeeded: number | null;
  failed: number | null;
  retried: number | null;
  revoked: number | null;
  rejected: number | null;
  /** Seconds it ran (task-succeeded, task-failed). */
  runtime: number | null;
  /** task-revoked: it was stopped while running / it expired. */
  terminated: boolean | null;
  expired: boolean | null;
  /** task-rejected: why. */
  reason: string | null;
  /** When the event that set the state happened, epoch ms (sender's clock). */
  timestamp: number | null;
  firstEventId: number;
  lastEventId: number;
  /** When the broker stored its first event, epoch ms (what time-range queries compare). */
  firstSeen: number;
  /** When the broker stored its latest event. */
  lastSeen: number;
}

/** A task with its event timeline: the events of it the log still keeps, oldest first. */
export interface TaskDetail extends TaskInfo {
  timeline: EventView[];
}

/** A query of the task index. Every filter is optional. */
export interface TasksQuery {
  vhost?: string;
  state?: string;
  name?: string;
  worker?: string;
  /** Case-insensitive: a task id starting with it or a name containing it. */
  search?: string;
  /** First seen at or after (epoch ms). */
  from?: number;
  /** First seen before (epoch ms). */
  to?: number;
  /** Default 100, at most 1,000. */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: number;
}

/** A page of tasks, newest first (by first event), and the cursor of the next page (null = no more). */
export interface TasksPage {
  tasks: TaskInfo[];
  cursor: number | null;
}

/** The task index. */
export interface TasksApi {
  /** Tasks matching the query, newest first. Throws ERR_INVALID_ARGUMENT for a bad query. */
  query(query?: TasksQuery): TasksPage;
  /** One task with its timeline, or null when the index does not hold it; without a vhost, every vhost is searched. */
  get(taskId: string, vhost?: string): TaskDetail | null;
}

/** A worker as the worker index knows it from its worker-online / heartbeat / offline events. */
export interface WorkerInfo {
  vhost: string;
  hostname: string;
  /** Not gone offline, and heard from within two heartbeat intervals (Celery's expiry window). */
  online: boolean;
  /** When the broker last heard a worker event from it, epoch ms. */
  lastHeartbeat: number | null;
  /** Its heartbeat interval, seconds (0 = it sends none). */
  freq: number;
  /** Tasks running, and run so far, at its latest event. */
  active: number | null;
  processed: number | null;
  loadavg: number[] | null;
  pool: string | null;
  concurrency: number | null;
  queues: string[] | null;
  pid: number | null;
  swIdent: string | null;
  swVer: string | null;
  swSys: string | null;
  /** When it came online (its latest worker-online), epoch ms. */
  onlineSince: number | null;
  /** When it sent worker-offline (null while it has not since coming online). */
  offlineAt: number | null;
  lastEventId: number;
}

/** The worker index. */
export interface WorkersApi {
  /** Every worker known (of one vhost, or all), by vhost then hostname. */
  list(vhost?: string): WorkerInfo[];
}
