// What the beat run-time tests share: apps on a test broker closed in teardown, beats closed in
// teardown, a log that keeps its lines, fires collected from a beat's events. Not a test file.
import type { Test } from 'tap';
import { Celeriac, connect, type Beat, type BeatFired, type BeatRunOptions, type SettingsInput } from '../../client/index.js';
import type { WorkerLog } from '../../client/worker/worker.js';

let counter = 0;
/** A name no other test uses (queues, entries). */
export function unique(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

/** An app on `url`, closed when `t` ends. */
export function appOn(t: Test, url: string, settings: SettingsInput = {}): Celeriac {
  const app = new Celeriac({ ...settings, broker: url });
  t.teardown(() => app.close());
  return app;
}

/** A log that keeps every line as 'level: message'. */
export interface KeptLog {
  readonly log: WorkerLog;
  readonly lines: string[];
  /** The lines matching `re`. */
  matching(re: RegExp): string[];
  /** Every line with the ms since the log was made, for a failure to explain itself. */
  timed(): string[];
}

export function keptLog(): KeptLog {
  const start = Date.now();
  const lines: string[] = [];
  const at: number[] = [];
  return {
    log: (level, message) => {
      lines.push(`${level}: ${message}`);
      at.push(Date.now() - start);
    },
    lines,
    matching: (re) => lines.filter((l) => re.test(l)),
    timed: () => lines.map((l, i) => `+${at[i]!} ms ${l}`),
  };
}

/**
 * Awaits `wait` (a bounded wait); when it fails, prints the beat's log into the TAP output first,
 * so a timeout on a busy machine says what the beat was doing.
 */
export async function explained(t: Test, kept: KeptLog, wait: Promise<void>): Promise<void> {
  try {
    await wait;
  } catch (err) {
    t.comment(`beat log up to the failure (${String(err)}):`);
    for (const line of kept.timed()) t.comment(`  ${line}`);
    throw err;
  }
}

/** A beat of `app` (not started), closed when `t` ends; its fires are collected in `fired`. */
export function beatOf(t: Test, app: Celeriac, options: BeatRunOptions = {}): { beat: Beat; fired: BeatFired[] } {
  const beat = app.beat(options);
  const fired: BeatFired[] = [];
  beat.on('fired', (f) => fired.push(f));
  t.teardown(() => beat.close());
  return { beat, fired };
}

/** Scheduled times (epoch ms) of the fires of entry `name`, in the order fired. */
export function timesOf(fired: readonly BeatFired[], name: string): number[] {
  return fired.filter((f) => f.entry === name).map((f) => f.scheduledAt.getTime());
}

/** True when `times` has no repeats and each follows the one before by `step` ms (no gap). */
export function contiguous(times: readonly number[], step: number): boolean {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted.every((x, i) => i === 0 || x - sorted[i - 1]! === step);
}

/**
 * The scheduled times (epoch ms) of the task messages in `queue` sent for entry `entry`, read from
 * their beat_scheduled_at header: what the broker published, whatever the beats reported. Takes
 * the messages out of the queue.
 */
export async function publishedTimes(url: string, queue: string, entry: string): Promise<number[]> {
  const conn = await connect(url, { reconnect: false });
  try {
    const times: number[] = [];
    for (let m = await conn.get(queue, { noAck: true }); m !== null; m = await conn.get(queue, { noAck: true })) {
      const h = m.properties.headers ?? {};
      if (h['beat_entry'] === entry) times.push(Date.parse(String(h['beat_scheduled_at'])));
    }
    return times;
  } finally {
    await conn.close();
  }
}
