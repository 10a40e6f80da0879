// The worker index: per worker hostname, what its worker-online / heartbeat / offline events said
// (pool, concurrency, load, tasks run), held in memory (workers are few) and rebuilt at start from
// the stored events (the event log's retention bounds it), so it survives a restart without a row
// of its own.
import type { WorkerInfo } from './events-api.js';

/** Celery's HEARTBEAT_EXPIRE_WINDOW: a worker unheard for twice its interval is offline. */
const EXPIRE_WINDOW = 2;

/** A worker as the index holds it: everything but `online`, which depends on when it is asked. */
type WorkerEntry = Omit<WorkerInfo, 'online'>;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const numbers = (v: unknown): number[] | null => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : null);
const texts = (v: unknown): string[] | null => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null);

function newEntry(vhost: string, hostname: string, eventId: number): WorkerEntry {
  return {
    vhost, hostname, lastHeartbeat: null, freq: 0, active: null, processed: null, loadavg: null, pool: null, concurrency: null, queues: null,
    pid: null, swIdent: null, swVer: null, swSys: null, onlineSince: null, offlineAt: null, lastEventId: eventId,
  };
}

export interface WorkerIndexDeps {
  now: () => number;
}

export class WorkerIndex {
  private readonly workers = new Map<string, WorkerEntry>();

  constructor(private readonly deps: WorkerIndexDeps) {}

  /** A worker event was stored as `eventId` at broker time `at`. */
  onEvent(vhost: string, hostname: string, type: string, event: Record<string, unknown>, eventId: number, at: number): void {
    const key = `${vhost}\u0000${hostname}`;
    let w = this.workers.get(key);
    if (w === undefined) this.workers.set(key, (w = newEntry(vhost, hostname, eventId)));
    else if (eventId <= w.lastEventId) return; // applied already (read back from the log at start)
    // The broker's clock, not the sender's: "heard from lately" must not depend on clock skew.
    w.lastHeartbeat = at;
    w.lastEventId = eventId;
    if (type === 'worker-offline') w.offlineAt = at;
    else {
      if (type === 'worker-online' || w.offlineAt !== null || w.onlineSince === null) w.onlineSince = at;
      w.offlineAt = null;
    }
    w.freq = num(event.freq) ?? w.freq;
    w.active = num(event.active) ?? w.active;
    w.processed = num(event.processed) ?? w.processed;
    w.loadavg = numbers(event.loadavg) ?? w.loadavg;
    w.pool = text(event.pool) ?? w.pool;
    w.concurrency = num(event.concurrency) ?? w.concurrency;
    w.queues = texts(event.queues) ?? w.queues;
    w.pid = num(event.pid) ?? w.pid;
    w.swIdent = text(event.sw_ident) ?? w.swIdent;
    w.swVer = text(event.sw_ver) ?? w.swVer;
    w.swSys = text(event.sw_sys) ?? w.swSys;
  }

  /** Every worker (of `vhost`, or all), by vhost then hostname, with `online` as of now. */
  list(vhost?: string): WorkerInfo[] {
    const now = this.deps.now();
    const out: WorkerInfo[] = [];
    for (const w of this.workers.values()) {
      if (vhost !== undefined && w.vhost !== vhost) continue;
      const heard = w.lastHeartbeat !== null && (w.freq <= 0 || now - w.lastHeartbeat <= w.freq * 1000 * EXPIRE_WINDOW);
      out.push({ ...w, online: w.offlineAt === null && heard });
    }
    return out.sort((a, b) => (a.vhost === b.vhost ? (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0) : a.vhost < b.vhost ? -1 : 1));
  }

  /** Retention deleted every event at or below `upTo`: workers last heard of among them go. */
  pruned(upTo: number): void {
    for (const [key, w] of this.workers) if (w.lastEventId <= upTo) this.workers.delete(key);
  }
}
