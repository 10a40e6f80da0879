// The engine's public face: build an engine over a store (recovering what the store holds).
// Sessions use the EngineApi contract in types.ts; nothing else of the engine is exported.
import { ACK_HOLD_MS } from './ack-hold.js';
import { GroupCommit } from '../store/group-commit.js';
import type { BrokerStore } from '../store/store.js';
import { Engine, type LogFn } from './engine.js';
import type { EngineApi } from './types.js';
import type { EventRetention } from './events-api.js';

export type {
  EngineApi, EngineConnection, DeliverySink, Delivery, ConnectionInfo, EngineMetrics, EngineOverview, QueueOverview, ExchangeOverview, BindingOverview, ConsumerOverview, PublishDone,
} from './types.js';
export type { LogFn } from './engine.js';
export type {
  EventRetention, EventView, EventsApi, EventsPage, EventsQuery, EventLogStats, TaskDetail, TaskInfo, TasksApi, TasksPage, TasksQuery,
  WorkerInfo, WorkersApi,
} from './events-api.js';
export { DEFAULT_EVENT_RETENTION } from './events-api.js';
export type { TaskOutcome, TaskSeries } from './task-stats.js';
export { DEFAULT_MAX_TASK_NAMES, OTHER_TASK, RUNTIME_BUCKETS } from './task-stats.js';

export interface CreateEngineOptions {
  store: BrokerStore;
  vhosts?: string[];
  memoryHighWatermark?: number;
  memoryLowWatermark?: number;
  storeHighWatermark?: number;
  defaultConsumerTimeout?: number;
  pagingThreshold?: number;
  /** How much event history to keep (default DEFAULT_EVENT_RETENTION; a bound of 0 stores none). */
  events?: EventRetention;
  log?: LogFn;
}

/** Builds the engine: recovers topology and messages from the store, starts its timers. */
export function createEngine(options: CreateEngineOptions): EngineApi {
  const log = options.log ?? (() => undefined);
  const writer = new GroupCommit(options.store, {
    onError: (err) => log('error', `store commit failed: ${err.message}`),
    ackHoldMs: ACK_HOLD_MS,
  });
  return new Engine({ ...options, writer, log });
}
