// Publish / deliver / ack rates for the management API: samples of the engine's counters taken once a
// second, and a rate = what changed since the oldest sample of the window, over the time it took.
import type { EngineOverview } from '../engine/types.js';

/** Messages per second. */
export interface Rates {
  publish: number;
  deliver: number;
  ack: number;
}

interface Counts {
  published: number;
  delivered: number;
  acked: number;
}

interface Sample {
  at: number;
  totals: Counts;
  /** By `vhost \0 name`. */
  queues: Map<string, Counts>;
}

/** Options of {@link RateTracker}. */
export interface RateTrackerOptions {
  /** Rates cover roughly this long. Default 5 s (RabbitMQ's default sample interval). */
  windowMs?: number;
  /** A sample is taken this often. Default 1 s. */
  sampleMs?: number;
  now?: () => number;
}

const ZERO: Readonly<Rates> = Object.freeze({ publish: 0, deliver: 0, ack: 0 });

/** The key a queue's counters are kept under. */
export function queueKey(vhost: string, name: string): string {
  return `${vhost}\u0000${name}`;
}

function sampleOf(o: EngineOverview, at: number): Sample {
  const queues = new Map<string, Counts>();
  for (const q of o.queues) queues.set(queueKey(q.vhost, q.name), q.counters);
  return { at, totals: { published: o.totals.published, delivered: o.totals.delivered, acked: o.totals.acked }, queues };
}

function rate(now: Counts, then: Counts | undefined, seconds: number): Rates {
  // A queue deleted and declared again starts its counters over: never a negative rate.
  const per = (a: number, b: number): number => Math.max(0, a - b) / seconds;
  const base = then ?? { published: 0, delivered: 0, acked: 0 };
  return { publish: per(now.published, base.published), deliver: per(now.delivered, base.delivered), ack: per(now.acked, base.acked) };
}

/**
 * Keeps the samples of the last window. Reading computes against a fresh overview, so a rate
 * shows as soon as messages move, without waiting for the next sample. The engine knows nothing of it.
 */
export class RateTracker {
  private readonly samples: Sample[] = [];
  private readonly windowMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly read: () => EngineOverview, options: RateTrackerOptions = {}) {
    this.windowMs = options.windowMs ?? 5_000;
    this.now = options.now ?? Date.now;
    this.sample();
    const every = options.sampleMs ?? 1_000;
    this.timer = setInterval(() => this.sample(), every);
    this.timer.unref();
  }

  /** Takes a sample now and forgets those the window no longer needs. */
  sample(): void {
    const at = this.now();
    this.samples.push(sampleOf(this.read(), at));
    // Keep the newest sample at or before the window's start as the baseline.
    while (this.samples.length > 1 && this.samples[1]!.at <= at - this.windowMs) this.samples.shift();
  }

  /** Rates of the broker and of each queue of `o` (an overview taken now). */
  ratesOf(o: EngineOverview): { totals: Rates; queue: (vhost: string, name: string) => Rates } {
    const base = this.samples[0];
    const at = this.now();
    const seconds = base === undefined ? 0 : (at - base.at) / 1000;
    if (base === undefined || seconds <= 0) return { totals: { ...ZERO }, queue: () => ({ ...ZERO }) };
    const current = sampleOf(o, at);
    return {
      totals: rate(current.totals, base.totals, seconds),
      queue: (vhost, name) => {
        const key = queueKey(vhost, name);
        const now = current.queues.get(key);
        return now === undefined ? { ...ZERO } : rate(now, base.queues.get(key), seconds);
      },
    };
  }

  /** Stops sampling (the HTTP server closes). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
