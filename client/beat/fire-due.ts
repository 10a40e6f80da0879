// One pass of a leading beat over the stored entries: every entry due at `now` is planned
// (planRuns: missed-run policy, limit, end) and each scheduled time fired through the broker,
// which publishes and records it in one transaction under the lease. Returns when to look again.
import type { ScheduleRecord } from '../../shared/frames.js';
import type { PreparedTask } from '../tasks/producer.js';
import type { WorkerLog } from '../worker/worker.js';
import type { HeldLease } from './leadership.js';
import { planRuns } from './plan.js';
import type { RecordReader } from './read-record.js';
import type { BeatBackend, BeatEntry, RunPlan } from './types.js';

/** A task a beat fired: which entry, for which scheduled time, with which task id. */
export interface BeatFired {
  readonly entry: string;
  readonly task: string;
  readonly scheduledAt: Date;
  readonly id: string;
  /** The lease epoch it was fired under. */
  readonly epoch: number;
}

/** What one pass needs: the store, the lease, the clock, how to build and route a message. */
export interface FireContext {
  readonly backend: BeatBackend;
  /** The lease while this beat holds it; undefined = stop firing. */
  lease(): HeldLease | undefined;
  now(): number;
  /** How late a scheduled time may be and still count as on time (a takeover's delay). */
  readonly graceMs: number;
  message(name: string, entry: BeatEntry, scheduledAt: number): PreparedTask;
  /** Declares a task queue before its first message (the fire's publish needs it bound). */
  declare(queue: string): Promise<void>;
  readonly log: WorkerLog;
  fired(info: BeatFired): void;
}

/** After a pass: the earliest stored next run (null = none), and whether to pass again at once. */
export interface PassOutcome {
  readonly earliest: number | null;
  readonly again: boolean;
}

const iso = (t: number | null): string => (t === null ? 'never' : new Date(t).toISOString());

/**
 * Fires what is due among `records`. ERR_STALE_LEASE and connection errors propagate (the beat
 * stops leading or tries later); an entry whose spec cannot be read is logged once and skipped.
 */
export async function fireDue(ctx: FireContext, records: readonly ScheduleRecord[], reader: RecordReader): Promise<PassOutcome> {
  let earliest: number | null = null;
  let again = false;
  const soonest = (t: number | null): void => {
    if (t !== null && (earliest === null || t < earliest)) earliest = t;
  };
  reader.keepOnly(new Set(records.map((r) => r.name)));
  for (const record of records) {
    const { read, fresh } = reader.read(record);
    if (!read.ok) {
      if (fresh) ctx.log('error', `beat: entry '${record.name}' cannot be read (${read.error}); skipped until it is replaced`);
      continue;
    }
    if (record.paused || record.nextRunAt === null) continue;
    if (record.nextRunAt > ctx.now()) {
      soonest(record.nextRunAt);
      continue;
    }
    const plan = planRuns(read.entry, read.schedule, { nextRunAt: record.nextRunAt, runCount: record.runCount }, ctx.now(), ctx.graceMs);
    const outcome = await carryOut(ctx, record, read.entry, plan);
    if (outcome === 'stopped') return { earliest, again: false };
    if (outcome === 'changed') again = true;
    else soonest(plan.nextRunAt);
  }
  return { earliest, again };
}

/** Fires one entry's plan in order; each fire stores the next time, so a beat dying half-way loses nothing. */
async function carryOut(ctx: FireContext, record: ScheduleRecord, entry: BeatEntry, plan: RunPlan): Promise<'done' | 'changed' | 'stopped'> {
  const name = record.name;
  if (plan.skipped > 0) {
    ctx.log('info', `beat: '${name}' (${entry.task}) skipped ${plan.skipped} missed run(s) (missed: ${entry.missed}); next run ${iso(plan.nextRunAt)}`);
  }
  for (let i = 0; i < plan.fire.length; i++) {
    const lease = ctx.lease();
    if (lease === undefined) return 'stopped';
    const scheduledAt = plan.fire[i]!;
    const nextRunAt = plan.fire[i + 1] ?? plan.nextRunAt;
    const msg = ctx.message(name, entry, scheduledAt);
    await ctx.declare(msg.queue);
    const r = await ctx.backend.fireSchedule({
      lease: lease.name, holder: lease.holder, epoch: lease.epoch, entry: name, revision: record.revision,
      scheduledAt, nextRunAt, publishes: [msg.publish],
    });
    if (r.fired) {
      ctx.log('info', `beat: fired '${name}' (${entry.task}) for ${iso(scheduledAt)} [${msg.id}]`);
      ctx.fired({ entry: name, task: entry.task, scheduledAt: new Date(scheduledAt), id: msg.id, epoch: lease.epoch });
      continue;
    }
    if (r.reason === 'changed') return 'changed';
    // Fired before (by this lease's earlier pass whose answer was lost, or an earlier leader):
    // nothing is sent again; only the stored next run moves on if this was the plan's last fire.
    ctx.log('warn', `beat: '${name}' for ${iso(scheduledAt)} was already fired; not sent again`);
    if (i === plan.fire.length - 1 && !(await advance(ctx, lease, record, nextRunAt))) return 'changed';
  }
  if (plan.fire.length === 0 && plan.nextRunAt !== record.nextRunAt) {
    const lease = ctx.lease();
    if (lease === undefined) return 'stopped';
    if (!(await advance(ctx, lease, record, plan.nextRunAt))) return 'changed';
  }
  if (plan.nextRunAt === null) ctx.log('info', `beat: '${name}' (${entry.task}) has no more runs`);
  return 'done';
}

/** Moves the entry's next run without a fire; false when the entry changed meanwhile. */
async function advance(ctx: FireContext, lease: HeldLease, record: ScheduleRecord, nextRunAt: number | null): Promise<boolean> {
  const r = await ctx.backend.advanceSchedule({
    lease: lease.name, holder: lease.holder, epoch: lease.epoch, entry: record.name, revision: record.revision, nextRunAt,
  });
  return r.advanced;
}
