// A beat that stops leading while one of its renewals is on its way, and then gets that renewal
// granted, leads again and fires again. Seen as a beat that stalled after a broker restart: its
// pass stopped for want of a lease, and the renewal answered after the reconnect did not wake it.
import t from 'tap';
import { Beat, connect, type BeatFired } from '../../client/index.js';
import { beatDepsOf } from '../../client/beat/app-link.js';
import type { BeatBackend } from '../../client/beat/types.js';
import { startTestBroker } from '../helpers/broker.js';
import { until } from '../helpers/wait.js';
import { appOn, explained, keptLog, timesOf, unique } from './beat-helpers.js';

/**
 * The broker connection as the beat uses it, passed through unchanged, except that the next lease
 * request can be held back until the test lets it go: a renewal "on its way", deterministically.
 */
class LeaseGate {
  private armed: { held: () => void; released: Promise<void> } | undefined;

  /** Holds the next lease request; resolves once one is held. Returns the function that lets it go. */
  holdNext(): Promise<() => void> {
    return new Promise((resolveHeld) => {
      let release!: () => void;
      const released = new Promise<void>((r) => { release = r; });
      this.armed = { held: () => resolveHeld(release), released };
    });
  }

  wrap(b: BeatBackend): BeatBackend {
    return {
      upsertSchedule: (...a) => b.upsertSchedule(...a),
      removeSchedule: (...a) => b.removeSchedule(...a),
      pauseSchedule: (...a) => b.pauseSchedule(...a),
      listSchedules: (...a) => b.listSchedules(...a),
      watchSchedules: (...a) => b.watchSchedules(...a),
      releaseLease: (...a) => b.releaseLease(...a),
      fireSchedule: (...a) => b.fireSchedule(...a),
      advanceSchedule: (...a) => b.advanceSchedule(...a),
      acquireLease: async (...a) => {
        const gate = this.armed;
        this.armed = undefined;
        if (gate !== undefined) {
          gate.held();
          await gate.released;
        }
        return b.acquireLease(...a);
      },
    };
  }
}

t.test('a beat that loses its lease while a renewal is on its way fires again once that renewal is granted', async (t) => {
  const broker = await startTestBroker(t);
  const name = unique('tick');
  const lease = unique('lease');
  const app = appOn(t, broker.url, { beatSchedule: { [name]: { task: 'tasks.tick', schedule: 200, options: { queue: unique('q') } } } });
  const gate = new LeaseGate();
  const deps = beatDepsOf(app);
  const kept = keptLog();
  // ttl 3 s: renewals every second, and a renewal held back for a moment is still answered well
  // within its ttl, so the beat counts the grant as fresh (not one to ask again for at once).
  const beat = new Beat({
    ...deps,
    open: async (startup) => {
      const link = await deps.open(startup);
      return { ...link, backend: gate.wrap(link.backend) };
    },
  }, { lease, leaseTtl: 3_000, log: kept.log });
  t.teardown(() => beat.close());
  const fired: BeatFired[] = [];
  beat.on('fired', (f) => fired.push(f));
  await beat.start();
  await explained(t, kept, until(() => timesOf(fired, name).length >= 2, 10_000, 'the first fires'));
  const firstEpoch = fired[0]!.epoch;

  // The next renewal leaves while the beat leads, and is held on its way.
  const letGo = await gate.holdNext();
  t.ok(beat.leading, 'the renewal was sent while the beat led');
  // Meanwhile the lease is freed under it: its next fire is refused and it stops leading.
  const admin = await connect(broker.url, { reconnect: false });
  t.teardown(() => admin.close());
  t.equal(await admin.releaseLease(lease, beat.holder, firstEpoch), true, 'the lease freed');
  await explained(t, kept, until(() => kept.matching(/is no longer the leader/).length > 0, 10_000, 'the beat to stop leading'));
  t.notOk(beat.leading, 'it stopped leading');

  // The held renewal now reaches the broker, which grants it (the lease is free): the beat leads again.
  const count = timesOf(fired, name).length;
  letGo();
  await explained(t, kept, until(() => beat.leading, 10_000, 'the beat to lead again'));
  await explained(t, kept, until(() => timesOf(fired, name).length >= count + 2, 10_000, 'fires after the beat leads again'));
  t.ok(fired.at(-1)!.epoch > firstEpoch, `fired under the new epoch (${firstEpoch} -> ${fired.at(-1)!.epoch})`);
  t.equal(kept.matching(/^error:/).length, 0, 'no error logged');
});
