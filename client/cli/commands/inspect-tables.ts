// The human output of `celeriac inspect` and `celeriac status`: the workers' replies as aligned
// tables. Pure: replies in, text out. Replies are read defensively (a Celery-shaped worker may
// leave fields out), and a field that is missing shows as '-'.
import { shortRepr } from '../output.js';
import { formatCount, formatSeconds, renderTable, type Column } from '../table.js';
import { nodes } from './broadcast.js';

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function text(v: unknown): string {
  return typeof v === 'string' && v !== '' ? v : '-';
}

/** args, then kwargs when there are any, in one short line. */
function callRepr(task: Obj): string {
  const args = Array.isArray(task['args']) ? task['args'] : [];
  const kwargs = obj(task['kwargs']);
  return shortRepr(args, 40) + (Object.keys(kwargs).length > 0 ? ` ${shortRepr(kwargs, 40)}` : '');
}

/** What the last column of a task list says, per method. */
const TASK_LISTS = {
  active: { header: 'RUNNING', cell: (t: Obj, nowMs: number) => { const s = num(t['time_start']); return s === undefined ? '-' : formatSeconds(nowMs / 1000 - s); } },
  reserved: { header: 'QUEUE', cell: (t: Obj) => text(obj(t['delivery_info'])['queue']) },
  // Held here only for a rate-limit slot (an eta task waits in the broker, not in a worker).
  scheduled: { header: 'WAITING FOR', cell: (t: Obj) => (typeof t['eta'] === 'string' ? t['eta'] : 'rate limit') },
} as const;

/** Which inspect methods list tasks. */
export type TaskListMethod = keyof typeof TASK_LISTS;

/**
 * active / reserved / scheduled: one row per task with the worker holding it, then a count; no
 * task at all: one line naming the workers that answered.
 */
export function taskListTable(method: TaskListMethod, replies: Readonly<Record<string, unknown>>, nowMs: number): string {
  const hosts = Object.keys(replies);
  const last = TASK_LISTS[method];
  const rows = hosts.flatMap((h) => (Array.isArray(replies[h]) ? (replies[h] as unknown[]) : []).map((entry) => {
    // scheduled wraps the task in `request`, as Celery does.
    const t = method === 'scheduled' && typeof obj(entry)['request'] === 'object' ? { ...obj(obj(entry)['request']), eta: obj(entry)['eta'] } : obj(entry);
    return [h, text(t['id']), text(t['name']), callRepr(t), last.cell(t, nowMs)];
  }));
  if (rows.length === 0) return `No ${method} tasks on ${nodes(hosts.length)} (${hosts.join(', ')}).\n`;
  const columns: Column[] = [{ header: 'WORKER' }, { header: 'ID' }, { header: 'TASK' }, { header: 'ARGS' }, { header: last.header }];
  return `${renderTable(columns, rows)}\n${rows.length} ${method} ${rows.length === 1 ? 'task' : 'tasks'} on ${nodes(hosts.length)}.\n`;
}

/** registered: the task names of each worker, the worker named on its first row only. */
export function registeredTable(replies: Readonly<Record<string, unknown>>): string {
  const rows = Object.keys(replies).flatMap((h) => {
    const names = Array.isArray(replies[h]) ? (replies[h] as unknown[]).map(String) : [];
    return names.length === 0 ? [[h, '(none)']] : names.map((n, i) => [i === 0 ? h : '', n]);
  });
  return renderTable([{ header: 'WORKER' }, { header: 'TASKS' }], rows);
}

/** The figures of a stats reply that the tables show. */
function statsCells(stats: unknown): { pool: string; concurrency: string; prefetch: string; processed: string; uptime: string; queues: string } {
  const s = obj(stats);
  const pool = obj(s['pool']);
  const totals = Object.values(obj(s['total'])).map(num).filter((n): n is number => n !== undefined);
  const uptime = num(s['uptime']);
  const concurrency = num(pool['max-concurrency']);
  const prefetch = num(s['prefetch_count']);
  const queues = Array.isArray(s['queues']) ? (s['queues'] as unknown[]).map(String).join(',') : '';
  return {
    pool: text(pool['implementation']),
    concurrency: concurrency === undefined ? '-' : String(concurrency),
    prefetch: prefetch === undefined ? '-' : String(prefetch),
    processed: formatCount(totals.reduce((a, b) => a + b, 0)),
    uptime: uptime === undefined ? '-' : formatSeconds(uptime),
    queues: queues === '' ? '-' : queues,
  };
}

/** stats: one row per worker with its pool, prefetch, tasks processed, uptime and queues. */
export function statsTable(replies: Readonly<Record<string, unknown>>): string {
  const rows = Object.keys(replies).map((h) => {
    const c = statsCells(replies[h]);
    return [h, c.pool, c.concurrency, c.prefetch, c.processed, c.uptime, c.queues];
  });
  return renderTable([
    { header: 'WORKER' }, { header: 'POOL' }, { header: 'CONCURRENCY', align: 'right' }, { header: 'PREFETCH', align: 'right' },
    { header: 'PROCESSED', align: 'right' }, { header: 'UPTIME', align: 'right' }, { header: 'QUEUES' },
  ], rows);
}

/** ping: each worker and what it answered. */
export function pingTable(replies: Readonly<Record<string, unknown>>): string {
  return renderTable([{ header: 'WORKER' }, { header: 'REPLY' }], Object.keys(replies).map((h) => [h, text(obj(replies[h])['ok'])]));
}

/** One worker as `celeriac status --json` gives it. */
export interface StatusRow {
  status: 'OK';
  pool: string | null;
  concurrency: number | null;
  processed: number | null;
  uptime: number | null;
  queues: string[] | null;
}

/** The status of each worker that answered the ping, with its stats when it sent them too. */
export function statusRows(pinged: readonly string[], stats: Readonly<Record<string, unknown>>): Record<string, StatusRow> {
  return Object.fromEntries([...pinged].sort().map((h) => {
    const s = stats[h] === undefined ? undefined : obj(stats[h]);
    const pool = obj(s?.['pool']);
    const totals = s === undefined ? [] : Object.values(obj(s['total'])).map(num).filter((n): n is number => n !== undefined);
    const row: StatusRow = {
      status: 'OK',
      pool: typeof pool['implementation'] === 'string' ? pool['implementation'] : null,
      concurrency: num(pool['max-concurrency']) ?? null,
      processed: s === undefined ? null : totals.reduce((a, b) => a + b, 0),
      uptime: num(s?.['uptime']) ?? null,
      queues: Array.isArray(s?.['queues']) ? (s['queues'] as unknown[]).map(String) : null,
    };
    return [h, row];
  }));
}

/** status: a row per worker online, a blank line, then "N nodes online." as Celery ends it. */
export function statusTable(rows: Readonly<Record<string, StatusRow>>): string {
  const hosts = Object.keys(rows);
  const dash = (v: number | null, f: (n: number) => string): string => (v === null ? '-' : f(v));
  const table = renderTable([
    { header: 'WORKER' }, { header: 'STATUS' }, { header: 'POOL' }, { header: 'CONCURRENCY', align: 'right' },
    { header: 'PROCESSED', align: 'right' }, { header: 'UPTIME', align: 'right' }, { header: 'QUEUES' },
  ], hosts.map((h) => {
    const r = rows[h]!;
    return [h, r.status, r.pool ?? '-', dash(r.concurrency, String), dash(r.processed, formatCount), dash(r.uptime, formatSeconds), r.queues === null || r.queues.length === 0 ? '-' : r.queues.join(',')];
  }));
  return `${table}\n${nodes(hosts.length)} online.\n`;
}
