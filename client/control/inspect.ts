// `app.control.inspect()`: the read-only commands, each merging the workers' replies by hostname
// (Celery's Inspect shape: `{ [hostname]: result }`).
import type { BroadcastOptions, ByHost, ScheduledTaskInfo, TaskInfo, WorkerStats } from './types.js';
import type { Replies } from './types.js';

/** What Inspect needs of Control. */
export interface Broadcaster {
  broadcast<R>(method: string, args: Record<string, unknown>, options: BroadcastOptions): Promise<Replies<R>>;
}

/** Inspect commands sent with the options given to `inspect()`. */
export class Inspect {
  constructor(private readonly control: Broadcaster, private readonly options: BroadcastOptions) {}

  /** Tasks running now, by worker. */
  active(): Promise<ByHost<TaskInfo[]>> {
    return this.call<TaskInfo[]>('active');
  }

  /** Tasks prefetched and waiting for a free slot, by worker. */
  reserved(): Promise<ByHost<TaskInfo[]>> {
    return this.call<TaskInfo[]>('reserved');
  }

  /** Tasks held until a time (here: their rate-limit slot; ETA tasks wait in the broker), by worker. */
  scheduled(): Promise<ByHost<ScheduledTaskInfo[]>> {
    return this.call<ScheduledTaskInfo[]>('scheduled');
  }

  /** Names of the tasks each worker has registered, sorted; built-ins (`celery.*`) with `{ builtins: true }`. */
  registered(options: { builtins?: boolean } = {}): Promise<ByHost<string[]>> {
    return this.call<string[]>('registered', options.builtins === true ? { builtins: true } : {});
  }

  /** Each worker's statistics. */
  stats(): Promise<ByHost<WorkerStats>> {
    return this.call<WorkerStats>('stats');
  }

  /** Which workers answer, with `{ ok: 'pong' }`. */
  ping(): Promise<ByHost<{ ok: 'pong' }>> {
    return this.call<{ ok: 'pong' }>('ping');
  }

  private async call<R>(method: string, args: Record<string, unknown> = {}): Promise<ByHost<R>> {
    const replies = await this.control.broadcast<R>(method, args, this.options);
    const byHost: ByHost<R> = {};
    for (const reply of replies) {
      for (const [host, value] of Object.entries(reply)) if (host !== '__proto__') byHost[host] = value;
    }
    return byHost;
  }
}
