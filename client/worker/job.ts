// One task message inside a worker, from delivery to finish: the message, its decoded request,
// the task it names, and where it is (reserved, waiting on the rate limit, running).
import type { Delivery } from '../transport/transport.js';
import type { TaskRequest } from '../../shared/messages/types.js';
import type { TaskDefinition } from '../tasks/definition.js';
import type { RequestInfo } from '../tasks/types.js';
import type { PoolJob } from './pool-types.js';
import type { RateSlot } from './rate-gate.js';

export type JobState = 'reserved' | 'rate-limited' | 'active' | 'finishing' | 'done';

export interface Job {
  readonly msg: Delivery;
  readonly req: TaskRequest;
  readonly def: TaskDefinition;
  /** The queue it was consumed from. */
  readonly queue: string;
  state: JobState;
  readonly receivedAt: number;
  startedAt?: number;
  /** Acked before running (early acks). */
  acked: boolean;
  /**
   * The broker cancelled the consumer it came through (ack timeout, queue deleted) and took the
   * delivery back: its tag is dead, so it is neither acked nor rejected (the broker would refuse),
   * and a late-acked task's finish is not sent (the redelivered copy owns its outcome).
   */
  deliveryLost?: boolean;
  /** Revoked while here; `terminate` asks to stop a running one. */
  revoked?: { terminate: boolean };
  /** The rate-limit slot it waits for or started at (given back if it goes back to the queue unstarted). */
  slot?: RateSlot;
  /** Its run and finish once started (the worker waits for it at shutdown). */
  run?: Promise<void>;
}

/**
 * True while the broker still holds the job's delivery for this worker, so it may be settled
 * (acked, rejected, nacked) and its task may start: not settled, its socket still up, and its
 * consumer not cancelled by the broker. False = the broker requeued it for another delivery.
 */
export function settleable(job: Job): boolean {
  return job.msg.deliveryLive && job.deliveryLost !== true;
}

/** Limits in ms: the message's own (set by the caller), else the task's. */
export function limitsOf(job: Job): { hard: number | null; soft: number | null } {
  return {
    hard: job.req.timeLimit.hard ?? job.def.options.timeLimit,
    soft: job.req.timeLimit.soft ?? job.def.options.softTimeLimit,
  };
}

/** What the task function sees of its call. */
function requestInfoOf(job: Job, nodeName: string, limits: { hard: number | null; soft: number | null }): RequestInfo {
  const { req, msg } = job;
  return {
    id: req.id, task: req.task, retries: req.retries, rootId: req.rootId, parentId: req.parentId, groupId: req.group,
    groupIndex: req.groupIndex, eta: req.eta?.toISOString() ?? null, expires: req.expires?.toISOString() ?? null,
    hostname: nodeName, origin: req.origin,
    deliveryInfo: { exchange: msg.fields.exchange, routingKey: msg.fields.routingKey, redelivered: msg.fields.redelivered, priority: req.priority },
    timeLimit: limits.hard, softTimeLimit: limits.soft, headers: req.headers,
  };
}

/** The job as a pool runs it; `args` may be replaced (a chord callback gets its header's results first). */
export function poolJobOf(job: Job, nodeName: string, args: unknown[] = job.req.args): PoolJob {
  const limits = limitsOf(job);
  return { taskName: job.def.name, args, kwargs: job.req.kwargs, request: requestInfoOf(job, nodeName, limits), timeLimit: limits.hard, softTimeLimit: limits.soft };
}

/** A job as inspect lists it (Celery's field names). */
export function describeJob(job: Job, nodeName: string, pid: number): Record<string, unknown> {
  return {
    id: job.req.id, name: job.req.task, args: job.req.args, kwargs: job.req.kwargs, type: job.req.task,
    hostname: nodeName, time_start: job.startedAt === undefined ? null : job.startedAt / 1000, acknowledged: job.acked,
    delivery_info: { exchange: job.msg.fields.exchange, routing_key: job.msg.fields.routingKey, redelivered: job.msg.fields.redelivered, queue: job.queue },
    worker_pid: pid, eta: job.req.eta?.toISOString() ?? null, expires: job.req.expires?.toISOString() ?? null, retries: job.req.retries,
  };
}
