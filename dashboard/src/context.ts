// What every view is given: who is looking, the live stream, and what the stream has told so far
// (chart points, the latest overview, the queue rows), kept across views so none starts blank.
import type { Live } from './live.js';
import type { Me, Overview, Point, QueueRow } from './types.js';

/** Chart points kept: 5 minutes at one per 2 s, as the broker keeps them. */
const MAX_POINTS = 150;

export class Context {
  points: Point[] = [];
  overview: Overview | undefined;
  /** By `vhost \0 name`. */
  readonly queues = new Map<string, QueueRow>();

  constructor(readonly me: Me, readonly live: Live) {
    live.on('history', (h) => { this.points = h.points.slice(-MAX_POINTS); });
    live.on('overview', (o) => {
      this.overview = o;
      this.points.push({ at: o.at ?? Date.now(), rates: o.rates, messages: o.messages });
      if (this.points.length > MAX_POINTS) this.points.splice(0, this.points.length - MAX_POINTS);
    });
    live.on('queues', (q) => {
      if (q.full) this.queues.clear();
      for (const r of q.changed) this.queues.set(queueKey(r.vhost, r.name), r);
      for (const r of q.removed) this.queues.delete(queueKey(r.vhost, r.name));
    });
  }

  /** Administrators act; monitoring users only look (the API refuses them anyway). */
  get isAdmin(): boolean {
    return this.me.tags.includes('administrator');
  }
}

export const queueKey = (vhost: string, name: string): string => `${vhost}\u0000${name}`;

/** A mounted view: `stop` removes its listeners and timers when another view replaces it. */
export type View = (root: HTMLElement, ctx: Context, params: URLSearchParams, path: string[]) => () => void;
