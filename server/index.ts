// The public surface of 'celeriac/server': the embeddable broker and the types it takes and returns.
// Everything else under server/ is internal and may change without notice.
export { startBroker, DEFAULT_PORT, type Broker, type BrokerOptions, type LogLevel } from './broker.js';
/** A user of the broker: name, password (hashed at start-up, never stored) and allowed virtual hosts. */
export type { UserSpec } from './auth/users.js';
/** A management tag of a user: 'monitoring' reads the HTTP API, 'administrator' also acts. */
export type { UserTag } from './auth/users.js';
/** Durability of commits: 'full' (fsync per batch) or 'process' (survives a process crash). */
export type { DurabilityMode } from './store/store.js';
/** Protocol limits the broker enforces and announces in welcome. */
export { DEFAULT_LIMITS, type Limits } from '../shared/limits.js';
/** The event history read side: the event log, the task index and the worker index (docs/events.md). */
export { DEFAULT_EVENT_RETENTION } from './engine/events-api.js';
export type {
  EventRetention, EventView, EventsApi, EventsPage, EventsQuery, EventLogStats, TaskDetail, TaskInfo, TasksApi, TasksPage, TasksQuery,
  WorkerInfo, WorkersApi,
} from './engine/events-api.js';
export type { EventRecord } from '../shared/frames.js';
