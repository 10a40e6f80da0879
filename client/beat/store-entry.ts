// Writing a parsed entry into the store, as beat's settings and app.schedules both do: a new
// entry gets its first run computed; an entry whose timing changed gets it recomputed; any other
// change keeps the stored run state (last run, next run, count), so a restart loses nothing.
import type { ScheduleRecord } from '../../shared/frames.js';
import { entryToJson } from './entry.js';
import { firstRunAt } from './plan.js';
import { readRecord } from './read-record.js';
import { compileSchedule } from './schedules/index.js';
import type { BeatBackend, BeatEntry } from './types.js';

/** What decides when an entry runs: a change here means the stored next run no longer holds. */
function timingOf(entry: BeatEntry): string {
  return JSON.stringify([entry.schedule, entry.timezone, entry.start, entry.end, entry.limit]);
}

/** What storeEntry did. */
export interface Stored {
  readonly created: boolean;
  /** False when the stored entry was already this one (nothing written). */
  readonly written: boolean;
  /** True when an existing entry's spec was replaced by a different one. */
  readonly replaced: boolean;
  /** The nextRunAt written, or undefined when the stored one was kept. */
  readonly nextRunAt: number | null | undefined;
}

/**
 * Upserts `entry` as `name` from `source`, given what is stored now (`stored`, undefined when
 * none). An identical spec from the same source writes nothing.
 */
export async function storeEntry(
  backend: BeatBackend,
  name: string,
  entry: BeatEntry,
  source: string,
  opts: { timezone: string; now: number; stored: ScheduleRecord | undefined },
): Promise<Stored> {
  const spec = entryToJson(entry);
  const { stored, timezone, now } = opts;
  const before = stored === undefined ? undefined : readRecord(stored, timezone);
  const same = before !== undefined && before.ok && entryToJson(before.entry) === spec;
  if (same && stored!.source === source) return { created: false, written: false, replaced: false, nextRunAt: undefined };
  const retime = before === undefined || !before.ok || timingOf(before.entry) !== timingOf(entry);
  const nextRunAt = retime ? firstRunAt(entry, compileSchedule(entry.schedule, entry.timezone ?? timezone), now) : undefined;
  const { created } = await backend.upsertSchedule(name, spec, nextRunAt === undefined ? { source } : { source, nextRunAt });
  return { created, written: true, replaced: stored !== undefined && !same, nextRunAt };
}
