// The outbox without sockets: everything queued in one turn is one message, confirms of the turn
// are merged into one frame placed where the first one fell, and a closed outbox sends nothing.
import t from 'tap';
import { FLUSH_AT_BYTES, Outbox } from '../../server/session/outbox.js';
import { FrameCodec } from '../../shared/codec.js';
import type { Frame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';

const codec = new FrameCodec();
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function collect() {
  const sent: Frame[][] = [];
  let written = 0;
  const box = new Outbox(codec, (bytes, done) => { sent.push(codec.decode(bytes)); done(); }, () => { written++; });
  return { box, sent, written: () => written };
}

t.test('one turn, one message; confirms merged in place', async (t) => {
  const { box, sent, written } = collect();
  box.push({ op: OP.ok, id: 1 });
  box.confirm(10);
  box.push({ op: OP.ok, id: 2 });
  box.confirm(11);
  box.confirm(12);
  t.equal(sent.length, 0, 'nothing is sent within the turn');
  t.ok(box.pendingBytes > 0);
  await turn();
  t.equal(sent.length, 1, 'one WebSocket message');
  t.same(sent[0], [{ op: OP.ok, id: 1 }, { op: OP.confirm, ids: [10, 11, 12] }, { op: OP.ok, id: 2 }]);
  t.equal(written(), 1);
  t.equal(box.pendingBytes, 0);
  box.confirm(13);
  await turn();
  t.same(sent[1], [{ op: OP.confirm, ids: [13] }], 'the next turn starts a new confirm frame');
});

t.test('flush sends now; a closed outbox drops frames', async (t) => {
  const { box, sent } = collect();
  box.push({ op: OP.heartbeat });
  box.flush();
  t.equal(sent.length, 1);
  box.close();
  box.push({ op: OP.ok, id: 3 });
  box.confirm(4);
  await turn();
  t.equal(sent.length, 1);
});

t.test('a turn of bodies past FLUSH_AT_BYTES leaves in several messages, in order, confirms kept apart per message', async (t) => {
  const { box, sent } = collect();
  const body = new Uint8Array(FLUSH_AT_BYTES / 4);
  box.confirm(1);
  for (let id = 10; id < 20; id++) box.push({ op: OP.ok, id, result: { taskId: `t${id}`, state: 'SUCCESS', body } }, body.byteLength);
  box.confirm(2);
  t.equal(sent.length, 2, 'two full messages left within the turn');
  await turn();
  t.equal(sent.length, 3, 'the rest at the end of the turn');
  const flat = sent.flat();
  t.same(flat.map((f) => (f.op === OP.ok ? f.id : f.op === OP.confirm ? `confirm ${f.ids.join(',')}` : f.op)),
    ['confirm 1', 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 'confirm 2'], 'every frame once, in order');
  t.ok(sent.every((m) => m.length <= 5), 'no message holds more than a megabyte of bodies and one frame');
});
