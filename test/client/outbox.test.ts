// The outbox: one write per turn, acks and nacks collapsed into tag lists, settlements written
// before any frame that could make their tags unknown, nothing written after close.
import t from 'tap';
import type { Frame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';
import { Outbox } from '../../client/outbox.js';

function harness(maxBatchBytes?: number) {
  const writes: Frame[][] = [];
  const turns: Array<() => void> = [];
  const outbox = new Outbox((frames) => writes.push(frames), (fn) => turns.push(fn), maxBatchBytes);
  const endTurn = (): void => {
    const run = turns.splice(0);
    for (const fn of run) fn();
  };
  return { outbox, writes, turns, endTurn };
}

const pub = (id: number): Frame => ({ op: OP.publish, id, exchange: 'x', routingKey: 'k', body: new Uint8Array(10) });

t.test('frames of one turn leave as one write, scheduled once', async (t) => {
  const h = harness();
  for (let i = 1; i <= 100; i++) h.outbox.push(pub(i), 10);
  t.equal(h.writes.length, 0, 'nothing written before the turn ends');
  t.equal(h.turns.length, 1, 'one flush scheduled');
  h.endTurn();
  t.equal(h.writes.length, 1);
  t.equal(h.writes[0]!.length, 100);
  t.same(h.writes[0]!.map((f) => (f as { id: number }).id), Array.from({ length: 100 }, (_, i) => i + 1), 'order kept');
  h.endTurn();
  t.equal(h.writes.length, 1, 'an empty turn writes nothing');
});

t.test('acks of one turn collapse into one ack frame with a tag list; nacks by requeue', async (t) => {
  const h = harness();
  h.outbox.ack(1);
  h.outbox.ack(2);
  h.outbox.nack(3, true);
  h.outbox.ack(4);
  h.outbox.nack(5, false);
  h.outbox.nack(6, true);
  h.endTurn();
  t.same(h.writes, [[
    { op: OP.ack, tag: [1, 2, 4] },
    { op: OP.nack, tag: [3, 6], requeue: true },
    { op: OP.nack, tag: 5, requeue: false },
  ]]);
});

t.test('a single ack is sent as a plain tag', async (t) => {
  const h = harness();
  h.outbox.ack(7);
  h.endTurn();
  t.same(h.writes, [[{ op: OP.ack, tag: 7 }]]);
});

t.test('publishes do not split the ack list; a cancel does (acks go first)', async (t) => {
  const h = harness();
  h.outbox.ack(1);
  h.outbox.push(pub(10), 10);
  h.outbox.ack(2);
  h.outbox.push(pub(11), 10);
  h.outbox.ack(3);
  h.outbox.push({ op: OP.cancel, id: 12, consumerTag: 'c' });
  h.outbox.ack(4);
  h.endTurn();
  t.equal(h.writes.length, 1);
  const ops = h.writes[0]!.map((f) => f.op);
  t.same(ops, [OP.publish, OP.publish, OP.ack, OP.cancel, OP.ack]);
  t.same(h.writes[0]![2], { op: OP.ack, tag: [1, 2, 3] });
  t.same(h.writes[0]![4], { op: OP.ack, tag: 4 });
});

t.test('a batch over maxBatchBytes is written at once', async (t) => {
  const h = harness(1_000);
  for (let i = 1; i <= 10; i++) h.outbox.push(pub(i), 300);
  t.equal(h.writes.length, 2, 'written as soon as 1,000 bytes were queued (4 frames of 300 bytes + overhead)');
  t.equal(h.writes[0]!.length, 4);
  h.endTurn();
  t.equal(h.writes.flat().length, 10, 'every frame written exactly once');
});

t.test('after close nothing is written and settlements are no-ops', async (t) => {
  const h = harness();
  h.outbox.push(pub(1));
  h.outbox.ack(1);
  t.ok(h.outbox.open);
  h.outbox.close();
  t.notOk(h.outbox.open);
  h.outbox.ack(2);
  h.outbox.push(pub(2));
  h.endTurn();
  h.outbox.flush();
  t.same(h.writes, []);
});

t.test('a multiple settle goes out after the tags collected before it, before those after it', async (t) => {
  const h = harness();
  h.outbox.nack(1, true);
  h.outbox.ack(2);
  h.outbox.ack(5, true);
  h.outbox.ack(6);
  h.outbox.nack(8, false, true);
  h.outbox.nack(9, true);
  h.endTurn();
  t.same(h.writes, [[
    { op: OP.ack, tag: 2 },
    { op: OP.nack, tag: 1, requeue: true },
    { op: OP.ack, tag: 5, multiple: true },
    { op: OP.ack, tag: 6 },
    { op: OP.nack, tag: 8, multiple: true, requeue: false },
    { op: OP.nack, tag: 9, requeue: true },
  ]], 'a collected nack of 1 is never preceded by a multiple ack that already settled 1');
});
