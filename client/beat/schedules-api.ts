// `app.schedules`: periodic-task entries added, changed, paused, resumed, removed and listed at run
// time. Entries live in the broker; a running beat picks a change up without a restart. A bad
// entry is refused here, naming it, never at fire time.
import { fail } from '../../shared/errors.js';
import type { LeaseRecord, ScheduleRecord } from '../../shared/frames.js';
import { parseBeatEntry } from './entry.js';
import { firstRunAt } from './plan.js';
import { readRecord } from './read-record.js';
import { storeEntry } from './store-entry.js';
import type { BeatBackend, BeatEntry, BeatEntryInput } from './types.js';

/** The source of entries written through app.schedules and `celeriac schedule`. */
export const API_SOURCE = 'api';

/** One stored entry, as `list()` shows it. */
export interface ScheduleInfo {
  readonly name: string;
  /** The task it sends (null when the stored entry cannot be read: see `error`). */
  readonly task: string | null;
  /** The schedule in words: 'every 10 s', "crontab '0 9 * * *' (Europe/Paris)", ... */
  readonly schedule: string;
  /** The entry as parsed (null when it cannot be read). */
  readonly entry: BeatEntry | null;
  readonly paused: boolean;
  /** 'settings' (a beat's beatSchedule) or 'api' (app.schedules, the CLI). */
  readonly source: string;
  /** The scheduled time of the last run (null = never ran). */
  readonly lastRunAt: Date | null;
  /** The scheduled time of the next run (null = none: done, limit reached or past its end). */
  readonly nextRunAt: Date | null;
  readonly runCount: number;
  /** Why the stored entry cannot be read (a beat skips it); absent when it can. */
  readonly error?: string;
}

/** The beat holding the leader lease. */
export interface BeatLeader {
  /** `host:pid:random` of the leading beat. */
  readonly holder: string;
  readonly epoch: number;
  /** Until when the lease holds unless renewed (broker clock). */
  readonly expiresAt: Date;
}

/** What `list()` answers. */
export interface ScheduleList {
  readonly entries: ScheduleInfo[];
  /** The beat that leads now; null when none holds the lease (no beat running, or the last one died and its lease ran out). */
  readonly leader: BeatLeader | null;
}

/** What app.schedules needs: the broker (the app's connection), the zone entries are read in, a clock. */
export interface SchedulesDeps {
  backend(): Promise<BeatBackend>;
  readonly timezone: string;
  now?: () => number;
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '' || Buffer.byteLength(name) > 255) {
    throw fail('ERR_INVALID_ARGUMENT', `a schedule entry name must be a string of 1 to 255 bytes, got ${typeof name === 'string' ? `'${name}'` : typeof name}`);
  }
}

const dateOf = (t: number | null): Date | null => (t === null ? null : new Date(t));

/** A stored record in the words list() uses. */
export function describeRecord(record: ScheduleRecord, timezone: string): ScheduleInfo {
  const read = readRecord(record, timezone);
  const base = {
    name: record.name, paused: record.paused, source: record.source,
    lastRunAt: dateOf(record.lastRunAt), nextRunAt: dateOf(record.nextRunAt), runCount: record.runCount,
  };
  if (!read.ok) return { ...base, task: null, schedule: 'unreadable', entry: null, error: read.error };
  return { ...base, task: read.entry.task, schedule: read.schedule.description, entry: read.entry };
}

/** The live holder of lease `name` among `leases`, or null. */
export function leaderOf(leases: readonly LeaseRecord[], name: string, now: number = Date.now()): BeatLeader | null {
  const l = leases.find((x) => x.name === name);
  if (l === undefined || l.holder === null || l.expiresAt <= now) return null;
  return { holder: l.holder, epoch: l.epoch, expiresAt: new Date(l.expiresAt) };
}

/** Periodic-task entries in the broker: `app.schedules`. */
export class Schedules {
  private readonly now: () => number;

  /** @internal Use app.schedules. */
  constructor(private readonly deps: SchedulesDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Adds entry `name` or replaces it. The entry is checked first: a bad one (unknown schedule
   * shape, a cron expression that does not parse, an unknown time zone) throws
   * ERR_INVALID_ARGUMENT naming it, and nothing is stored. A new entry, or one whose timing
   * changed, gets its next run computed now; otherwise its run state is kept.
   */
  async upsert(name: string, entry: BeatEntryInput): Promise<ScheduleInfo> {
    checkName(name);
    const parsed = parseBeatEntry(name, entry, this.deps.timezone);
    const backend = await this.deps.backend();
    const { entries } = await backend.listSchedules([name]);
    await storeEntry(backend, name, parsed, API_SOURCE, { timezone: this.deps.timezone, now: this.now(), stored: entries[0] });
    return this.one(backend, name);
  }

  /** Removes entry `name` (and its fire log); false when there was none. */
  async remove(name: string): Promise<boolean> {
    checkName(name);
    return (await this.deps.backend()).removeSchedule(name);
  }

  /** Pauses entry `name`: no beat fires it until resumed. ERR_NOT_FOUND when there is none. */
  async pause(name: string): Promise<ScheduleInfo> {
    checkName(name);
    return describeRecord(await (await this.deps.backend()).pauseSchedule(name, true), this.deps.timezone);
  }

  /**
   * Resumes entry `name`, planning its next run from now: runs that fell due while it was paused
   * are not sent (a pause is deliberate, not a beat being down). ERR_NOT_FOUND when there is none.
   */
  async resume(name: string): Promise<ScheduleInfo> {
    checkName(name);
    const backend = await this.deps.backend();
    const { entries } = await backend.listSchedules([name]);
    const r = entries[0];
    const now = this.now();
    if (r !== undefined && r.paused && r.nextRunAt !== null && r.nextRunAt <= now) {
      // Re-planned while still paused, so no beat can fire the stale time in between.
      const read = readRecord(r, this.deps.timezone);
      if (read.ok) await backend.upsertSchedule(name, r.spec, { source: r.source, nextRunAt: firstRunAt(read.entry, read.schedule, now) });
    }
    return describeRecord(await backend.pauseSchedule(name, false), this.deps.timezone);
  }

  /** Every entry, sorted by name, with its last and next run and run count, and who leads (lease `lease`, default 'beat'). */
  async list(options: { lease?: string } = {}): Promise<ScheduleList> {
    const { entries, leases } = await (await this.deps.backend()).listSchedules();
    return {
      entries: entries.map((r) => describeRecord(r, this.deps.timezone)),
      leader: leaderOf(leases, options.lease ?? 'beat'),
    };
  }

  private async one(backend: BeatBackend, name: string): Promise<ScheduleInfo> {
    const { entries } = await backend.listSchedules([name]);
    const r = entries[0];
    // Removed by someone else between the two requests: say so rather than invent a record.
    if (r === undefined) throw fail('ERR_NOT_FOUND', `schedule entry '${name}' was removed while it was being stored`);
    return describeRecord(r, this.deps.timezone);
  }
}
