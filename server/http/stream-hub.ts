// The dashboard's live feed, without HTTP: one overview sample every 2 s (kept for the last minutes,
// so a page opened late still draws its charts), the queue rows that changed since the last sample,
// and task and worker changes gathered from the event log as events are stored, sent in batches.
import { statePrecedence } from '../../shared/task-states.js';
import type { EventView, EventsApi } from '../engine/events-api.js';
import { TASK_EVENT_STATE } from '../engine/task-events.js';
import type { EngineOverview, QueueOverview } from '../engine/types.js';
import type { Rates } from './rates.js';

/** How the hub paces and bounds itself; {@link DEFAULT_STREAM_SETTINGS} is what brokers use. */
export interface StreamSettings {
  /** An overview sample (and the changed queue rows) this often. */
  readonly overviewMs: number;
  /** Task and worker changes gathered this long, then sent as one event. */
  readonly batchMs: number;
  /** Overview samples kept for the charts of a page that connects (at overviewMs apart). */
  readonly historyPoints: number;
  /** Task changes held for one batch; past it the batch says how many it dropped (the page reloads its list). */
  readonly maxBatch: number;
  /** A client whose socket holds this many unsent bytes is too slow: it is closed (its page reconnects). */
  readonly maxBufferedBytes: number;
}

export const DEFAULT_STREAM_SETTINGS: Readonly<StreamSettings> = Object.freeze({
  overviewMs: 2_000, batchMs: 250, historyPoints: 150, maxBatch: 2_000, maxBufferedBytes: 1 << 20,
});

/** One point of the overview charts. */
export interface OverviewPoint {
  /** Epoch ms. */
  at: number;
  rates: Rates;
  messages: { ready: number; unacked: number; delayed: number };
}

/** A queue row as the stream sends it: GET /api/queues' row. */
export type QueueRow = QueueOverview & { rates: Rates };

/** What one batch says of a task: its newest state by Celery's precedence, and what its events carried. */
export interface TaskChange {
  vhost: string;
  id: string;
  /** task-sent and task-received carry it; null when this batch's events did not. */
  name: string | null;
  state: string;
  worker: string | null;
  /** The event that set the state: its type, its time (epoch ms) and its id in the event log. */
  type: string;
  at: number;
  eventId: number;
  exception: string | null;
  runtime: number | null;
}

/** A worker heard from in this batch. */
export interface WorkerChange {
  vhost: string;
  hostname: string;
  /** The latest event of it: worker-online, worker-heartbeat, worker-offline. */
  type: string;
  at: number;
}

/** A connected page, as the hub sees it: what it may see, and where its events go. */
export interface StreamClient {
  /** Whether this client may see `vhost`. */
  sees(vhost: string): boolean;
  /** False once its login has ended (a session logged out or expired): the hub closes it at the next sample. */
  alive(): boolean;
  /** Sends one event (name and JSON data); returns the bytes still unsent on its socket. */
  send(event: string, data: unknown): number;
  /** Ends the stream (too slow, or the broker closes). */
  close(): void;
}

/** What the hub reads: the engine's overview and event log, and the rates computed beside them. */
export interface StreamHubDeps {
  overview(): EngineOverview;
  /** Broker-wide totals (GET /api/overview's body, sent as it is) for a fresh engine overview. */
  summary(o: EngineOverview): Omit<OverviewPoint, 'at'>;
  queueRates(o: EngineOverview): (vhost: string, name: string) => Rates;
  events: Pick<EventsApi, 'listen'>;
  now?: () => number;
}

/** A sample younger than this is fresh enough for a page that connects. */
const FRESH_MS = 250;

const keyOf = (vhost: string, name: string): string => `${vhost}\u0000${name}`;

/** Counts and rates of a row, rates to 2 decimals: a row is sent again when this changes. */
function signatureOf(row: QueueRow): string {
  const r = row.rates;
  return `${row.messages}/${row.ready}/${row.unacked}/${row.delayed}/${row.consumers}/${r.publish.toFixed(2)}/${r.deliver.toFixed(2)}/${r.ack.toFixed(2)}`;
}

