// Notices a blocked event loop: a timer measures how late it fires. Blocked longer than the
// broker heartbeat, a worker looks dead to the broker (silent for two heartbeats), which closes
// its connection and redelivers its unacked tasks: a task that blocks the async pool's loop then
// runs again and again. One timer, nothing per task but a set insert of its name.

/** What the monitor needs: the block worth reporting and the names of the tasks running now. */
export interface LoopMonitorOptions {
  /** A block longer than this (ms) is reported: the connection's heartbeat interval. */
  readonly thresholdMs: number;
  /** Names of the tasks running in this event loop now. */
  readonly running: () => Iterable<string>;
  /** Called after a block of `blockedMs`, with the tasks that ran in the loop meanwhile. */
  readonly onBlocked: (blockedMs: number, tasks: readonly string[]) => void;
}

export class LoopMonitor {
  /** Tasks that ran in the loop since the last tick: any of them may be the one that blocked it. */
  private suspects = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(o: LoopMonitorOptions) {
    // A quarter of the threshold (at most 1 s): a block is measured to well within the threshold.
    const tick = Math.max(20, Math.min(1_000, Math.floor(o.thresholdMs / 4)));
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const blocked = now - last - tick;
      last = now;
      if (blocked > o.thresholdMs) {
        for (const name of o.running()) this.suspects.add(name);
        o.onBlocked(Math.round(blocked), [...this.suspects].sort());
      }
      this.suspects = new Set(o.running());
    }, tick);
    this.timer.unref();
  }

  /** A task started in this event loop (it may end before the next tick, block and all). */
  started(name: string): void {
    this.suspects.add(name);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * A worker's monitor: a warn line after its event loop was blocked past the connection's
 * `heartbeat` (none when heartbeats are off), naming the tasks that ran in it when the pool runs
 * them in this loop (`inLoop`: the async pool) and pointing to the isolated pools.
 */
export function watchEventLoop(o: {
  heartbeat: number;
  inLoop: boolean;
  running: () => Iterable<string>;
  log: (level: 'warn', message: string) => void;
}): LoopMonitor | undefined {
  if (o.heartbeat <= 0) return undefined;
  return new LoopMonitor({
    thresholdMs: o.heartbeat,
    running: () => (o.inLoop ? o.running() : []),
    onBlocked: (ms, tasks) => {
      const where = tasks.length === 0 ? '' : ` while task(s) ${tasks.join(', ')} ran in the async pool`;
      const advice = o.inLoop ? "; run CPU-bound or blocking tasks in the threads or processes pool (pool: 'threads' or 'processes', celeriac worker -P threads)" : '';
      o.log('warn', `the event loop was blocked for ${ms} ms${where}, longer than the broker heartbeat of ${o.heartbeat} ms: the broker takes a connection silent for two heartbeats for dead and redelivers its unacked tasks${advice}`);
    },
  });
}
