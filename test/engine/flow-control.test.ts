// Flow control weighs the bytes of the messages the engine holds, with hysteresis: publishers are
// blocked above the high watermark and let go only at or under the low one, as soon as it is reached.
import t from 'tap';
import { FlowControl } from '../../server/engine/flow-control.js';
import { openHarness } from './engine-harness.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('blocked above the high watermark, unblocked at the low one, not in between', async (t) => {
  const high = 20_000;
  const low = 10_000;
  const h = openHarness(t, ':memory:', { memoryHighWatermark: high, memoryLowWatermark: low });
  const { conn, sink } = h.connect();
  h.engine.declareQueue(conn, 'fc', {});
  const body = 'x'.repeat(1_000);
  let published = 0;
  while (sink.flows.length === 0 && published < 1_000) {
    await h.publish(conn, '', 'fc', body);
    published++;
    await turn(); // the verdict lands in the next turn
  }
  t.same(sink.flows, [false], 'blocked');
  t.ok(h.engine.overview().heldBytes > high, 'over the high watermark when blocked');
  t.ok(h.engine.overview().blocked);
  // Taking messages out one by one: nothing changes until the held bytes reach the low watermark.
  let heldWhenUnblocked = -1;
  for (let i = 0; i < published; i++) {
    const m = h.engine.get(conn, 'fc', false)!;
    h.engine.ack(conn, m.deliveryTag, false);
    await turn();
    const held = h.engine.overview().heldBytes;
    if (held > low) t.same(sink.flows, [false], `still blocked at ${held} B (between the watermarks)`);
    else if (heldWhenUnblocked < 0) {
      heldWhenUnblocked = held;
      t.same(sink.flows, [false, true], `unblocked as soon as ${held} B <= ${low} B`);
    }
  }
  t.ok(heldWhenUnblocked >= 0, 'unblocked once drained');
  t.equal(h.engine.overview().heldBytes, 0, 'nothing held once every message is acked');
  t.notOk(h.engine.overview().blocked);
});

t.test('delivered but unacked messages count as held until settled', async (t) => {
  const h = openHarness(t, ':memory:', { memoryHighWatermark: 1_000_000 });
  const { conn } = h.connect();
  h.engine.declareQueue(conn, 'held', {});
  await h.publish(conn, '', 'held', 'y'.repeat(500));
  const queued = h.engine.overview().heldBytes;
  t.ok(queued >= 500, 'a queued message counts at least its body');
  const m = h.engine.get(conn, 'held', false)!;
  t.equal(h.engine.overview().heldBytes, queued, 'still held while unacked');
  h.engine.nack(conn, m.deliveryTag, false, true);
  t.equal(h.engine.overview().heldBytes, queued, 'requeued: held once, not twice');
  const again = h.engine.get(conn, 'held', false)!;
  h.engine.ack(conn, again.deliveryTag, false);
  t.equal(h.engine.overview().heldBytes, 0, 'gone once acked');
});

t.test('blocked time: accumulated from block to unblock on the injected clock, the block going on included', async (t) => {
  let clock = 1_000;
  const verdicts: boolean[] = [];
  const fc = new FlowControl({
    memoryHighWatermark: 100, memoryLowWatermark: 50, storeHighWatermark: 0,
    storeBytes: () => 0, bufferedBytes: () => 0, setBlocked: (blocked) => verdicts.push(blocked), now: () => clock,
  });
  t.teardown(() => fc.stop());
  t.equal(fc.blockedSeconds(), 0);
  fc.gauge.add(200);
  fc.check();
  t.equal(verdicts.at(-1), true, 'blocked');
  clock += 1_500;
  t.equal(fc.blockedSeconds(), 1.5, 'the block going on counts');
  fc.check();
  clock += 500;
  t.equal(fc.blockedSeconds(), 2, 'a check while blocked does not restart the block');
  fc.gauge.sub(200);
  fc.check();
  t.equal(verdicts.at(-1), false, 'unblocked');
  clock += 10_000;
  t.equal(fc.blockedSeconds(), 2, 'nothing counted while unblocked');
  fc.gauge.add(200);
  fc.check();
  clock += 250;
  t.equal(fc.blockedSeconds(), 2.25, 'a second block adds to the first');
});
