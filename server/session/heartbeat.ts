// Liveness of one connection: a heartbeat frame goes out when we have been quiet for an interval,
// and a peer silent for two intervals is declared dead. Timestamps, not timers, per frame.

/** What the heartbeat needs from its session. */
export interface HeartbeatHooks {
  sendHeartbeat(): void;
  peerDead(): void;
  /** True while reading is paused (flow control): silence is then ours, not the peer's. */
  readingPaused(): boolean;
}

/** One connection's heartbeat; `interval` 0 disables it. */
export class Heartbeat {
  private lastSent = Date.now();
  private lastHeard = Date.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly interval: number, private readonly hooks: HeartbeatHooks) {}

  start(): void {
    if (this.interval <= 0 || this.timer !== null) return;
    this.lastSent = this.lastHeard = Date.now();
    // Ticking at half the interval keeps detection within 2–2.5 intervals without a timer per frame.
    this.timer = setInterval(() => this.tick(), Math.max(1, Math.floor(this.interval / 2)));
    this.timer.unref();
  }

  /** Call on every message received. */
  heard(): void {
    this.lastHeard = Date.now();
  }

  /** Call on every message sent. */
  sent(): void {
    this.lastSent = Date.now();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    const now = Date.now();
    if (this.hooks.readingPaused()) this.lastHeard = now;
    if (now - this.lastHeard >= 2 * this.interval) {
      this.stop();
      this.hooks.peerDead();
      return;
    }
    if (now - this.lastSent >= this.interval / 2) this.hooks.sendHeartbeat();
  }
}
