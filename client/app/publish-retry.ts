// The task publish retry policy (Celery's task_publish_retry_policy): its shape and parser, the
// waits it allows, and how sending a task applies it. Durations are ms here; Celery's are seconds.
import { CeleriacError } from '../../shared/errors.js';
import type { Transport } from '../transport/transport.js';
import type { RetryPlan } from './broker-retry.js';
import { duration, int, invalid, isPlainObject, nullable, type Parser } from './setting-parsers.js';
import { onlyKeys } from './setting-shapes.js';

/** How sending a task retries while the broker cannot be reached. */
export interface PublishRetryPolicy {
  /** Retries after the first try; null = retry for ever. */
  readonly maxRetries: number | null;
  /** Wait before the first retry, ms. */
  readonly intervalStart: number;
  /** Added to the wait at each further retry, ms. */
  readonly intervalStep: number;
  /** Ceiling of the part added by intervalStep, ms. */
  readonly intervalMax: number;
}

/**
 * Celery's default policy, from its app/defaults.py: 3 retries, waiting 0, 0.2 and 0.4 s. (Its
 * calling guide says interval_max 0.2; the code says 1, which with 3 retries is never reached.)
 */
export const DEFAULT_PUBLISH_RETRY_POLICY: PublishRetryPolicy = Object.freeze({ maxRetries: 3, intervalStart: 0, intervalStep: 200, intervalMax: 1_000 });

const KEYS: ReadonlySet<string> = new Set(['maxRetries', 'intervalStart', 'intervalStep', 'intervalMax']);

/** Parses a policy; fields left out keep Celery's defaults. */
export const publishRetryPolicy: Parser<PublishRetryPolicy> = (value, label) => {
  if (!isPlainObject(value)) throw invalid(label, 'an object { maxRetries?, intervalStart?, intervalStep?, intervalMax? }', value);
  onlyKeys(value, KEYS, label);
  const d = DEFAULT_PUBLISH_RETRY_POLICY;
  const field = <T>(key: keyof PublishRetryPolicy, parse: Parser<T>, fallback: T): T => (value[key] === undefined ? fallback : parse(value[key], `${label}.${key}`));
  return {
    maxRetries: field('maxRetries', nullable(int(0)), d.maxRetries),
    intervalStart: field('intervalStart', duration(0), d.intervalStart),
    intervalStep: field('intervalStep', duration(0), d.intervalStep),
    intervalMax: field('intervalMax', duration(0), d.intervalMax),
  };
};

/** Celery's form: `{ max_retries, interval_start, interval_step, interval_max }` in seconds (None = for ever). */
export function policyFromCelery(value: unknown): unknown {
  if (!isPlainObject(value)) return value;
  const names: Readonly<Record<string, keyof PublishRetryPolicy>> = { max_retries: 'maxRetries', interval_start: 'intervalStart', interval_step: 'intervalStep', interval_max: 'intervalMax' };
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const to = names[key] ?? key;
    out[to] = to !== 'maxRetries' && typeof v === 'number' ? v * 1000 : v;
  }
  return out;
}

/**
 * The wait before retry `retry` (0-based), ms, as kombu's retry_over_time counts it:
 * intervalStart, then intervalStep more each time, the growth capped at intervalMax.
 */
export function retryDelay(policy: PublishRetryPolicy, retry: number): number {
  return policy.intervalStart + Math.min(retry * policy.intervalStep, policy.intervalMax);
}

/** Every wait the policy allows, summed (ms); null when it retries for ever. */
export function retryBudget(policy: PublishRetryPolicy): number | null {
  const n = policy.maxRetries;
  if (n === null) return null;
  if (policy.intervalStep === 0) return n * policy.intervalStart;
  let total = 0;
  let i = 0;
  // Growing waits one by one, then the capped wait times the retries left.
  for (; i < n && i * policy.intervalStep < policy.intervalMax; i++) total += retryDelay(policy, i);
  return total + (n - i) * (policy.intervalStart + policy.intervalMax);
}

/** The settings sending a task reads. */
export interface PublishRetrySettings {
  readonly taskPublishRetry: boolean;
  readonly taskPublishRetryPolicy: PublishRetryPolicy;
}

/** The policy in force: taskPublishRetry false means no retry at all. */
function policyOf(s: PublishRetrySettings): PublishRetryPolicy {
  return s.taskPublishRetry ? s.taskPublishRetryPolicy : { ...s.taskPublishRetryPolicy, maxRetries: 0 };
}

/**
 * How long the producer connection may hold a publish while it is down (its
 * offlinePublishTimeout): the waits the policy allows, during which the connection's own
 * reconnect attempts are the retries. null = for ever.
 */
export function offlineLimit(s: PublishRetrySettings): number | null {
  return retryBudget(policyOf(s));
}

/** What failed to be sent, and to which broker (its URL as messages show it). */
export interface Sending {
  /** e.g. `task 'tasks.add' [id]`. */
  readonly what: string;
  readonly url: string;
}

/** ERR_PUBLISH_FAILED naming what was not sent and the broker URL (once, if `reason` has it already). */
function sendFailed(sending: Sending, reason: string, options: { cause?: unknown; details?: Record<string, unknown> }): CeleriacError {
  const to = reason.includes(sending.url) ? '' : ` to ${sending.url}`;
  return new CeleriacError('ERR_PUBLISH_FAILED', `cannot send ${sending.what}${to}: ${reason}`, { ...options, details: { ...options.details, url: sending.url } });
}

/** The plan for the producer's first connection: Celery's retries, then ERR_PUBLISH_FAILED. */
export function firstConnectPlan(s: PublishRetrySettings, sending: () => Sending): RetryPlan {
  const policy = policyOf(s);
  return {
    maxRetries: policy.maxRetries,
    delay: (retry) => retryDelay(policy, retry),
    giveUp: (last, retries) => sendFailed(sending(), retries === 0 ? last.message : `${last.message} (gave up after ${retries} ${retries === 1 ? 'retry' : 'retries'}: taskPublishRetryPolicy)`, { cause: last, details: { retries } }),
  };
}

/** The Connection's ERR_PUBLISH_FAILED (held too long while down) told in task terms; other errors pass. */
export function inTaskTerms(err: unknown, sending: () => Sending): unknown {
  if (!(err instanceof CeleriacError) || err.code !== 'ERR_PUBLISH_FAILED' || err.details?.['url'] !== undefined) return err;
  return sendFailed(sending(), err.message, { cause: err, ...(err.details === undefined ? {} : { details: err.details }) });
}

/**
 * `p` (a declare before the publish), bounded like a held publish when the connection is down now:
 * a request made while down otherwise waits the whole request timeout. The request itself goes on
 * (declares are idempotent); only the wait for it ends.
 */
export function boundWhileDown<T>(conn: Transport, p: Promise<T>, s: PublishRetrySettings, sending: () => Sending): Promise<T> {
  if (conn.connected) return p;
  const limit = offlineLimit(s);
  if (limit === null) return p;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(sendFailed(sending(), `the connection has been down for ${limit} ms or more (taskPublishRetryPolicy)`, { details: { heldMs: limit } })), limit);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (err: unknown) => { clearTimeout(timer); reject(err); });
  });
}
