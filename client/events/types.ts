// The events on the events exchange, typed: one interface per Celery event type, a discriminated
// union on `type`, and the names and routing keys they travel under.

export { EVENTS_EXCHANGE, EVENT_ID_HEADER } from '../../shared/events.js';

/** Every event type, as Celery names them. */
export const EVENT_TYPES = [
  'task-sent', 'task-received', 'task-started', 'task-succeeded', 'task-failed', 'task-retried', 'task-revoked', 'task-rejected',
  'worker-online', 'worker-heartbeat', 'worker-offline',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The routing key of an event type: 'task-succeeded' → 'task.succeeded'. */
export function routingKeyOf(type: string): string {
  return type.replace(/-/g, '.');
}

/** Fields every event carries. */
export interface EventBase {
  type: EventType;
  /** The sender's node name (a worker's hostname; `gen<pid>@<host>` for a producer). */
  hostname: string;
  /** When it was sent, seconds since the epoch (Celery's unit). */
  timestamp: number;
  pid: number;
  /** The sender's logical clock: increases with every event it sends. */
  clock: number;
  /** The sender's offset from UTC, hours (Celery's field). */
  utcoffset: number;
}

interface TaskEventBase extends EventBase {
  /** The task id. */
  uuid: string;
}

/** A producer published a task (with the `taskSendSentEvent` setting). */
export interface TaskSentEvent extends TaskEventBase {
  type: 'task-sent';
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  retries: number;
  eta: string | null;
  expires: string | null;
  queue: string;
  exchange: string;
  routing_key: string;
  root_id: string;
  parent_id: string | null;
}

/** A worker took a task message. `args`/`kwargs` are the caller's repr strings when it sent them. */
export interface TaskReceivedEvent extends TaskEventBase {
  type: 'task-received';
  name: string;
  args: unknown[] | string;
  kwargs: Record<string, unknown> | string;
  retries: number;
  eta: string | null;
  expires: string | null;
  root_id: string;
  parent_id: string | null;
  /** Where the message came from (celeriac workers add these; Celery's do not). */
  queue?: string;
  exchange?: string;
  routing_key?: string;
  /**
   * The arguments themselves in kombu's JSON form (bytes and dates as `__type__` markers), for a
   * retry over HTTP; celeriac workers add them when they encode to at most 16 KiB of JSON.
   */
  args_value?: unknown[];
  kwargs_value?: Record<string, unknown>;
}

export interface TaskStartedEvent extends TaskEventBase {
  type: 'task-started';
  name: string;
}

export interface TaskSucceededEvent extends TaskEventBase {
  type: 'task-succeeded';
  name: string;
  /** The return value (JSON); BigInts as decimal strings. */
  result: unknown;
  /** Seconds the task ran. */
  runtime: number;
}

export interface TaskFailedEvent extends TaskEventBase {
  type: 'task-failed';
  name: string;
  /** `Name: message` of the error. */
  exception: string;
  traceback?: string;
  runtime: number;
}

export interface TaskRetriedEvent extends TaskEventBase {
  type: 'task-retried';
  name: string;
  /** Why: `Name: message` of the error, or 'retry requested'. */
  exception: string;
  /** The retry number about to run. */
  retries: number;
}

export interface TaskRevokedEvent extends TaskEventBase {
  type: 'task-revoked';
  name: string;
  terminated: boolean;
  expired: boolean;
}

/** A worker refused a message (undecodable, refused content type, unregistered task). */
export interface TaskRejectedEvent extends TaskEventBase {
  type: 'task-rejected';
  name?: string;
  reason: string;
}

/** Fields of the worker-* events (Celery's heartbeat fields). */
interface WorkerEventBase extends EventBase {
  /** Heartbeat interval, seconds (0 = none). */
  freq: number;
  /** Tasks running now. */
  active: number;
  /** Tasks run so far. */
  processed: number;
  loadavg: [number, number, number];
  sw_ident: 'celeriac';
  sw_sys: string;
  /** The worker's pool, concurrency and queues (celeriac workers add these; Celery's send them through inspect stats). */
  pool?: string;
  concurrency?: number;
  queues?: string[];
}

export interface WorkerOnlineEvent extends WorkerEventBase {
  type: 'worker-online';
}

export interface WorkerHeartbeatEvent extends WorkerEventBase {
  type: 'worker-heartbeat';
}

export interface WorkerOfflineEvent extends WorkerEventBase {
  type: 'worker-offline';
}

/** Any event, discriminated on `type`. */
export type AnyEvent =
  | TaskSentEvent | TaskReceivedEvent | TaskStartedEvent | TaskSucceededEvent | TaskFailedEvent | TaskRetriedEvent
  | TaskRevokedEvent | TaskRejectedEvent | WorkerOnlineEvent | WorkerHeartbeatEvent | WorkerOfflineEvent;

/** The event interface of a type: `EventOf<'task-failed'>` is TaskFailedEvent. */
export type EventOf<T extends EventType> = Extract<AnyEvent, { type: T }>;

/** Where an event handed to a handler comes from. */
export interface EventInfo {
  /** Its id in the broker's event log (undefined when the broker stores no events): `since` to resume after it. */
  id: number | undefined;
  routingKey: string;
  /** True when it was read from the stored history, false when it arrived live. */
  replayed: boolean;
}

/** Handlers by event type, plus '*' for every event. */
export type EventHandlers = { [T in EventType]?: (event: EventOf<T>, info: EventInfo) => void } & { '*'?: (event: AnyEvent, info: EventInfo) => void };

/** An event read from the broker's stored history. */
export interface HistoryEvent {
  /** Its id in the broker's event log. */
  id: number;
  /** When the broker stored it, epoch ms (broker clock). */
  at: number;
  routingKey: string;
  event: AnyEvent;
}
