// The contract between beat's parts: the schedule forms a user writes, the parsed entry, the pure
// schedule a beat computes run times with, and the narrow store interface beat runs on (the broker
// today; any backend that keeps entries, a lease and de-duplicated fires tomorrow).
import type { FinishPublish, LeaseRecord, ScheduleRecord } from '../../shared/frames.js';

// ---------------------------------------------------------------------------------------------
// What users write

/** Crontab fields, as Celery's `crontab(minute=..., hour=..., day_of_week=...)`; omitted = '*'. */
export interface CrontabFields {
  readonly second?: string | number;
  readonly minute?: string | number;
  readonly hour?: string | number;
  readonly dayOfWeek?: string | number;
  readonly dayOfMonth?: string | number;
  readonly monthOfYear?: string | number;
  /** IANA zone this crontab is read in; default: the entry's, else the `timezone` setting. */
  readonly timezone?: string;
}

/** Celery's solar events. */
export type SolarEvent =
  | 'dawn_astronomical' | 'dawn_nautical' | 'dawn_civil' | 'sunrise' | 'solar_noon'
  | 'sunset' | 'dusk_civil' | 'dusk_nautical' | 'dusk_astronomical';

/**
 * When a periodic task runs, as given:
 * - a number of ms, `{ every: ms }`, or `{ seconds, minutes, hours, days }` (summed): an interval;
 * - a crontab string of 5 fields ('m h dom mon dow') or 6 (seconds first), or `@hourly`, `@daily`...;
 * - `crontab({...})` / crontab fields; `solar('sunrise', lat, lon)`; `{ at: Date | ISO string | epoch ms }` (one-off);
 * - the parsed form (ScheduleSpec) again, as a parsed entry is accepted again as input.
 */
export type ScheduleInput =
  | number
  | string
  | { readonly every: number }
  | { readonly seconds?: number; readonly minutes?: number; readonly hours?: number; readonly days?: number }
  | ({ readonly kind: 'crontab' } & CrontabFields)
  | CrontabFields
  | { readonly kind: 'solar'; readonly event: SolarEvent; readonly lat: number; readonly lon: number }
  | { readonly at: Date | string | number }
  | ScheduleSpec;

/** What happens to runs that fell due while no beat was up (older than the grace a takeover may take). */
export type MissedRunPolicy = 'skip' | 'once' | 'all';

/** Publish options of a periodic task (durations in ms). */
export interface BeatOptions {
  readonly queue?: string;
  readonly routingKey?: string;
  readonly exchange?: string;
  readonly priority?: number;
  /** Revoke a run not started within this many ms. */
  readonly expires?: number;
  readonly headers?: Readonly<Record<string, unknown>>;
}

/** One periodic task as given (beatSchedule, app.schedules.upsert). */
export interface BeatEntryInput {
  task: string;
  schedule: ScheduleInput;
  args?: readonly unknown[];
  kwargs?: Readonly<Record<string, unknown>>;
  options?: BeatOptions;
  /** Total runs, then the entry stops (Celery's total_run_count bound); null = no limit. */
  limit?: number | null;
  /** No run before this time (null = none). */
  start?: Date | string | number | null;
  /** No run after this time (null = none). */
  end?: Date | string | number | null;
  /** Default 'skip' ('once' for a one-off `{ at }`). */
  missed?: MissedRunPolicy;
  /** With missed 'all': at most this many of the latest missed runs are fired (default 100). */
  missedLimit?: number;
  /** IANA zone for this entry's crontab or solar day; default (or null): the `timezone` setting. */
  timezone?: string | null;
}

// ---------------------------------------------------------------------------------------------
// After parsing (what is stored, as JSON, in the broker's ScheduleRecord.spec)

/** A schedule in its one stored form. Times are epoch ms. */
export type ScheduleSpec =
  | { readonly kind: 'interval'; readonly every: number }
  /** `expr` is 5 or 6 fields (or a nickname), as croner reads it. */
  | { readonly kind: 'crontab'; readonly expr: string; readonly timezone: string | null }
  | { readonly kind: 'solar'; readonly event: SolarEvent; readonly lat: number; readonly lon: number }
  | { readonly kind: 'once'; readonly at: number };

