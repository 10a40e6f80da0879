// At a beat's start, the settings' beatSchedule goes into the store. Settings win for the names
// they define (a stored entry that differs is replaced, and the log says so); stored entries the
// settings do not name are left alone: they came from app.schedules, the CLI or another app.
import type { WorkerLog } from '../worker/worker.js';
import { storeEntry } from './store-entry.js';
import type { BeatBackend, BeatEntry } from './types.js';

/** The source of entries written from a beat's settings. */
export const SETTINGS_SOURCE = 'settings';

/** Writes `entries` (the parsed beatSchedule setting) into the store; resolves once all are committed. */
export async function syncSettingsEntries(
  backend: BeatBackend,
  entries: Readonly<Record<string, BeatEntry>>,
  opts: { timezone: string; now: number; log: WorkerLog },
): Promise<void> {
  const names = Object.keys(entries);
  if (names.length === 0) return;
  const { entries: stored } = await backend.listSchedules(names);
  const byName = new Map(stored.map((r) => [r.name, r]));
  for (const name of names) {
    const r = await storeEntry(backend, name, entries[name]!, SETTINGS_SOURCE, { timezone: opts.timezone, now: opts.now, stored: byName.get(name) });
    if (r.replaced) opts.log('warn', `beat: entry '${name}' from settings replaces the stored one`);
    else if (r.created) opts.log('debug', `beat: entry '${name}' from settings stored`);
  }
}
