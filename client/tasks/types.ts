// The shapes of the task layer users write against: task options, call options and the context a
// running task sees. Types only; the behaviour lives in task.ts, the producer and the worker.
import type { RateLimit } from '../app/rate-limit.js';
import type { SerializerName } from '../app/setting-parsers.js';
import type { CompressionName } from '../app/setting-parsers.js';
import type { Signature } from '../../shared/messages/types.js';

/** An error class (or its name, for errors thrown in another runner) that triggers an automatic retry. */
export type ErrorMatcher = (abstract new (...args: never[]) => Error) | string;

/** Options of a task, given to `app.task(name, fn, options)`. Durations in ms. */
export interface TaskOptions {
  /** The function takes the TaskContext as its first argument (Celery's bind=True). */
  bind?: boolean;
  /** Route: queue, routing key, exchange, priority (call options win over these). */
  queue?: string;
  routingKey?: string;
  exchange?: string;
  priority?: number;
  /** Retry automatically when the task throws one of these (instanceof, or by error name). */
  autoretryFor?: readonly ErrorMatcher[];
  /** Retries allowed; null = unbounded. Default: the taskMaxRetries setting (3). */
  maxRetries?: number | null;
  /** Exponential backoff for automatic retries: true (base 1 s) or the base delay in ms. */
  retryBackoff?: boolean | number;
  /** Cap of the backoff delay in ms; default 600_000 (Celery's 10 minutes). */
  retryBackoffMax?: number;
  /** Randomize the backoff delay in [0, delay) (full jitter); default true. */
  retryJitter?: boolean;
  /** Delay of a retry that names none; default the taskDefaultRetryDelay setting (3 minutes). */
  defaultRetryDelay?: number;
  /** At most this many starts across all workers together, enforced by the broker: '10/s', '100/m'. */
  rateLimit?: RateLimit | null;
  /** Hard time limit: the runner is stopped after this long. */
  timeLimit?: number | null;
  /** Soft time limit: the task's AbortSignal fires after this long. */
  softTimeLimit?: number | null;
  /** Ack after the task ran (default: the taskAcksLate setting). */
  acksLate?: boolean;
  /** With late acks, requeue the task when its runner dies instead of failing it. */
  rejectOnWorkerLost?: boolean;
  /** Record STARTED when a worker begins the task (default: the taskTrackStarted setting). */
  trackStarted?: boolean;
  /** Store no result. */
  ignoreResult?: boolean;
  /** Serializer of this task's messages (default: taskSerializer). */
  serializer?: SerializerName;
  /** Expire calls not started within this many ms (default none). */
  expires?: number | null;
}

/** Options of one call (`applyAsync(args, options)`), Celery's names in camelCase. Durations in ms. */
export interface CallOptions {
  /** The task id to use (default a new UUID). */
  taskId?: string;
  queue?: string;
  routingKey?: string;
  exchange?: string;
  priority?: number;
  /** Run no earlier than this many ms from now (the broker holds the message). */
  countdown?: number;
  /** Run no earlier than this time. */
  eta?: Date;
  /** Not started by then (ms from now, or a time): the task is REVOKED instead of run. */
  expires?: number | Date;
  /** Extra message headers. */
  headers?: Record<string, unknown>;
  /** Store no result for this call. */
  ignoreResult?: boolean;
  /** Called with the result when the task succeeds (one signature or several). */
  link?: SignatureLike | readonly SignatureLike[];
  /** Called with the task id when the task fails. */
  linkError?: SignatureLike | readonly SignatureLike[];
  serializer?: SerializerName;
  compression?: CompressionName | null;
  timeLimit?: number | null;
  softTimeLimit?: number | null;
  /** Display name in logs and monitors. */
  shadow?: string;
  /** Retries so far (set by the worker when it retries a task). */
  retries?: number;
  /** @internal Workflow ids set by canvas and the worker. */
  rootId?: string;
  parentId?: string;
  groupId?: string;
  groupIndex?: number;
  /** @internal Remaining chain steps (execution order) and chord callback. */
  chain?: readonly Signature[];
  chord?: Signature | null;
}

/** Anything that can be written as a wire signature (a canvas Signature object has toWire()). */
export type SignatureLike = Signature | { toWire(): Signature };

/** Options of `ctx.retry()`. */
export interface RetryOptions {
  /** Delay before the retry in ms (default: the task's defaultRetryDelay). */
  countdown?: number;
  /** Retry at this time instead. */
  eta?: Date;
  /** The error that caused the retry (recorded with the RETRY state, re-thrown when retries run out). */
  exc?: unknown;
  /** Overrides the task's maxRetries for this retry. */
  maxRetries?: number | null;
}

/** What a running task knows about its call (Celery's task.request). Plain data: it crosses to isolated runners. */
export interface RequestInfo {
  id: string;
  task: string;
  retries: number;
  rootId: string;
  parentId: string | null;
  groupId: string | null;
  groupIndex: number | null;
  /** ISO time, or null. */
  eta: string | null;
  expires: string | null;
  /** The worker's node name. */
  hostname: string;
  /** Where the message came from. */
  deliveryInfo: { exchange: string; routingKey: string; redelivered: boolean; priority: number | null };
  origin: string | null;
  /** Resolved limits of this run in ms (null = none). */
  timeLimit: number | null;
  softTimeLimit: number | null;
  /** Task message headers as received (user headers included). */
  headers: Readonly<Record<string, unknown>>;
}

/** The context of a running task: `this` inside a task function, or its first argument with `bind: true`. */
export interface TaskContext {
  /** The task id. */
  readonly id: string;
  /** The task name. */
  readonly name: string;
  /** Retries so far (0 on the first run). */
  readonly retries: number;
  /** Fires at the soft time limit, on revoke with terminate, and at warm-shutdown timeout. */
  readonly signal: AbortSignal;
  /** Everything known about the call. */
  readonly request: RequestInfo;
  /** Asks for a retry: throws a RetryRequest the worker catches (never returns). */
  retry(options?: RetryOptions): never;
}

/** A task function; `this` is the TaskContext (use a `function`, not an arrow, to read it). */
export type TaskFunction<A extends unknown[], R> = (this: TaskContext, ...args: A) => R;
/** A bound task function (`bind: true`): the context comes first. */
export type BoundTaskFunction<A extends unknown[], R> = (ctx: TaskContext, ...args: A) => R;
