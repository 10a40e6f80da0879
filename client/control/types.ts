// The typed results of remote control: what each command's reply holds, in Celery's field names,
// and the options every broadcast takes.

/** Options of a broadcast that waits for replies. */
export interface BroadcastOptions {
  /** How long to collect replies, ms (default 1000). */
  timeout?: number;
  /** Hostnames to address; omitted = every worker. */
  destination?: readonly string[];
  /** Stop collecting after this many replies (default: the number of destinations, if given). */
  limit?: number;
}

/** Where a task came from, as inspect lists it. */
export interface DeliveryInfo {
  exchange: string;
  routing_key: string;
  redelivered: boolean;
  queue: string;
}

/** A task held by a worker (inspect active / reserved), Celery's fields. */
export interface TaskInfo {
  id: string;
  name: string;
  type: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  hostname: string;
  /** When it started running, seconds since the epoch; null while not started. */
  time_start: number | null;
  acknowledged: boolean;
  delivery_info: DeliveryInfo;
  worker_pid: number;
  eta: string | null;
  expires: string | null;
  retries: number;
}

/** A task held until a time (inspect scheduled): here, waiting for its rate-limit slot. */
export interface ScheduledTaskInfo extends TaskInfo {
  request: TaskInfo;
}

/** A worker's statistics (inspect stats), Celery's fields where they exist. */
export interface WorkerStats {
  hostname: string;
  pid: number;
  /** The worker's clock, ms since the epoch. */
  clock: number;
  /** Seconds since the worker object was made. */
  uptime: number;
  pool: { implementation: string; 'max-concurrency': number; processes: number[]; replaced: number };
  prefetch_count: number;
  queues: string[];
  broker: { url: string };
  /** Tasks run, by name. */
  total: Record<string, number>;
  rusage: { maxrss: number };
  /** Rate limits changed through control on this worker, by task name (null = cleared). */
  rate_limits: Record<string, string | null>;
  [field: string]: unknown;
}

/** A successful reply of a command that changes something. */
export interface OkReply {
  ok: string;
}

/** A worker's refusal (unknown method, unknown task, bad arguments). */
export interface ErrorReply {
  error: string;
}

/** Replies as collected: one `{ [hostname]: reply }` per worker that answered. */
export type Replies<R> = Array<Record<string, R>>;

/** Replies merged by hostname (inspect's shape). */
export type ByHost<R> = Record<string, R>;
