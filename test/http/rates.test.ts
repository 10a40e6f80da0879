// Publish / deliver / ack rates from samples of the engine's counters, on an injected clock: the
// window's oldest sample is the baseline, a counter that starts over never gives a negative rate.
import t from 'tap';
import type { EngineOverview, QueueOverview } from '../../server/engine/types.js';
import { RateTracker } from '../../server/http/rates.js';

function overview(published: number, delivered: number, acked: number, queues: Partial<QueueOverview>[] = []): EngineOverview {
  return {
    queues: queues.map((q) => ({
      vhost: '/', name: 'q', durable: false, exclusive: false, autoDelete: false, messages: 0, ready: 0, unacked: 0, delayed: 0, paged: 0, consumers: 0,
      options: {}, counters: { published: 0, delivered: 0, acked: 0 }, ...q,
    })),
    exchanges: [],
    connections: [],
    totals: { published, delivered, acked, deadLettered: 0, deadLetterCyclesDropped: 0, pagedOut: 0, pagedIn: 0, messages: 0 },
    heldBytes: 0,
    blocked: false,
  };
}

t.test('rates over the window, broker-wide and per queue', async (t) => {
  let now = 0;
  let current = overview(0, 0, 0, [{ name: 'q', counters: { published: 0, delivered: 0, acked: 0 } }]);
  const rates = new RateTracker(() => current, { windowMs: 5_000, sampleMs: 60_000, now: () => now });
  t.teardown(() => rates.stop());
  t.strictSame(rates.ratesOf(current).totals, { publish: 0, deliver: 0, ack: 0 }, 'no time has passed');

  now = 2_000;
  current = overview(100, 40, 20, [{ name: 'q', counters: { published: 10, delivered: 4, acked: 2 } }, { name: 'new', counters: { published: 6, delivered: 0, acked: 0 } }]);
  const r = rates.ratesOf(current);
  t.strictSame(r.totals, { publish: 50, deliver: 20, ack: 10 }, 'per second since the first sample');
  t.strictSame(r.queue('/', 'q'), { publish: 5, deliver: 2, ack: 1 });
  t.strictSame(r.queue('/', 'new'), { publish: 3, deliver: 0, ack: 0 }, 'a queue declared since: counted from zero');
  t.strictSame(r.queue('/', 'gone'), { publish: 0, deliver: 0, ack: 0 });

  rates.sample(); // at 2 s
  now = 8_000;
  rates.sample(); // at 8 s: the sample at 0 is no longer needed, the one at 2 s is the baseline
  now = 10_000;
  current = overview(160, 40, 20, [{ name: 'q', counters: { published: 1, delivered: 0, acked: 0 } }]);
  const later = rates.ratesOf(current);
  t.strictSame(later.totals, { publish: 7.5, deliver: 0, ack: 0 }, '60 more over the 8 s since the 2 s sample');
  t.strictSame(later.queue('/', 'q'), { publish: 0, deliver: 0, ack: 0 }, 'a queue deleted and declared again: never negative');
});
