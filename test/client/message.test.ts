// Message settling without a socket: once only, nack/reject defaults, noAck, dead sockets,
// `multiple` settling the earlier messages of the same socket, whether a delivery is still live.
import t from 'tap';
import { Message } from '../../client/message.js';
import { Outbox, type Settler } from '../../client/outbox.js';
import { Unsettled } from '../../client/unsettled.js';

function settler(open = true) {
  const calls: string[] = [];
  const s: Settler & { calls: string[] } = {
    open,
    calls,
    unsettled: new Unsettled<Message>(),
    ack: (tag, multiple) => calls.push(multiple === true ? `ack ${tag} multiple` : `ack ${tag}`),
    nack: (tag, requeue, multiple) => calls.push(multiple === true ? `nack ${tag} ${requeue} multiple` : `nack ${tag} ${requeue}`),
  };
  return s;
}

const src = (tag: number) => ({ deliveryTag: tag, redelivered: false, deliveryCount: 1, exchange: 'x', routingKey: 'k', body: new Uint8Array([104, 105]) });

t.test('fields, body as Buffer, empty frozen properties', async (t) => {
  const m = new Message(src(1), 'c1', settler(), false);
  t.ok(Buffer.isBuffer(m.body));
  t.equal(m.body.toString(), 'hi');
  t.same(m.fields, { deliveryTag: 1, redelivered: false, deliveryCount: 1, exchange: 'x', routingKey: 'k', consumerTag: 'c1' });
  t.same(m.properties, {});
  t.ok(Object.isFrozen(m.properties));
  t.notOk(m.settled);
});

t.test('settling twice throws locally and sends once', async (t) => {
  const s = settler();
  const m = new Message(src(5), 'c', s, false);
  m.ack();
  t.ok(m.settled);
  t.throws(() => m.ack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' });
  t.throws(() => m.nack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' });
  t.throws(() => m.reject(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' });
  t.same(s.calls, ['ack 5']);
});

t.test('nack requeues by default, reject does not', async (t) => {
  const s = settler();
  new Message(src(1), 'c', s, false).nack();
  new Message(src(2), 'c', s, false).nack({ requeue: false });
  new Message(src(3), 'c', s, false).reject();
  new Message(src(4), 'c', s, false).reject({ requeue: true });
  t.same(s.calls, ['nack 1 true', 'nack 2 false', 'nack 3 false', 'nack 4 true']);
});

t.test('a noAck message cannot be settled', async (t) => {
  const s = settler();
  const m = new Message(src(1), 'c', s, true);
  t.ok(m.settled);
  t.throws(() => m.ack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG', message: /noAck/ });
  t.same(s.calls, []);
});

t.test('settling a message whose socket dropped is a silent no-op (once)', async (t) => {
  const s = settler(false);
  const m = new Message(src(9), 'c', s, false);
  m.ack();
  t.same(s.calls, [], 'the dead tag is never sent');
  t.throws(() => m.ack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' }, 'still settles only once');
});

t.test('deliveryLive: true while the broker holds the delivery for this socket', async (t) => {
  const socket = new Outbox(() => undefined, () => undefined);
  const a = new Message(src(1), 'c', socket, false);
  const b = new Message(src(2), 'c', socket, false);
  t.ok(a.deliveryLive, 'delivered, not settled, its socket up');
  a.ack();
  t.notOk(a.deliveryLive, 'settled');
  t.notOk(new Message(src(3), 'c', socket, true).deliveryLive, 'noAck: the broker holds nothing');
  socket.close();
  t.notOk(b.deliveryLive, 'its socket dropped: the broker requeued it');
  t.notOk(b.settled, 'though nobody settled it');
});

t.test('get() messages carry messageCount', async (t) => {
  const m = new Message(src(1), '', settler(), false, 7);
  t.equal(m.fields.messageCount, 7);
  t.equal(m.fields.consumerTag, '');
});

t.test('ack({ multiple }) settles the earlier unsettled messages of the socket, one frame', async (t) => {
  const s = settler();
  const ms = [1, 2, 3, 4, 5].map((tag) => new Message(src(tag), tag % 2 === 0 ? 'a' : 'b', s, false));
  ms[1]!.ack();
  ms[3]!.ack({ multiple: true });
  t.same(ms.map((m) => m.settled), [true, true, true, true, false], 'every earlier one, across consumers; not the later one');
  t.same(s.calls, ['ack 2', 'ack 4 multiple']);
  t.throws(() => ms[0]!.ack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG', message: /already settled/ });
  t.throws(() => ms[2]!.nack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' });
  t.equal(s.unsettled.size, 1);
  ms[4]!.ack();
  t.equal(s.unsettled.size, 0, 'settled messages leave the registry');
  t.same(s.calls, ['ack 2', 'ack 4 multiple', 'ack 5']);
});

t.test('nack({ multiple, requeue }) settles the earlier ones; noAck messages are not tracked', async (t) => {
  const s = settler();
  const free = new Message(src(1), 'c', s, true);
  const a = new Message(src(2), 'c', s, false);
  const b = new Message(src(3), 'c', s, false);
  t.equal(s.unsettled.size, 2);
  b.nack({ multiple: true, requeue: false });
  t.ok(a.settled);
  t.ok(free.settled);
  t.same(s.calls, ['nack 3 false multiple']);
  t.throws(() => a.reject(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' });
});

t.test('multiple on a dropped socket settles the earlier ones locally and sends nothing', async (t) => {
  const s = settler(false);
  const a = new Message(src(1), 'c', s, false);
  const b = new Message(src(2), 'c', s, false);
  b.ack({ multiple: true });
  t.ok(a.settled);
  t.same(s.calls, []);
});

t.test('messages of another socket are untouched by multiple', async (t) => {
  const old = settler();
  const cur = settler();
  const stale = new Message(src(1), 'c', old, false);
  const m = new Message(src(3), 'c', cur, false);
  m.ack({ multiple: true });
  t.notOk(stale.settled);
});

t.test('a get() reply that overtook earlier deliveries is still settled in tag order', async (t) => {
  const s = settler();
  const got = new Message(src(4), '', s, false);
  const d1 = new Message(src(2), 'c', s, false);
  const d2 = new Message(src(3), 'c', s, false);
  const later = new Message(src(6), 'c', s, false);
  const last = new Message(src(5), 'c', s, false);
  last.ack({ multiple: true });
  t.same([got, d1, d2, later].map((m) => m.settled), [true, true, true, false]);
});
