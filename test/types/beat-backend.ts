// Type test: the broker Connection is a BeatBackend (client/beat/types.ts), so beat and
// app.schedules run on it as they are. Compiled by `tsc -p test/types/tsconfig.json`; never run.
import type { Connection } from '../../client/index.js';
import type { BeatBackend, BeatFireResult } from '../../client/beat/types.js';
import type { LeaseRecord, ScheduleRecord } from '../../shared/frames.js';

export function asBackend(conn: Connection): BeatBackend {
  return conn;
}

export async function misuses(conn: Connection): Promise<void> {
  // @ts-expect-error a spec is JSON text, not an object
  await conn.upsertSchedule('tick', { task: 't' });
  // @ts-expect-error the epoch is a number
  await conn.releaseLease('beat', 'me', '1');
  // @ts-expect-error a fire names the revision it was planned from
  await conn.fireSchedule({ lease: 'beat', holder: 'me', epoch: 1, entry: 'tick', scheduledAt: 0, nextRunAt: null, publishes: [] });
  const fired: BeatFireResult = await conn.fireSchedule({ lease: 'beat', holder: 'me', epoch: 1, entry: 'tick', revision: 1, scheduledAt: 0, nextRunAt: null, publishes: [] });
  if (fired.fired) {
    const record: ScheduleRecord = fired.record;
    void record;
  } else {
    const reason: 'duplicate' | 'changed' = fired.reason;
    void reason;
  }
  const { lease }: { lease: LeaseRecord } = await conn.acquireLease('beat', 'me', 10_000);
  void lease;
}