/** One periodic task after parsing: every field present, plain JSON data only. */
export interface BeatEntry {
  readonly task: string;
  readonly schedule: ScheduleSpec;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly options: BeatOptions;
  readonly limit: number | null;
  readonly start: number | null;
  readonly end: number | null;
  readonly missed: MissedRunPolicy;
  readonly missedLimit: number;
  readonly timezone: string | null;
}

/** A schedule ready to compute with: pure, no clock (`now` is always given), as Celery's schedules.py. */
export interface Schedule {
  /** The first scheduled time strictly after `t`, or null when there is none. */
  nextAfter(t: number): number | null;
  /**
   * Celery's is_due(last_run_at): whether a run is due at `now` when the last one ran at
   * `lastRunAt`, and in how many ms to look again (the time to the next run once this one fired).
   */
  isDue(lastRunAt: number, now: number): { due: boolean; nextInMs: number };
  /** For logs and lists: 'every 10 s', "crontab '*\/15 9-17 * * mon-fri' (Europe/Paris)", 'solar sunrise (48.85, 2.35)', 'at 2026-12-03T10:00:00.000Z'. */
  readonly description: string;
}

/** What a beat does with one entry at `now` (see planRuns in plan.ts). */
export interface RunPlan {
  /** Scheduled times to fire now, oldest first (empty when nothing is due). */
  readonly fire: readonly number[];
  /** Missed scheduled times not fired (skip, once, or past missedLimit). */
  readonly skipped: number;
  /** The nextRunAt to store after firing `fire` (null = no more runs). */
  readonly nextRunAt: number | null;
}

// ---------------------------------------------------------------------------------------------
// The store beat runs on

/** A fire: one task message for one scheduled time of one entry, under the lease. */
export interface BeatFireRequest {
  lease: string;
  holder: string;
  epoch: number;
  entry: string;
  revision: number;
  scheduledAt: number;
  nextRunAt: number | null;
  publishes: FinishPublish[];
}

export type BeatFireResult =
  | { fired: true; record: ScheduleRecord }
  | { fired: false; reason: 'duplicate' | 'changed' };

/** A nextRunAt move without a fire (see BeatAdvanceFrame). */
export interface BeatAdvanceRequest {
  lease: string;
  holder: string;
  epoch: number;
  entry: string;
  revision: number;
  nextRunAt: number | null;
}

/**
 * What beat and app.schedules need of a store: entries, a lease and fires. The broker Connection
 * implements it over the wire (ERR_STALE_LEASE when a fire or advance comes from a lost lease).
 */
export interface BeatBackend {
  upsertSchedule(name: string, spec: string, options?: { source?: string; nextRunAt?: number | null; resetState?: boolean }): Promise<{ created: boolean; revision: number }>;
  removeSchedule(name: string): Promise<boolean>;
  pauseSchedule(name: string, paused: boolean): Promise<ScheduleRecord>;
  listSchedules(names?: readonly string[]): Promise<{ entries: ScheduleRecord[]; leases: LeaseRecord[] }>;
  /**
   * Calls `onChange` with the names of entries upserted, removed, paused or resumed by anyone
   * (kept across reconnects; after a reconnect it is called with [] since changes may have been
   * missed). Resolves with the function that stops watching.
   */
  watchSchedules(onChange: (names: string[]) => void): Promise<() => Promise<void>>;
  acquireLease(name: string, holder: string, ttlMs: number): Promise<{ acquired: boolean; lease: LeaseRecord }>;
  releaseLease(name: string, holder: string, epoch: number): Promise<boolean>;
  fireSchedule(request: BeatFireRequest): Promise<BeatFireResult>;
  advanceSchedule(request: BeatAdvanceRequest): Promise<{ advanced: boolean; record: ScheduleRecord | null }>;
}
