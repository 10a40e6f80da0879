// How one task event changes what the task index knows of the task: Celery's own rules
// [celery/events/state.py Task.event], so the state is the same whichever order events arrive in.
import { statePrecedence } from '../../shared/task-states.js';
import type { TaskInfo } from './events-api.js';

/** The state a task event puts its task in [celery/events/state.py TASK_EVENT_TO_STATE]. */
export const TASK_EVENT_STATE: Readonly<Record<string, string>> = {
  'task-sent': 'PENDING', 'task-received': 'RECEIVED', 'task-started': 'STARTED', 'task-succeeded': 'SUCCESS',
  'task-failed': 'FAILURE', 'task-retried': 'RETRY', 'task-revoked': 'REVOKED', 'task-rejected': 'REJECTED',
};

type TimeField = 'sent' | 'received' | 'started' | 'succeeded' | 'failed' | 'retried' | 'revoked' | 'rejected';

/** The field each known event type stamps with its time. */
const TIME_FIELD: Readonly<Record<string, TimeField>> = {
  'task-sent': 'sent', 'task-received': 'received', 'task-started': 'started', 'task-succeeded': 'succeeded',
  'task-failed': 'failed', 'task-retried': 'retried', 'task-revoked': 'revoked', 'task-rejected': 'rejected',
};

type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === 'string';
const strOrNull: Check = (v) => v === null || typeof v === 'string';
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const bool: Check = (v) => typeof v === 'boolean';
const any: Check = () => true;
const array: Check = (v) => Array.isArray(v);
const object: Check = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

type FieldName = 'name' | 'args' | 'kwargs' | 'argsValue' | 'kwargsValue' | 'retries' | 'eta' | 'expires' | 'rootId' | 'parentId' | 'queue' | 'exchange' | 'routingKey'
  | 'result' | 'exception' | 'traceback' | 'runtime' | 'terminated' | 'expired' | 'reason';

/** Event fields the index keeps: the event's (Celery's) name, ours, and what a value must be. */
const FIELDS: readonly (readonly [string, FieldName, Check])[] = [
  ['name', 'name', str], ['args', 'args', any], ['kwargs', 'kwargs', any], ['args_value', 'argsValue', array], ['kwargs_value', 'kwargsValue', object],
  ['retries', 'retries', num], ['eta', 'eta', strOrNull],
  ['expires', 'expires', strOrNull], ['root_id', 'rootId', strOrNull], ['parent_id', 'parentId', strOrNull], ['queue', 'queue', str],
  ['exchange', 'exchange', str], ['routing_key', 'routingKey', str], ['result', 'result', any], ['exception', 'exception', str],
  ['traceback', 'traceback', strOrNull], ['runtime', 'runtime', num], ['terminated', 'terminated', bool], ['expired', 'expired', bool],
  ['reason', 'reason', str],
];

/** What a task-received that arrives after a later state may still add [Celery's merge_rules]. */
const RECEIVED_KEEPS: ReadonlySet<FieldName> = new Set(['name', 'args', 'kwargs', 'argsValue', 'kwargsValue', 'parentId', 'rootId', 'retries', 'eta', 'expires']);

/** Event ids a task's timeline remembers: the newest ones (a task retried many times keeps its latest runs). */
export const MAX_TIMELINE_EVENTS = 100;

/** A task of the index as the engine holds it: what the API shows, plus its event ids. */
export interface TaskEntry extends TaskInfo {
  /** Ids of its events, oldest first (at most MAX_TIMELINE_EVENTS). */
  events: number[];
}

/** A task the index has not seen yet, created by its first stored event. */
export function newTaskEntry(vhost: string, taskId: string, eventId: number, at: number): TaskEntry {
  return {
    vhost, id: taskId, name: null, state: 'PENDING', args: null, kwargs: null, argsValue: null, kwargsValue: null, result: null, exception: null, traceback: null, retries: null,
    worker: null, queue: null, exchange: null, routingKey: null, rootId: null, parentId: null, eta: null, expires: null,
    sent: null, received: null, started: null, succeeded: null, failed: null, retried: null, revoked: null, rejected: null,
    runtime: null, terminated: null, expired: null, reason: null, timestamp: null,
    firstEventId: eventId, lastEventId: eventId, firstSeen: at, lastSeen: at, events: [],
  };
}

/** The state task event `type` stands for (an unknown task-x: X). */
export function taskEventState(type: string): string {
  return TASK_EVENT_STATE[type] ?? type.slice('task-'.length).toUpperCase();
}

/**
 * Whether an event of `state` moves a task in `current` to it: unless its state comes before the
 * current one by precedence (then it happened before, and only fills in fields); RETRY always moves on.
 */
export function setsState(current: string, state: string): boolean {
  return state === 'RETRY' || current === 'RETRY' || statePrecedence(state) <= statePrecedence(current);
}

/** An event's time in epoch ms: its `timestamp` (seconds, Celery's unit), else when the broker stored it. */
function eventTime(event: Record<string, unknown>, at: number): number {
  const ts = event.timestamp;
  return typeof ts === 'number' && Number.isFinite(ts) && ts > 0 ? Math.round(ts * 1000) : at;
}

/**
 * Applies task event `type` (stored as `eventId` at broker time `at`) to `entry`, as Celery's State
 * does: the event's time goes in its field; an event of a state that comes before the current one
 * (by precedence; RETRY always moves on) only fills in fields — just the arguments for a late
 * task-received — while any other sets the state and all its fields. The worker is the sender of
 * any event but task-sent (sent by the producer). Events are applied in id order (the order the
 * broker stored them), so one with an id at or below the latest applied was applied already (read
 * back from the log after a restart): it changes nothing, and false is returned.
 */
export function applyTaskEvent(entry: TaskEntry, type: string, event: Record<string, unknown>, eventId: number, at: number): boolean {
  if (entry.events.length > 0 && eventId <= entry.lastEventId) return false;
  const state = taskEventState(type);
  const time = eventTime(event, at);
  const timeField = TIME_FIELD[type];
  if (timeField !== undefined) entry[timeField] = time;
  if (type !== 'task-sent' && typeof event.hostname === 'string') entry.worker = event.hostname;
  const happenedBefore = !setsState(entry.state, state);
  const keeps = happenedBefore && state === 'RECEIVED' ? RECEIVED_KEEPS : undefined;
  if (!happenedBefore) {
    entry.state = state;
    entry.timestamp = time;
  }
  const fields = entry as unknown as Record<FieldName, unknown>;
  for (const [from, to, check] of FIELDS) {
    const v = event[from];
    if (v === undefined || !check(v) || (keeps !== undefined && !keeps.has(to))) continue;
    fields[to] = v;
  }
  entry.lastEventId = eventId;
  entry.lastSeen = at;
  entry.events.push(eventId);
  if (entry.events.length > MAX_TIMELINE_EVENTS) entry.events.splice(0, entry.events.length - MAX_TIMELINE_EVENTS);
  return true;
}
