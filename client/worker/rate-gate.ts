// Rate limits held across all workers, without holding deliveries for them. Before a rate-limited
// task may start, the broker hands out the next free slot of its bucket (rateAcquire). A slot
// within the horizon is waited for here; a later one travels with the message instead: the worker
// hands it back to the broker as a copy delayed until the slot (Celery holds such tasks in its
// timer, BullMQ delays the job). A worker sitting on a delivery for longer would trip its queue's
// consumer timeout, and the broker would take back every delivery of the consumer. A slot booked
// and then not used (the task went back to its queue) is given back to the bucket (rateRelease).
import type { RateLimit } from '../app/rate-limit.js';
import { parseRateLimit } from '../app/rate-limit.js';
import { queueFor, type RoutingSettings } from '../app/routing.js';
import type { TaskLink } from '../result-backend/result-backend.js';
import type { Delivery } from '../transport/transport.js';
import { RATE_SLOT_HEADER } from '../../shared/messages/task-message.js';
import { handBack, numberHeader } from './hand-back.js';

/** Longest wait for a rate slot with the delivery held (unacked); later slots travel with the message. */
export const RATE_HORIZON_MS = 1_000;

/**
 * How long a delivery of `queue` may wait for its rate slot: RATE_HORIZON_MS, or a quarter of the
 * queue's consumerTimeout (its taskQueues arguments) when that is shorter.
 */
export function rateHorizonOf(s: RoutingSettings, queue: string): number {
  let timeout: number | undefined;
  try {
    timeout = queueFor(s, queue).arguments.consumerTimeout;
  } catch {
    timeout = undefined; // a queue this app does not declare: the broker's default timeout (30 min)
  }
  return timeout === undefined ? RATE_HORIZON_MS : Math.min(RATE_HORIZON_MS, Math.floor(timeout / 4));
}

/** The rate slot a job waits for. */
export interface RateSlot {
  /** When the task may start (epoch ms, this host's clock). */
  readonly at: number;
  /** The bucket's own name for the slot when this worker booked it (to give it back); absent when it came with the message. */
  readonly booked?: { readonly key: string; readonly slot: number };
}

/** What to do with a rate-limited delivery: wait for `slot` here, or hand the message back until then (`defer`). */
export interface RatePlan {
  readonly slot: RateSlot;
  readonly defer: boolean;
}

export class RateGate {
  /** `horizonOf(queue)`: how long a delivery of that queue may be held for its slot (RATE_HORIZON_MS or less). */
  constructor(private readonly link: TaskLink, private readonly horizonOf: (queue: string) => number) {}

  /**
   * The slot of a task of `name` under `limit` delivered from `queue`. A slot the message carries
   * (booked by the worker that handed it back) is used when it is not stale; otherwise the
   * broker books the next one (it may hold a changed rate for the task). Defer when the slot is
   * beyond the horizon.
   */
  async plan(name: string, limit: RateLimit, queue: string, msg: Delivery): Promise<RatePlan> {
    const horizon = this.horizonOf(queue);
    const carried = numberHeader(msg, RATE_SLOT_HEADER);
    // A carried slot long past is stale (the copy waited in a deep queue): starting now on it
    // could bunch starts up, so it books a fresh one.
    if (carried !== undefined && carried >= Date.now() - horizon) return { slot: { at: carried }, defer: carried - Date.now() > horizon };
    const { count, intervalMs } = parseRateLimit(limit, `rateLimit of ${name}`);
    const r = await this.link.results.rateReserve(name, { count, intervalMs });
    const at = Date.now() + r.delay;
    // A slot of now is used at once: nothing worth giving back (a broker without rateRelease answers no slot).
    const slot: RateSlot = r.delay > 0 && Number.isFinite(r.slot) ? { at, booked: { key: name, slot: r.slot } } : { at };
    return { slot, defer: r.delay > horizon };
  }

  /**
   * Hands delivery `msg` back to the broker until its slot: a copy delayed until then, carrying the
   * slot, published with the ack of `msg` in one finish (neither lost nor doubled). When the
   * delivery already died with its socket (the broker requeued it) nothing is sent and the slot,
   * unused, goes back to its bucket. Rejects when the finish failed.
   */
  async handBack(msg: Delivery, queue: string, slot: RateSlot): Promise<void> {
    const sent = await handBack(this.link, msg, queue, slot.at, { [RATE_SLOT_HEADER]: slot.at });
    if (!sent) await this.release(slot);
  }

  /** Gives a slot this worker booked back to its bucket (the task went back to its queue). Best effort; never rejects. */
  release(slot: RateSlot | undefined): Promise<void> {
    if (slot?.booked === undefined) return Promise.resolve();
    return this.link.results.rateRelease(slot.booked.key, slot.booked.slot).catch(() => undefined);
  }
}
