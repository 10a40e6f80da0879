// Message settling without a socket: once only, nack/reject defaults, noAck, dead sockets.
import t from 'tap';
import { Message } from '../../client/message.js';
import type { Settler } from '../../client/outbox.js';

function settler(open = true) {
  const calls: string[] = [];
  const s: Settler & { calls: string[] } = {
    open,
    calls,
    ack: (tag) => calls.push(`ack ${tag}`),
    nack: (tag, requeue) => calls.push(`nack ${tag} ${requeue}`),
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

t.test('get() messages carry messageCount', async (t) => {
  const m = new Message(src(1), '', settler(), false, 7);
  t.equal(m.fields.messageCount, 7);
  t.equal(m.fields.consumerTag, '');
});
