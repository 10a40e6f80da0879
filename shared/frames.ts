// The frames of the protocol as typed objects: a discriminated union on `op`.
// The codec (codec.ts) turns them into positional msgpack arrays and back; nothing here does I/O.
import { OP } from './opcodes.js';

/** Properties of a message, named as amqplib names them. All optional. */
export interface MessageProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: Record<string, unknown>;
  /** Stored on disk when the queue is durable (AMQP delivery-mode 2). */
  persistent?: boolean;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  /** Per-message time to live in milliseconds. */
  expiration?: number;
  messageId?: string;
  timestamp?: number;
  type?: string;
  appId?: string;
  userId?: string;
  /** Delayed delivery: the broker holds the message this many milliseconds before it is ready. */
  delay?: number;
}

/** Exchange types the broker routes with. */
export const EXCHANGE_TYPES = ['direct', 'topic', 'fanout', 'headers'] as const;
export type ExchangeType = (typeof EXCHANGE_TYPES)[number];

export interface ExchangeOptions {
  durable?: boolean;
  autoDelete?: boolean;
  internal?: boolean;
  arguments?: Record<string, unknown>;
}

/** Queue options, amqplib's names (plus deliveryLimit and consumerTimeout). Durations in ms. */
export interface QueueOptions {
  durable?: boolean;
  exclusive?: boolean;
  autoDelete?: boolean;
  messageTtl?: number;
  expires?: number;
  maxLength?: number;
  overflow?: 'drop-head' | 'reject-publish';
  deadLetterExchange?: string;
  deadLetterRoutingKey?: string;
  maxPriority?: number;
  deliveryLimit?: number;
  /** A delivery unacked for longer than this cancels its consumer (RabbitMQ's consumer_timeout). */
  consumerTimeout?: number;
  /** Only check the queue exists (amqplib's checkQueue). */
  passive?: boolean;
  /**
   * The broker's queue arguments as given, kombu's `queue_arguments`: RabbitMQ's x-arguments such as
   * `{ 'x-queue-type': 'quorum' }`. One that is also a named option above (`x-message-ttl` is
   * `messageTtl`, ...) must agree with it. broker-server takes the x-arguments of the named options
   * and refuses any other (ERR_INVALID_ARGUMENT); RabbitMQ gets them all.
   */
  arguments?: Record<string, unknown>;
}

export interface ConsumeOptions {
  /** Max unacked deliveries to this consumer; 0 = unlimited. */
  prefetch?: number;
  consumerTag?: string;
  /** Deliveries count as acked when sent. */
  noAck?: boolean;
  exclusive?: boolean;
}

export interface DeleteQueueOptions { ifUnused?: boolean; ifEmpty?: boolean }
export interface DeleteExchangeOptions { ifUnused?: boolean }

export interface HelloFrame {
  op: typeof OP.hello; id: number;
  version: number; user?: string; password?: string; vhost?: string; client?: string; heartbeat?: number;
}
export interface WelcomeFrame {
  op: typeof OP.welcome; id: number;
  version: number; server: string; connectionId: string; heartbeat: number;
  limits: Record<string, number>; capabilities: string[];
}
export interface ErrorFrame { op: typeof OP.error; id: number; code: string; message: string; details?: Record<string, unknown> }
export interface OkFrame { op: typeof OP.ok; id: number; result?: unknown }
export interface HeartbeatFrame { op: typeof OP.heartbeat }
export interface CloseFrame { op: typeof OP.close; id: number; reason?: string }
/** Server → client: publishing is blocked (active false) or may go on (active true). */
export interface FlowFrame { op: typeof OP.flow; active: boolean; reason?: string }

export interface DeclareExchangeFrame { op: typeof OP.declareExchange; id: number; name: string; type: ExchangeType; options?: ExchangeOptions }
export interface DeleteExchangeFrame { op: typeof OP.deleteExchange; id: number; name: string; options?: DeleteExchangeOptions }
export interface DeclareQueueFrame { op: typeof OP.declareQueue; id: number; name: string; options?: QueueOptions }
export interface DeleteQueueFrame { op: typeof OP.deleteQueue; id: number; name: string; options?: DeleteQueueOptions }
export interface PurgeQueueFrame { op: typeof OP.purgeQueue; id: number; name: string }
export interface BindQueueFrame { op: typeof OP.bindQueue; id: number; queue: string; exchange: string; pattern: string; args?: Record<string, unknown> }
export interface UnbindQueueFrame { op: typeof OP.unbindQueue; id: number; queue: string; exchange: string; pattern: string; args?: Record<string, unknown> }

