// Bad input over real sockets: each case gets its coded error frame and a close of THAT connection,
// while a connection opened before keeps publishing and consuming and the broker keeps accepting.
import { randomBytes, randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { Encoder } from '@msgpack/msgpack';
import { ERRORS, type ErrorCode } from '../../shared/errors.js';
import type { ErrorFrame, Frame } from '../../shared/frames.js';
import { OP, PROTOCOL_VERSION } from '../../shared/opcodes.js';
import type { Broker } from '../../server/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const uniq = (tag: string): string => `${tag}-${randomUUID().slice(0, 8)}`;

/** A healthy connection with its own queue and consumer, opened before the bad one. */
async function bystander(t: Test, url: string, hello: Parameters<typeof RawClient.connect>[1] = {}) {
  const c = await RawClient.connect(url, hello);
  t.teardown(() => c.close());
  const queue = uniq('bystander');
  await c.ok({ op: OP.declareQueue, id: c.id(), name: queue, options: { durable: true } });
  await c.ok({ op: OP.consume, id: c.id(), queue, options: { prefetch: 10 } });
  return {
    /** Publishes one persistent message, waits for its confirm and its delivery, acks it. */
    async stillWorks(): Promise<void> {
      const id = c.id();
      const body = randomBytes(16);
      c.send({ op: OP.publish, id, exchange: '', routingKey: queue, body, props: { persistent: true } });
      const confirm = await c.next((f) => f.op === OP.confirm && f.ids.includes(id));
      t.ok(confirm, 'bystander: publish confirmed');
      const d = await c.next((f) => f.op === OP.deliver);
      if (d.op !== OP.deliver) throw new Error('unreachable');
      t.same(Buffer.from(d.body), body, 'bystander: message delivered');
      c.send({ op: OP.ack, tag: d.deliveryTag });
      t.equal(c.closed, null, 'bystander: still open');
    },
  };
}

/** Asserts the connection got an error frame with `code` and was closed with the table's close code. */
async function expectClosedWith(t: Test, c: RawClient, code: ErrorCode, id?: number): Promise<void> {
  const err = (await c.next((f) => f.op === OP.error)) as ErrorFrame;
  t.equal(err.code, code, `error frame ${code}`);
  if (id !== undefined) t.equal(err.id, id, 'error frame echoes the request id');
  t.type(err.message, 'string');
  const closed = await c.waitClose();
  t.equal(closed.code, (ERRORS[code] as { close?: number }).close, `closed with ${closed.code}`);
}

/** The broker still takes new connections. */
async function brokerUp(t: Test, broker: Broker, hello: Parameters<typeof RawClient.connect>[1] = {}): Promise<void> {
  const c = await RawClient.connect(broker.url, hello);
  await c.ok({ op: OP.declareQueue, id: c.id(), name: uniq('after'), options: {} });
  t.pass('broker still accepts connections');
  c.close();
}

/** Runs one bad-input case: bystander first, then the culprit, then proofs of health. */
function badCase(name: string, code: ErrorCode, culprit: (c: RawClient, broker: Broker) => Promise<number | void>, opts: {
  hello?: boolean; broker?: Parameters<typeof startTestBroker>[1]; helloFields?: Parameters<typeof RawClient.connect>[1];
} = {}) {
  t.test(name, async (t) => {
    const broker = await startTestBroker(t, opts.broker);
    const other = await bystander(t, broker.url, opts.helloFields);
    const c = opts.hello === false ? await RawClient.open(broker.url) : await RawClient.connect(broker.url, opts.helloFields);
    t.teardown(() => c.close());
    const id = await culprit(c, broker);
    await expectClosedWith(t, c, code, id === undefined ? undefined : id);
    await other.stillWorks();
    await brokerUp(t, broker, opts.helloFields);
  });
}

badCase('random bytes', 'ERR_MALFORMED_FRAME', async (c) => {
  // 0xc1 is the one byte msgpack never uses, so this can never decode.
  c.sendRaw(Buffer.concat([Buffer.from([0xc1]), randomBytes(200)]));
});

badCase('random bytes before hello', 'ERR_MALFORMED_FRAME', async (c) => {
  c.sendRaw(Buffer.concat([Buffer.from([0xc1]), randomBytes(64)]));
}, { hello: false });

badCase('truncated msgpack', 'ERR_MALFORMED_FRAME', async (c) => {
  const whole = c.codec.encode({ op: OP.declareQueue, id: 5, name: 'some-queue-name', options: { durable: true } });
  c.sendRaw(whole.subarray(0, whole.length - 6));
});

badCase('a frame of the wrong shape', 'ERR_MALFORMED_FRAME', async (c) => {
  c.sendRaw(new Encoder().encode([OP.declareQueue, 'not-an-id', 42]));
});

badCase('unknown opcode', 'ERR_UNKNOWN_OPCODE', async (c) => {
  c.sendRaw(new Encoder().encode([99, 1, 'x']));
});

badCase('a server-only opcode from a client', 'ERR_UNKNOWN_OPCODE', async (c) => {
  c.send({ op: OP.confirm, ids: [1] });
});

badCase('oversized frame after hello', 'ERR_FRAME_TOO_LARGE', async (c) => {
  c.send({ op: OP.publish, id: 1, exchange: '', routingKey: 'x', body: new Uint8Array(40 * 1024) });
}, { broker: { limits: { maxMessageSize: 32 * 1024, maxPreAuthSize: 1024 } } });

badCase('oversized frame before hello (maxPreAuthSize)', 'ERR_FRAME_TOO_LARGE', async (c) => {
  c.send({ op: OP.hello, id: 1, version: PROTOCOL_VERSION, client: 'x'.repeat(1500) });
}, { hello: false, broker: { limits: { maxPreAuthSize: 1024 } } });

t.test('far beyond maxPreAuthSize, the socket is cut with 1009 before the message is buffered', async (t) => {
  const broker = await startTestBroker(t, { limits: { maxPreAuthSize: 1024 } });
  const other = await bystander(t, broker.url);
  const c = await RawClient.open(broker.url);
  t.teardown(() => c.close());
  c.send({ op: OP.hello, id: 1, version: PROTOCOL_VERSION, client: 'x'.repeat(64 * 1024) });
  t.equal((await c.waitClose()).code, 1009);
  await other.stillWorks();
  await brokerUp(t, broker);
});

badCase('frames before hello', 'ERR_HANDSHAKE_REQUIRED', async (c) => {
  c.send({ op: OP.declareQueue, id: 1, name: 'early', options: {} });
}, { hello: false });

badCase('frames batched after hello, before the welcome', 'ERR_HANDSHAKE_REQUIRED', async (c) => {
  c.send([{ op: OP.hello, id: 1, version: PROTOCOL_VERSION }, { op: OP.declareQueue, id: 2, name: 'early', options: {} }]);
}, { hello: false });

badCase('a second hello', 'ERR_UNKNOWN_OPCODE', async (c) => {
  c.send({ op: OP.hello, id: 9, version: PROTOCOL_VERSION });
  return 9;
});

badCase('unsupported protocol version', 'ERR_VERSION_UNSUPPORTED', async (c) => {
  c.send({ op: OP.hello, id: 3, version: PROTOCOL_VERSION + 100 });
  return 3;
}, { hello: false });

badCase('wrong password', 'ERR_ACCESS_REFUSED', async (c) => {
  c.send({ op: OP.hello, id: 4, version: PROTOCOL_VERSION, user: 'alice', password: 'wrong' });
  return 4;
}, { hello: false, broker: { users: [{ user: 'alice', password: 's3cret' }] }, helloFields: { user: 'alice', password: 's3cret' } });

badCase('unknown user', 'ERR_ACCESS_REFUSED', async (c) => {
  c.send({ op: OP.hello, id: 4, version: PROTOCOL_VERSION, user: 'mallory', password: 's3cret' });
  return 4;
}, { hello: false, broker: { users: [{ user: 'alice', password: 's3cret' }] }, helloFields: { user: 'alice', password: 's3cret' } });

badCase('default guest user when users are configured', 'ERR_ACCESS_REFUSED', async (c) => {
  c.send({ op: OP.hello, id: 4, version: PROTOCOL_VERSION, user: 'guest', password: 'guest' });
  return 4;
}, { hello: false, broker: { users: [{ user: 'alice', password: 's3cret' }] }, helloFields: { user: 'alice', password: 's3cret' } });

badCase('a vhost the user may not use', 'ERR_ACCESS_REFUSED', async (c) => {
  c.send({ op: OP.hello, id: 6, version: PROTOCOL_VERSION, user: 'alice', password: 's3cret', vhost: 'b' });
  return 6;
}, {
  hello: false,
  broker: { vhosts: ['a', 'b'], users: [{ user: 'alice', password: 's3cret', vhosts: ['a'] }] },
  helloFields: { user: 'alice', password: 's3cret', vhost: 'a' },
});

badCase('a vhost that does not exist', 'ERR_ACCESS_REFUSED', async (c) => {
  c.send({ op: OP.hello, id: 6, version: PROTOCOL_VERSION, vhost: 'nowhere' });
  return 6;
}, { hello: false });

badCase('ack of an unknown delivery tag', 'ERR_UNKNOWN_DELIVERY_TAG', async (c) => {
  c.send({ op: OP.ack, tag: 4242 });
});

badCase('double ack', 'ERR_UNKNOWN_DELIVERY_TAG', async (c) => {
  const queue = uniq('double');
  await c.ok({ op: OP.declareQueue, id: c.id(), name: queue, options: {} });
  c.send({ op: OP.publish, id: 1, exchange: '', routingKey: queue, body: new Uint8Array([1]) });
  await c.ok({ op: OP.consume, id: c.id(), queue, options: { prefetch: 1 } });
  const d = await c.next((f) => f.op === OP.deliver);
  if (d.op !== OP.deliver) throw new Error('unreachable');
  c.send({ op: OP.ack, tag: d.deliveryTag });
  c.send({ op: OP.ack, tag: d.deliveryTag });
});

t.test("a queue of vhost 'a' is not found from vhost 'b'; the request fails, the connection goes on", async (t) => {
  const broker = await startTestBroker(t, { vhosts: ['a', 'b'] });
  const a = await RawClient.connect(broker.url, { vhost: 'a' });
  const b = await RawClient.connect(broker.url, { vhost: 'b' });
  t.teardown(() => { a.close(); b.close(); });
  const queue = uniq('vhost-a');
  await a.ok({ op: OP.declareQueue, id: a.id(), name: queue, options: { durable: true } });
  const checks: Frame[] = [
    { op: OP.declareQueue, id: b.id(), name: queue, options: { passive: true } },
    { op: OP.purgeQueue, id: b.id(), name: queue },
    { op: OP.get, id: b.id(), queue },
    { op: OP.consume, id: b.id(), queue, options: {} },
  ];
  for (const frame of checks) {
    const reply = await b.request(frame as Frame & { id: number });
    t.equal(reply.op, OP.error, `op ${frame.op} from vhost b is refused`);
    if (reply.op === OP.error) t.equal(reply.code, 'ERR_NOT_FOUND');
  }
  t.equal(b.closed, null, 'ERR_NOT_FOUND is request-scoped: b stays open');
  // the queue in 'a' is untouched and still usable
  a.send({ op: OP.publish, id: 77, exchange: '', routingKey: queue, body: new Uint8Array([7]) });
  await a.next((f) => f.op === OP.confirm && f.ids.includes(77));
  const got = await a.ok({ op: OP.get, id: a.id(), queue, noAck: true }) as { body: Uint8Array };
  t.same([...got.body], [7]);
});
