// How `celeriac events` prints an event: Celery's `celery events --dump` line (hostname, time,
// humanized type, the task, the other fields sorted) prefixed with the event id, or one JSON object.
import type { AnyEvent, EventInfo } from '../events/types.js';

/** Celery's names for the worker events in a dump [celery/events/dumper.py HUMAN_TYPES]. */
const HUMAN_TYPES: Readonly<Record<string, string>> = { 'worker-offline': 'shutdown', 'worker-online': 'started', 'worker-heartbeat': 'heartbeat' };

/** Tasks the dump names from their received/sent event, as Celery's TASK_NAMES; bounded. */
export class TaskNames {
  private readonly names = new Map<string, string>();
  constructor(private readonly max = 10_000) {}
  set(uuid: string, label: string): void {
    this.names.delete(uuid);
    this.names.set(uuid, label);
    if (this.names.size > this.max) this.names.delete(this.names.keys().next().value!);
  }
  get(uuid: string): string {
    return this.names.get(uuid) ?? '';
  }
}

/** A value on the line: strings as they are (JSON-quoted when they hold a line break, as a traceback does, so an event stays one line), the rest as compact JSON. */
function compact(v: unknown): string {
  // eslint-disable-next-line no-control-regex
  if (typeof v === 'string') return /[\u0000-\u001f]/.test(v) ? JSON.stringify(v) : v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function timeOf(event: AnyEvent): string {
  const ts = event.timestamp;
  const d = typeof ts === 'number' && Number.isFinite(ts) ? new Date(ts * 1000) : undefined;
  return d !== undefined && !Number.isNaN(d.getTime()) ? d.toISOString() : '?';
}

/**
 * `#ID hostname [time] task received: tasks.add(uuid) args=[2, 3] kwargs={}` — Celery's dump line
 * (the id first: where `--since` resumes). The id is `-` for an event the broker did not store.
 */
export function dumpLine(event: AnyEvent, info: EventInfo, names: TaskNames): string {
  const rest: Record<string, unknown> = { ...event };
  const type = String(rest.type).toLowerCase();
  const hostname = compact(rest.hostname);
  for (const k of ['type', 'hostname', 'timestamp']) delete rest[k];
  const head = `#${info.id ?? '-'} ${hostname} [${timeOf(event)}] ${HUMAN_TYPES[type] ?? type.replace(/-/g, ' ')}`;
  let task = '';
  if (type.startsWith('task-')) {
    const uuid = compact(rest.uuid);
    delete rest.uuid;
    if (type === 'task-received' || type === 'task-sent') {
      task = `${compact(rest.name)}(${uuid}) args=${compact(rest.args)} kwargs=${compact(rest.kwargs)}`;
      for (const k of ['name', 'args', 'kwargs']) delete rest[k];
      names.set(uuid, task);
    } else {
      // Celery leaves the task blank when it missed the received event; the name is there to say.
      task = names.get(uuid) || `${compact(rest.name ?? '')}(${uuid})`;
      delete rest.name;
    }
  }
  const fields = Object.keys(rest).sort().map((k) => `${k}=${compact(rest[k])}`).join(', ');
  return `${head}:${task === '' ? '' : ` ${task}`}${fields === '' ? '' : ` ${fields}`}`;
}

/** One JSON object: `{"id": N, "event": {...}}` (id null for an event the broker did not store). */
export function jsonLine(event: AnyEvent, info: EventInfo): string {
  return JSON.stringify({ id: info.id ?? null, event }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