/**
 * id 0 asks for no confirm; otherwise a confirm (or an error frame) echoes it. `track` registers
 * a task id in the result store as PENDING in the same commit, so the broker knows every task
 * id from the moment it is published (an id nobody sent is unknown, not PENDING).
 */
export interface PublishFrame {
  op: typeof OP.publish; id: number; exchange: string; routingKey: string; body: Uint8Array;
  props?: MessageProperties; mandatory?: boolean; track?: TrackOptions;
}

/**
 * A task id to register as PENDING with a publish; `expires` (ms) bounds how long it is kept.
 * On a `publish` frame only, `wait` (a request id) also registers a result wait for the task once
 * the publish commits, as a `resultWait` with that id and `waitTimeout` (ms) would: the broker
 * answers `wait` with the record when it is final (ignored on other frames).
 */
export interface TrackOptions { taskId: string; expires?: number; wait?: number; waitTimeout?: number }

/** A task result as the broker keeps it. The body is opaque to the broker (serialized meta). */
export interface ResultRecord {
  taskId: string;
  state: string;
  /** The serialized result meta (the result serializer's bytes); absent for PENDING. */
  body?: Uint8Array;
  contentType?: string;
  /** Epoch ms when a final state was stored. */
  dateDone?: number;
  /** Epoch ms after which the broker forgets it. */
  expiresAt?: number;
}

/** What a resultStore may add to the record. */
export interface ResultStoreOptions {
  contentType?: string;
  /** Keep the result this many ms after it is stored (resultExpires); absent = forever. */
  expires?: number;
}
/** Publishes taken by the broker (on disk when persistent to a durable queue). */
export interface ConfirmFrame { op: typeof OP.confirm; ids: number[] }
export interface ConsumeFrame { op: typeof OP.consume; id: number; queue: string; options?: ConsumeOptions }
export interface CancelFrame { op: typeof OP.cancel; id: number; consumerTag: string }
export interface DeliverFrame {
  op: typeof OP.deliver; consumerTag: string; deliveryTag: number; redelivered: boolean; deliveryCount: number;
  exchange: string; routingKey: string; props?: MessageProperties; body: Uint8Array;
}
/** One tag, or a list of tags (settled one by one); `multiple` settles every tag up to `tag`. */
export interface AckFrame { op: typeof OP.ack; tag: number | number[]; multiple?: boolean }
export interface NackFrame { op: typeof OP.nack; tag: number | number[]; multiple?: boolean; requeue?: boolean }
export interface RejectFrame { op: typeof OP.reject; tag: number; requeue?: boolean }
export interface GetFrame { op: typeof OP.get; id: number; queue: string; noAck?: boolean }
/** Server → client: a consumer was cancelled by the broker (queue deleted, ack timeout). */
export interface CancelNotifyFrame { op: typeof OP.cancelNotify; consumerTag: string; reason: string }

/** Stores a task's state and result; answered once committed. */
export interface ResultStoreFrame { op: typeof OP.resultStore; id: number; taskId: string; state: string; body?: Uint8Array; options?: ResultStoreOptions }
/** Reads a result now: ok with a ResultRecord, or with nil when the id is unknown. */
export interface ResultGetFrame { op: typeof OP.resultGet; id: number; taskId: string }
/**
 * Answered when the result reaches a final state (pushed, no polling), or after `timeout` ms with
 * the record as it is then (nil when unknown). The broker caps the timeout.
 */
export interface ResultWaitFrame { op: typeof OP.resultWait; id: number; taskId: string; timeout: number }
/** Forgets a result. */
export interface ResultForgetFrame { op: typeof OP.resultForget; id: number; taskId: string }

/** A message a finish publishes (a chain's next step, a callback). */
export interface FinishPublish { exchange: string; routingKey: string; body: Uint8Array; props?: MessageProperties; track?: TrackOptions }
/**
 * The result a finish stores. `task` (the task's name) and `runtime` (seconds the run took) are
 * not stored: the broker counts the outcome by task name for /metrics with them.
 */