function text(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/**
 * Feeds every connected page. Sampling runs from the start (the charts need the minutes before a
 * page opened; one overview per 2 s is cheap next to the rate tracker's per-second one); the
 * event listener is on only while a page is connected, so events cost nothing more when nobody watches.
 */
export class StreamHub {
  private readonly clients = new Set<StreamClient>();
  private readonly history: OverviewPoint[] = [];
  private rows = new Map<string, { row: QueueRow; signature: string }>();
  private lastSummary: OverviewPoint | null = null;
  private readonly tasks = new Map<string, TaskChange>();
  private readonly workers = new Map<string, WorkerChange>();
  private dropped = 0;
  private batchTimer: NodeJS.Timeout | undefined;
  private sampleTimer: NodeJS.Timeout | undefined;
  private unlisten: (() => void) | undefined;
  private readonly now: () => number;

  constructor(private readonly deps: StreamHubDeps, private readonly settings: Readonly<StreamSettings> = DEFAULT_STREAM_SETTINGS) {
    this.now = deps.now ?? Date.now;
    this.sample();
    this.sampleTimer = setInterval(() => this.sample(), settings.overviewMs);
    this.sampleTimer.unref();
  }

  /** Pages connected now. */
  get size(): number {
    return this.clients.size;
  }

  /**
   * Adds a page: it gets the chart history, the overview and every queue row it may see at once,
   * then the changes.
   */
  add(client: StreamClient): void {
    // A fresh sample (shared by every page, so the rows' baseline stays one), unless one was just
    // taken: a page opened just after a queue was declared shows it.
    if (this.clients.size === 0 || this.now() - (this.lastSummary?.at ?? 0) > FRESH_MS) this.sample(true);
    this.clients.add(client);
    if (this.unlisten === undefined) this.unlisten = this.deps.events.listen((e) => this.onEvent(e));
    const alive = this.deliver(client, 'history', { points: this.history })
      && (this.lastSummary === null || this.deliver(client, 'overview', this.lastSummary))
      && this.deliver(client, 'queues', { full: true, changed: [...this.rows.values()].map((r) => r.row).filter((r) => client.sees(r.vhost)), removed: [] });
    if (!alive) this.remove(client);
  }

  /** Forgets a page (its socket closed). */
  remove(client: StreamClient): void {
    if (!this.clients.delete(client)) return;
    if (this.clients.size === 0) {
      this.unlisten?.();
      this.unlisten = undefined;
      this.tasks.clear();
      this.workers.clear();
      this.dropped = 0;
    }
  }

  /** Ends every stream and stops the timers: the broker is closing, and an open stream would hold its HTTP server up. */
  close(): void {
    clearInterval(this.sampleTimer);
    clearTimeout(this.batchTimer);
    this.sampleTimer = undefined;
    this.batchTimer = undefined;
    for (const c of [...this.clients]) {
      this.remove(c);
      c.close();
    }
  }

  /**
   * Takes an overview sample: kept for the charts, and sent with the queue rows that changed. The
   * rows are compared only while a page watches (or one is about to): nobody needs their changes else.
   */
  sample(withRows = this.clients.size > 0): void {
    const o = this.deps.overview();
    const summary = { ...this.deps.summary(o), at: this.now() };
    this.lastSummary = summary;
    this.history.push({ at: summary.at, rates: summary.rates, messages: summary.messages });
    if (this.history.length > this.settings.historyPoints) this.history.splice(0, this.history.length - this.settings.historyPoints);

    if (!withRows) {
      this.rows.clear();
      return;
    }
    const rates = this.deps.queueRates(o);
    const next = new Map<string, { row: QueueRow; signature: string }>();
    const changed: QueueRow[] = [];
    for (const q of o.queues) {
      const row: QueueRow = { ...q, rates: rates(q.vhost, q.name) };
      const key = keyOf(q.vhost, q.name);
      const signature = signatureOf(row);
      next.set(key, { row, signature });
      if (this.rows.get(key)?.signature !== signature) changed.push(row);
    }
    const removed: { vhost: string; name: string }[] = [];
    for (const [key, { row }] of this.rows) if (!next.has(key)) removed.push({ vhost: row.vhost, name: row.name });
    this.rows = next;

    for (const c of [...this.clients]) {
      if (!c.alive()) {
        this.remove(c);
        c.close();
        continue;
      }
      if (!this.deliver(c, 'overview', summary)) continue;
      const mine = changed.filter((r) => c.sees(r.vhost));
      const gone = removed.filter((r) => c.sees(r.vhost));
      if (mine.length > 0 || gone.length > 0) this.deliver(c, 'queues', { full: false, changed: mine, removed: gone });
    }
  }

  /** An event was stored: fold it into the batch (keep this short: it runs on the publish path). */
  private onEvent(e: EventView): void {
    const data = e.data;
    if (data === null) return;
    if (e.type.startsWith('task-')) this.onTaskEvent(e, data);
    else if (e.type.startsWith('worker-')) {
      const hostname = text(data.hostname);
      if (hostname === null) return;
      this.workers.set(keyOf(e.vhost, hostname), { vhost: e.vhost, hostname, type: e.type, at: e.at });
      this.schedule();
    }
  }

  private onTaskEvent(e: EventView, data: Record<string, unknown>): void {
    const id = text(data.uuid);
    if (id === null || id === '') return;
    const key = keyOf(e.vhost, id);
    const state = TASK_EVENT_STATE[e.type] ?? e.type.slice('task-'.length).toUpperCase();
    const seen = this.tasks.get(key);
    if (seen === undefined) {
      if (this.tasks.size >= this.settings.maxBatch) {
        this.dropped++;
        return;
      }
      this.tasks.set(key, {
        vhost: e.vhost, id, name: text(data.name), state, worker: e.type === 'task-sent' ? null : text(data.hostname),
        type: e.type, at: e.at, eventId: e.id, exception: text(data.exception), runtime: typeof data.runtime === 'number' ? data.runtime : null,
      });
      this.schedule();
      return;
    }
    // As the task index does [celery/events/state.py]: an event of an earlier state (by precedence) fills in, never moves back.
    seen.name ??= text(data.name);
    if (e.type !== 'task-sent') seen.worker = text(data.hostname) ?? seen.worker;
    const earlier = state !== 'RETRY' && seen.state !== 'RETRY' && statePrecedence(state) > statePrecedence(seen.state);
    if (earlier) return;
    seen.state = state;
    seen.type = e.type;
    seen.at = e.at;
    seen.eventId = e.id;
    seen.exception = text(data.exception) ?? seen.exception;
    if (typeof data.runtime === 'number') seen.runtime = data.runtime;
  }

  private schedule(): void {
    if (this.batchTimer !== undefined) return;
    this.batchTimer = setTimeout(() => this.flush(), this.settings.batchMs);
    this.batchTimer.unref();
  }

  /** Sends the batch gathered: each page gets the changes of the vhosts it may see. */
  private flush(): void {
    this.batchTimer = undefined;
    const tasks = [...this.tasks.values()];
    const workers = [...this.workers.values()];
    const dropped = this.dropped;
    this.tasks.clear();
    this.workers.clear();
    this.dropped = 0;
    for (const c of [...this.clients]) {
      const mine = tasks.filter((x) => c.sees(x.vhost));
      if ((mine.length > 0 || dropped > 0) && !this.deliver(c, 'task', { tasks: mine, dropped })) continue;
      const theirs = workers.filter((w) => c.sees(w.vhost));
      if (theirs.length > 0) this.deliver(c, 'worker', { workers: theirs });
    }
  }

  /** Sends, and closes a client that has fallen too far behind; false when it is gone. */
  private deliver(c: StreamClient, event: string, data: unknown): boolean {
    if (!this.clients.has(c)) return false;
    if (c.send(event, data) <= this.settings.maxBufferedBytes) return true;
    this.remove(c);
    c.close();
    return false;
  }
}

