// The JSON the dashboard reads, as the broker's routes and stream send it (docs/http-api.md). Types only.

export interface Rates { publish: number; deliver: number; ack: number }
export interface Messages { ready: number; unacked: number; delayed: number }

/** GET /api/overview, and the stream's `overview` (plus `at`). */
export interface Overview {
  at?: number;
  version: string;
  uptime: number;
  blocked: boolean;
  totals: { published: number; delivered: number; acked: number; deadLettered: number; messages: number };
  rates: Rates;
  messages: Messages;
  queues: number;
  exchanges: number;
  consumers: number;
  connections: number;
  store: { location: string; bytes: number };
  memory: { rss: number };
}

/** One point of the overview charts (the stream's `history`). */
export interface Point { at: number; rates: Rates; messages: Messages }

export interface QueueRow {
  vhost: string; name: string; durable: boolean; exclusive: boolean; autoDelete: boolean;
  messages: number; ready: number; unacked: number; delayed: number; paged: number; consumers: number;
  rates: Rates;
}

/** The stream's `queues`. */
export interface QueuesEvent { full: boolean; changed: QueueRow[]; removed: { vhost: string; name: string }[] }

export interface TaskInfo {
  vhost: string; id: string; name: string | null; state: string;
  args: unknown; kwargs: unknown; result: unknown;
  exception: string | null; traceback: string | null; retries: number | null;
  worker: string | null; queue: string | null; exchange: string | null; routingKey: string | null;
  rootId: string | null; parentId: string | null; eta: string | null; expires: string | null;
  sent: number | null; received: number | null; started: number | null; succeeded: number | null;
  failed: number | null; retried: number | null; revoked: number | null; rejected: number | null;
  runtime: number | null; timestamp: number | null; firstSeen: number; lastSeen: number;
}

export interface EventView { id: number; vhost: string; type: string; routingKey: string; at: number; data: Record<string, unknown> | null }
export interface TaskDetail extends TaskInfo { timeline: EventView[] }
export interface TasksPage { tasks: TaskInfo[]; cursor: number | null }

/** One task of the stream's `task` batch. */
export interface TaskChange {
  vhost: string; id: string; name: string | null; state: string; worker: string | null;
  type: string; at: number; eventId: number; exception: string | null; runtime: number | null;
}
export interface TaskEvent { tasks: TaskChange[]; dropped: number }
export interface WorkerEvent { workers: { vhost: string; hostname: string; type: string; at: number }[] }

export interface WorkerInfo {
  vhost: string; hostname: string; online: boolean; lastHeartbeat: number | null; freq: number;
  active: number | null; processed: number | null; loadavg: number[] | null; pool: string | null;
  concurrency: number | null; queues: string[] | null; pid: number | null; swIdent: string | null; swVer: string | null;
}

/** GET /api/beat's entry: the fields the page shows (others are ignored). */
export interface BeatEntry {
  vhost?: string; name: string; task?: string | null; schedule?: string | null;
  nextRunAt?: number | null; lastRunAt?: number | null; runCount?: number | null; paused?: boolean;
}

export interface Me { name: string; tags: string[]; via: 'basic' | 'session'; csrfToken?: string }