export interface FinishResult { taskId: string; state: string; body?: Uint8Array; options?: ResultStoreOptions; task?: string; runtime?: number }
/**
 * A worker's end of a task, all in ONE transaction: ack the delivery `ack`, store `result`, publish
 * `publishes`. Answered once committed; either all of it happens or, on a failed commit, none.
 */
export interface FinishFrame { op: typeof OP.finish; id: number; ack?: number; result?: FinishResult; publishes?: FinishPublish[] }

/** Options of a revoke. */
export interface RevokeOptions {
  /** Also ask whichever worker runs the task to stop it (the broker pushes `revoked` to every connection of the vhost). */
  terminate?: boolean;
  /** The signal the worker should use to stop it (e.g. 'SIGTERM', 'SIGKILL'); opaque to the broker. */
  signal?: string;
  /** How long the broker remembers the revocation, ms (default 24 h; 0 = forever). */
  expires?: number;
}

/**
 * Revokes task ids (1 to 10,000): remembered for `expires` ms across restarts, REVOKED stored for
 * each id not yet final, their messages never handed to a consumer again. Ok `{ revoked }` once committed.
 */
export interface RevokeFrame { op: typeof OP.revoke; id: number; taskIds: string[]; terminate?: boolean; signal?: string; expires?: number }
/** Server → client: revoked task ids this connection holds unacked deliveries of; with `terminate`, sent to every connection of the vhost. */
export interface RevokedFrame { op: typeof OP.revoked; taskIds: string[]; terminate: boolean; signal?: string }
/** What a `revoked` push tells a client (the Connection's 'revoked' event). */
export interface RevokedInfo { taskIds: string[]; terminate: boolean; signal?: string }
/** Which of these task ids are revoked: ok with the revoked ones (a string array). */
export interface RevokedCheckFrame { op: typeof OP.revokedCheck; id: number; taskIds: string[] }

/** A rate: `count` task starts per `intervalMs` (count 0 = no limit). */
export interface RateLimitSpec { count: number; intervalMs: number }
/**
 * Reserves the next start slot of the cluster-wide bucket `key`: ok with a RateSlot. An override
 * set by rateSet replaces the rate given here.
 */
export interface RateAcquireFrame { op: typeof OP.rateAcquire; id: number; key: string; count: number; intervalMs: number }
/** The reply to rateAcquire: the ms the caller waits before starting (0 = now), and the slot (broker epoch ms) to name in a rateRelease. */
export interface RateSlot { delay: number; slot: number }
/** Gives back `slot` of bucket `key`, reserved and not used (its task went back to the queue): ok, nothing else. */
export interface RateReleaseFrame { op: typeof OP.rateRelease; id: number; key: string; slot: number }
/** Sets (count present) or clears (count absent) the override rate of bucket `key`. */
export interface RateSetFrame { op: typeof OP.rateSet; id: number; key: string; count?: number; intervalMs?: number }
/** Lists the override rates set by rateSet in this vhost: ok with RateOverride[] (a worker learns them at start). */
export interface RateOverridesFrame { op: typeof OP.rateOverrides; id: number }
/** One override rate: bucket `key` allows `count` starts per `intervalMs` (count 0 = no limit). */
export interface RateOverride { key: string; count: number; intervalMs: number }

/** Options of a group declare. */
export interface GroupDeclareOptions {
  /** The chord body: published once every member is final (SUCCESS, FAILURE or REVOKED). */
  callback?: FinishPublish;
  /** The broker forgets the group this many ms after the declare; absent = kept until done and forgotten. */
  expires?: number;
}
/**
 * Declares a group (1 to 100,000 distinct member task ids, in group order); the broker counts its
 * members' final results atomically with storing them and publishes `callback` once all are final.
 */
export interface GroupDeclareFrame { op: typeof OP.groupDeclare; id: number; groupId: string; members: string[]; callback?: FinishPublish; expires?: number }
/** Reads a group: ok with a GroupRecord, or nil when unknown. */
export interface GroupGetFrame { op: typeof OP.groupGet; id: number; groupId: string }
/** A group as the broker reports it: members in group order, how many are final, their results. */
export interface GroupRecord {
  groupId: string;
  members: string[];
  /** Members whose result reached a final state. */
  done: number;
  /** Each member's result in member order; null for an id the broker does not know. */
  results: (ResultRecord | null)[];
}


