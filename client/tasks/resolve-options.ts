// Checks a task's options when it is registered and fills every default from the app's settings,
// so a typo or a bad value fails at `app.task(...)`, naming the task and the option.
import { fail } from '../../shared/errors.js';
import { parseRateLimit } from '../app/rate-limit.js';
import { isSerializerName, SERIALIZER_NAMES } from '../../shared/messages/serializers.js';
import type { Settings } from '../app/settings.js';
import type { ResolvedTaskOptions } from './definition.js';
import type { TaskOptions } from './types.js';

const KNOWN: ReadonlySet<string> = new Set<keyof TaskOptions>([
  'bind', 'queue', 'routingKey', 'exchange', 'priority', 'autoretryFor', 'maxRetries', 'retryBackoff', 'retryBackoffMax',
  'retryJitter', 'defaultRetryDelay', 'rateLimit', 'timeLimit', 'softTimeLimit', 'acksLate', 'rejectOnWorkerLost',
  'trackStarted', 'ignoreResult', 'serializer', 'expires',
]);

/** Celery's retry_backoff_max default: 10 minutes. */
const DEFAULT_BACKOFF_MAX = 600_000;

export function resolveTaskOptions(name: string, o: TaskOptions, s: Readonly<Settings>): ResolvedTaskOptions {
  const bad = (key: string, expected: string, v: unknown): never => {
    throw fail('ERR_INVALID_ARGUMENT', `task '${name}' option ${key} must be ${expected}; got ${JSON.stringify(v) ?? String(v)}`, { task: name, option: key });
  };
  if (o === null || typeof o !== 'object') bad('options', 'an object', o);
  for (const key of Object.keys(o)) if (!KNOWN.has(key)) bad(key, `one of the known options (${[...KNOWN].join(', ')})`, key);
  const ms = (key: keyof TaskOptions, min = 0): number | null | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return v as undefined | null;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) bad(key, `a number of milliseconds >= ${min}`, v);
    return v as number;
  };
  const flag = (key: keyof TaskOptions): boolean | undefined => {
    const v = o[key];
    if (v !== undefined && typeof v !== 'boolean') bad(key, 'true or false', v);
    return v as boolean | undefined;
  };
  for (const key of ['queue', 'routingKey', 'exchange'] as const) {
    const v = o[key];
    if (v !== undefined && (typeof v !== 'string' || (key === 'queue' && v === ''))) bad(key, 'a string', v);
  }
  if (o.priority !== undefined && (!Number.isInteger(o.priority) || o.priority < 0 || o.priority > 255)) bad('priority', 'an integer from 0 to 255', o.priority);
  if (o.maxRetries !== undefined && o.maxRetries !== null && (!Number.isInteger(o.maxRetries) || o.maxRetries < 0)) bad('maxRetries', 'an integer >= 0 or null', o.maxRetries);
  if (o.autoretryFor !== undefined && (!Array.isArray(o.autoretryFor) || o.autoretryFor.some((m) => typeof m !== 'function' && typeof m !== 'string'))) {
    bad('autoretryFor', 'an array of error classes or error names', o.autoretryFor);
  }
  if (o.retryBackoff !== undefined && typeof o.retryBackoff !== 'boolean' && (typeof o.retryBackoff !== 'number' || !(o.retryBackoff >= 0))) bad('retryBackoff', 'true, false or a base delay in ms', o.retryBackoff);
  if (o.serializer !== undefined && !isSerializerName(o.serializer)) bad('serializer', `one of ${SERIALIZER_NAMES.join(', ')}`, o.serializer);
  if (o.rateLimit !== undefined && o.rateLimit !== null) {
    try {
      parseRateLimit(o.rateLimit, 'rateLimit');
    } catch {
      bad('rateLimit', "a rate such as '10/s', '100/m', '5/h' or a number per second", o.rateLimit);
    }
  }
  const timeLimit = ms('timeLimit', 1);
  const softTimeLimit = ms('softTimeLimit', 1);
  const backoff = o.retryBackoff === true ? 1_000 : typeof o.retryBackoff === 'number' ? o.retryBackoff : 0;
  return Object.freeze({
    ...o,
    bind: flag('bind') ?? false,
    autoretryFor: Object.freeze([...(o.autoretryFor ?? [])]),
    maxRetries: o.maxRetries !== undefined ? o.maxRetries : s.taskMaxRetries,
    retryBackoff: backoff,
    retryBackoffMax: ms('retryBackoffMax') ?? DEFAULT_BACKOFF_MAX,
    retryJitter: flag('retryJitter') ?? true,
    defaultRetryDelay: ms('defaultRetryDelay') ?? s.taskDefaultRetryDelay,
    rateLimit: o.rateLimit !== undefined ? o.rateLimit : s.taskDefaultRateLimit,
    timeLimit: timeLimit !== undefined ? timeLimit : s.taskTimeLimit,
    softTimeLimit: softTimeLimit !== undefined ? softTimeLimit : s.taskSoftTimeLimit,
    acksLate: flag('acksLate') ?? s.taskAcksLate,
    rejectOnWorkerLost: flag('rejectOnWorkerLost') ?? s.taskRejectOnWorkerLost,
    trackStarted: flag('trackStarted') ?? s.taskTrackStarted,
    ignoreResult: flag('ignoreResult') ?? s.taskIgnoreResult,
    expires: ms('expires') ?? null,
  });
}
