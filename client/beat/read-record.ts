// Stored entries back into entries a beat can compute with: the record's JSON spec parsed and its
// schedule compiled, remembered per revision so a beat re-listing every few seconds parses each
// entry once. A spec that cannot be read is an answer too (the beat logs and skips it).
import type { ScheduleRecord } from '../../shared/frames.js';
import { entryFromJson } from './entry.js';
import { compileSchedule } from './schedules/index.js';
import type { BeatEntry, Schedule } from './types.js';

/** A stored entry as read: parsed and compiled, or why it could not be. */
export type ReadEntry =
  | { readonly ok: true; readonly entry: BeatEntry; readonly schedule: Schedule }
  | { readonly ok: false; readonly error: string };

/** Parses one record's spec; `timezone` is the app's `timezone` setting (an entry's own zone wins). */
export function readRecord(record: Pick<ScheduleRecord, 'name' | 'spec'>, timezone: string): ReadEntry {
  try {
    const entry = entryFromJson(record.name, record.spec, timezone);
    return { ok: true, entry, schedule: compileSchedule(entry.schedule, entry.timezone ?? timezone) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** readRecord, cached by name and revision; names no longer listed are forgotten. */
export class RecordReader {
  private readonly cache = new Map<string, { revision: number; spec: string; read: ReadEntry }>();

  constructor(private readonly timezone: string) {}

  /** The read entry, and whether this revision is seen for the first time (to log a bad one once). */
  read(record: ScheduleRecord): { read: ReadEntry; fresh: boolean } {
    const hit = this.cache.get(record.name);
    if (hit !== undefined && hit.revision === record.revision && hit.spec === record.spec) return { read: hit.read, fresh: false };
    const read = readRecord(record, this.timezone);
    this.cache.set(record.name, { revision: record.revision, spec: record.spec, read });
    return { read, fresh: true };
  }

  /** Drops the names not in `names` (removed entries). */
  keepOnly(names: ReadonlySet<string>): void {
    for (const name of this.cache.keys()) if (!names.has(name)) this.cache.delete(name);
  }
}