// ---------------------------------------------------------------------------------------------
// Beat: periodic-task entries, their run state, a leader lease and fires, all kept per vhost.
// The broker never reads a schedule: `spec` is the client's JSON text of the entry (task,
// schedule, args, options...), stored and returned as given so any client (and the dashboard)
// can read it; the beat computes run times and tells the broker what it fired.

/** A periodic-task entry as the broker keeps it. Times are epoch ms. */
export interface ScheduleRecord {
  name: string;
  /** The entry as JSON text, exactly as the last upsert gave it. */
  spec: string;
  paused: boolean;
  /** Where the entry came from: 'settings' (a beat's beatSchedule) or 'api' (app.schedules, the CLI). */
  source: string;
  /** The scheduled time of the last fire (not the wall-clock time it was sent); null = never ran. */
  lastRunAt: number | null;
  /** The scheduled time of the next run; null = none (limit reached, past its end, a one-off done). */
  nextRunAt: number | null;
  /** How many runs were fired (a 'once' catch-up counts one). */
  runCount: number;
  createdAt: number;
  updatedAt: number;
  /**
   * Bumped by one by every upsert, pause and resume; a new entry's is never one a removed entry of
   * the same name had. A fire names the revision it was planned from.
   */
  revision: number;
}

/**
 * Creates or replaces entry `name` (1 to 255 bytes; spec at most 64 KiB of JSON text). Keeps its
 * run state (lastRunAt, runCount) unless `resetState`; sets nextRunAt when given (null = none),
 * else keeps it (a new entry without one starts with null). Ok `{ created, revision }` once committed.
 */
export interface ScheduleUpsertFrame {
  op: typeof OP.scheduleUpsert; id: number; name: string; spec: string; source?: string;
  nextRunAt?: number | null; resetState?: boolean;
}
/** Removes an entry (and its fire log): ok `{ removed }` (false when it did not exist). */
export interface ScheduleRemoveFrame { op: typeof OP.scheduleRemove; id: number; name: string }
/** Pauses (paused true) or resumes an entry: ok with the ScheduleRecord; ERR_NOT_FOUND when unknown. */
export interface SchedulePauseFrame { op: typeof OP.schedulePause; id: number; name: string; paused: boolean }
/** Lists entries (all of the vhost, or those named), sorted by name: ok `{ entries: ScheduleRecord[], leases: LeaseRecord[] }`. */
export interface ScheduleListFrame { op: typeof OP.scheduleList; id: number; names?: string[] }
/** Asks for `scheduleChanged` pushes on this connection (watch false stops them): ok. Kept across a reconnect by the client. */
export interface ScheduleWatchFrame { op: typeof OP.scheduleWatch; id: number; watch: boolean }
/** Server → client (watchers): entries were upserted, removed, paused or resumed (not fired or advanced). */
export interface ScheduleChangedFrame { op: typeof OP.scheduleChanged; names: string[] }

/** A named lease: who holds it, since which epoch, until when (broker clock). */
export interface LeaseRecord {
  name: string;
  /** null when released or never taken. */
  holder: string | null;
  /** Grows by one each time the lease changes hands (never reused, also across broker restarts). */
  epoch: number;
  /** Epoch ms (broker clock); past = free to take. */
  expiresAt: number;
}
/**
 * Takes or renews lease `name` for `holder` for `ttl` ms (1 s to 1 h): granted when it is free,
 * expired or already `holder`'s (same epoch when renewed, epoch + 1 when taken). Ok with
 * `{ acquired, lease: LeaseRecord }` (the current holder when not acquired), committed before the answer.
 */
export interface LeaseAcquireFrame { op: typeof OP.leaseAcquire; id: number; name: string; holder: string; ttl: number }
/** Gives lease `name` up if `holder` still holds it at `epoch` (a beat closing): ok `{ released }`. */
export interface LeaseReleaseFrame { op: typeof OP.leaseRelease; id: number; name: string; holder: string; epoch: number }

