// A stored beat entry's spec (JSON text, written by celeriac's beat or app.schedules; docs/beat.md)
// read for display: the task it sends and its schedule in the words `app.schedules.list()` uses.
// Read only: the broker never plans runs (beat does); an entry it cannot read is shown as such.

/** What the API shows of a spec. */
export interface SpecView {
  /** The task it sends; null when the spec cannot be read. */
  task: string | null;
  /** 'every 10 s', "crontab '0 9 * * *' (Europe/Paris)", 'solar sunrise (48.85, 2.35)', 'at 2026-...Z'; 'unreadable' when it cannot be read. */
  schedule: string;
  args: unknown[] | null;
  kwargs: Record<string, unknown> | null;
  /** queue, routingKey, exchange, priority, expires, headers as the entry gives them. */
  options: Record<string, unknown> | null;
  /** The entry's own time zone (null: the beat's `timezone` setting). */
  timezone: string | null;
  /** Why the spec cannot be read; absent when it can. */
  error?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** 'every 10 s', 'every 5 min', 'every 1500 ms': the largest unit that divides it (as client/beat/schedules/interval.ts). */
export function describeEvery(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `every ${ms / size} ${unit}`;
  }
  return `every ${ms} ms`;
}

/** A stored schedule (`{ kind, ... }`) in words; null for a shape it does not know. */
function describeSchedule(s: unknown, entryZone: string | null): string | null {
  if (!isRecord(s)) return null;
  if (s.kind === 'interval' && typeof s.every === 'number') return describeEvery(s.every);
  if (s.kind === 'crontab' && typeof s.expr === 'string') {
    const zone = typeof s.timezone === 'string' ? s.timezone : entryZone;
    return `crontab '${s.expr}' (${zone ?? "the beat's timezone"})`;
  }
  if (s.kind === 'solar' && typeof s.event === 'string') return `solar ${s.event} (${String(s.lat)}, ${String(s.lon)})`;
  if (s.kind === 'once' && typeof s.at === 'number' && Number.isFinite(s.at)) return `at ${new Date(s.at).toISOString()}`;
  return null;
}

/** Reads a stored spec for display; never throws. */
export function readSpec(spec: string): SpecView {
  const unreadable = (error: string): SpecView => ({ task: null, schedule: 'unreadable', args: null, kwargs: null, options: null, timezone: null, error });
  let raw: unknown;
  try {
    raw = JSON.parse(spec);
  } catch (err) {
    return unreadable(`not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isRecord(raw) || typeof raw.task !== 'string') return unreadable('not a beat entry: no task name');
  const timezone = typeof raw.timezone === 'string' ? raw.timezone : null;
  const schedule = describeSchedule(raw.schedule, timezone);
  if (schedule === null) return unreadable(`a schedule of a shape this broker does not know: ${JSON.stringify(raw.schedule)}`);
  return {
    task: raw.task, schedule, timezone,
    args: Array.isArray(raw.args) ? raw.args : [],
    kwargs: isRecord(raw.kwargs) ? raw.kwargs : {},
    options: isRecord(raw.options) ? raw.options : {},
  };
}
