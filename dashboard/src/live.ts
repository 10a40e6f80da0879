// The page's one connection for live updates: GET /api/stream (Server-Sent Events). Views subscribe
// to its events; the browser reconnects a dropped stream itself, and a refused one sends to login.
import { api } from './api.js';
import type { Overview, Point, QueuesEvent, TaskEvent, WorkerEvent } from './types.js';

/** The stream's events and what each carries. */
export interface LiveEvents {
  history: { points: Point[] };
  overview: Overview;
  queues: QueuesEvent;
  task: TaskEvent;
  worker: WorkerEvent;
  /** Not from the server: the stream connected (true) or dropped (false). */
  status: boolean;
  /** Not from the server: the stream is back after a drop; views re-read what they show (events were missed). */
  reconnected: true;
}

type Listener<K extends keyof LiveEvents> = (data: LiveEvents[K]) => void;

/** The stream, and the listeners of each event. */
export class Live {
  private readonly listeners = new Map<keyof LiveEvents, Set<(data: never) => void>>();
  private wasDown = false;

  /** Calls `fn` with every `event`; returns the function that stops it. */
  on<K extends keyof LiveEvents>(event: K, fn: Listener<K>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(fn as (data: never) => void);
    return () => { set.delete(fn as (data: never) => void); };
  }

  start(): void {
    const source = new EventSource('/api/stream');
    for (const name of ['history', 'overview', 'queues', 'task', 'worker'] as const) {
      source.addEventListener(name, (e) => this.emit(name, JSON.parse((e as MessageEvent<string>).data)));
    }
    source.addEventListener('open', () => {
      this.emit('status', true);
      if (this.wasDown) this.emit('reconnected', true);
      this.wasDown = false;
    });
    source.addEventListener('error', () => {
      if (!this.wasDown) this.emit('status', false);
      this.wasDown = true;
      // CONNECTING: the browser retries by itself. CLOSED: the broker refused the stream (a 401
      // after the session ended, a 503 when full): ask who we are (a 401 sends to login), then retry.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        setTimeout(() => {
          api('/api/whoami').then(() => this.start(), () => setTimeout(() => this.start(), 5_000));
        }, 3_000);
      }
    });
  }

  private emit<K extends keyof LiveEvents>(event: K, data: LiveEvents[K]): void {
    for (const fn of this.listeners.get(event) ?? []) (fn as Listener<K>)(data);
  }
}