/**
 * A beat fires entry `entry` for its scheduled time `scheduledAt`, in ONE transaction: checks that
 * `holder` holds lease `lease` at `epoch` and it has not expired (else ERR_STALE_LEASE), that the
 * entry exists at `revision` and is not paused (else ok `{ fired: false, reason: 'changed' }`),
 * that (entry, scheduledAt) was never fired (else ok `{ fired: false, reason: 'duplicate' }`);
 * then records the fire, sets lastRunAt = scheduledAt, nextRunAt, runCount + 1, and publishes
 * `publishes` (the task message, with `track`). Ok `{ fired: true, record: ScheduleRecord }`.
 */
export interface BeatFireFrame {
  op: typeof OP.beatFire; id: number; lease: string; holder: string; epoch: number;
  entry: string; revision: number; scheduledAt: number; nextRunAt: number | null; publishes: FinishPublish[];
}
/**
 * Moves an entry's nextRunAt without firing (missed runs skipped, a first run planned, a
 * schedule that has no more runs): same lease and revision checks as beatFire, nothing published,
 * runCount unchanged. Ok `{ advanced: boolean, record: ScheduleRecord | null }`.
 */
export interface BeatAdvanceFrame {
  op: typeof OP.beatAdvance; id: number; lease: string; holder: string; epoch: number;
  entry: string; revision: number; nextRunAt: number | null;
}


// ---------------------------------------------------------------------------------------------
// Events: the broker keeps every message routed through the events exchange in an event log (ids
// increasing, bounded by count and age), so the history can be read from a cursor.

/** One stored event as a history read returns it. */
export interface EventRecord {
  /** Its id in the broker's event log: increasing, never reused for a data file. */
  id: number;
  /** The event's type (the body's `type` field; the routing key when the body has none). */
  type: string;
  routingKey: string;
  /** When the broker stored it, epoch ms (broker clock). */
  at: number;
  /** The message body as published (JSON for celeriac's and Celery's events). */
  body: Uint8Array;
}

/**
 * Reads the stored events of the connection's vhost after event id `since` (default 0: from the
 * oldest kept), oldest first: at most `limit` (default 1,000, at most 10,000; 0 = none, only the
 * cursor), of the `types` named (default all). `from` (epoch ms) starts at the first event stored
 * at or after that time instead, when that is later than `since`. Ok with an EventPage;
 * ERR_INVALID_ARGUMENT for a `since` beyond the newest id, ERR_PRECONDITION_FAILED when the
 * broker does not store events.
 */
export interface EventsReadFrame { op: typeof OP.eventsRead; id: number; since?: number; limit?: number; types?: string[]; from?: number }

/** The reply to an eventsRead. */
export interface EventPage {
  events: EventRecord[];
  /**
   * The cursor to read on from: every event of the vhost with an id up to it that matched the
   * query has been returned. The next page is `since: next`.
   */
  next: number;
  /** The newest event id of the broker when the read ran (0 = none yet): caught up once `next >= last`. */
  last: number;
}

export type Frame =
  | HelloFrame | WelcomeFrame | ErrorFrame | OkFrame | HeartbeatFrame | CloseFrame | FlowFrame
  | DeclareExchangeFrame | DeleteExchangeFrame | DeclareQueueFrame | DeleteQueueFrame | PurgeQueueFrame
  | BindQueueFrame | UnbindQueueFrame
  | PublishFrame | ConfirmFrame | ConsumeFrame | CancelFrame | DeliverFrame | AckFrame | NackFrame | RejectFrame
  | GetFrame | CancelNotifyFrame
  | ResultStoreFrame | ResultGetFrame | ResultWaitFrame | ResultForgetFrame | FinishFrame
  | RevokeFrame | RevokedFrame | RevokedCheckFrame | RateAcquireFrame | RateSetFrame | RateOverridesFrame | RateReleaseFrame | GroupDeclareFrame | GroupGetFrame
  | ScheduleUpsertFrame | ScheduleRemoveFrame | SchedulePauseFrame | ScheduleListFrame | ScheduleWatchFrame | ScheduleChangedFrame
  | LeaseAcquireFrame | LeaseReleaseFrame | BeatFireFrame | BeatAdvanceFrame
  | EventsReadFrame;

/** The reply to a get: one message, or null when the queue was empty. */
export interface GetResult {
  deliveryTag: number; redelivered: boolean; deliveryCount: number; exchange: string; routingKey: string;
  props?: MessageProperties; body: Uint8Array; messageCount: number;
}

/** What declareQueue answers. */
export interface QueueInfo { queue: string; messageCount: number; consumerCount: number }
