// What the task benchmark runs: its sides, its shapes and the issue 13 targets (tasks.js runs
// them, tasks-report.js prints them).
import { REDIS_PERSISTENCE } from './redis-server.js';

/** The shapes, in the order they run on a side (round trips first: an idle system). */
export const TASK_SHAPES = ['round-trip', 'window', 'fire-and-forget', 'batch', 'load'];
/** The shapes measured in tasks/s. */
export const THROUGHPUT_SHAPES = ['window', 'fire-and-forget', 'batch'];

/** The targets of issue 13 (this machine, same run), for celeriac on broker-server, durability full. */
export const TASK_TARGETS = { vsBullmq: 2, p99Ms: 2, brokerCpuUs: 40 };

/**
 * The sides measured. `counter` is where fire-and-forget's completions are counted: the broker's
 * /metrics (acked deliveries), redis (BullMQ's completed set) or, on RabbitMQ without its
 * management plugin, the worker (its runs, over IPC).
 */
export const TASK_SIDES = [
  { id: 'celeriac', kind: 'celeriac', durability: 'full', counter: 'metrics', label: 'celeriac, broker-server durability full' },
  // Not a target: shown so the fsync's share of `full` can be told apart, as latency.js does.
  { id: 'celeriac-process', kind: 'celeriac', durability: 'process', counter: 'metrics', label: 'celeriac, broker-server durability process (not a target)' },
  // The same app with two other URLs: a durable RabbitMQ queue (confirms once on disk), results in redis.
  { id: 'celeriac-rabbitmq', kind: 'celeriac', home: 'rabbitmq', counter: 'worker', label: 'celeriac on RabbitMQ + Redis (no persistence)' },
  { id: 'bullmq', kind: 'bullmq', persistence: 'none', counter: 'bullmq', label: `BullMQ, redis ${REDIS_PERSISTENCE.none.label}` },
  { id: 'bullmq-aof', kind: 'bullmq', persistence: 'aof', counter: 'bullmq', label: `BullMQ, redis ${REDIS_PERSISTENCE.aof.label}` },
];

/** The BullMQ sides (the peers the targets compare with). */
export const BULLMQ_SIDES = TASK_SIDES.filter((s) => s.kind === 'bullmq').map((s) => s.id);
