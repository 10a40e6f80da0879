// Backpressure over real sockets: a consumer that stops reading its socket stops receiving once the
// server's send buffer is full, and gets everything when it reads again. Flow tells publishers to wait.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import type { FlowFrame, Frame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('a consumer that does not read is not flooded; delivery resumes when it reads', async (t) => {
  const broker = await startTestBroker(t);
  const producer = await RawClient.connect(broker.url);
  const consumer = await RawClient.connect(broker.url);
  t.teardown(() => { producer.close(); consumer.close(); });
  const queue = `bp-${randomUUID().slice(0, 8)}`;
  const total = 400;
  const body = new Uint8Array(64 * 1024); // 400 x 64 KiB = 25 MiB, far beyond socket buffers
  await producer.ok({ op: OP.declareQueue, id: producer.id(), name: queue, options: {} });
  await consumer.ok({ op: OP.consume, id: consumer.id(), queue, options: { prefetch: 0 } });
  consumer.pauseSocket();

  for (let i = 0; i < total; i += 50) {
    producer.send(Array.from({ length: 50 }, (_, j): Frame => ({ op: OP.publish, id: i + j + 1, exchange: '', routingKey: queue, body })));
  }
  let confirmed = 0;
  while (confirmed < total) confirmed += ((await producer.next((f) => f.op === OP.confirm, 10_000)) as { ids: number[] }).ids.length;

  // wait until the broker stops handing messages to the stalled socket
  const ready = async (): Promise<number> =>
    ((await producer.ok({ op: OP.declareQueue, id: producer.id(), name: queue, options: { passive: true } })) as { messageCount: number }).messageCount;
  let last = -1;
  let now = await ready();
  for (let i = 0; i < 50 && now !== last; i++) {
    await sleep(100); // bounded: until two looks 100 ms apart agree (no event marks "buffer full")
    last = now;
    now = await ready();
  }
  t.ok(now > 0, `the broker holds ${now} of ${total} messages back while the socket is full`);
  t.ok(now < total, 'it delivered until the buffer filled');

  consumer.resumeSocket();
  let got = 0;
  while (got < total) {
    const d = await consumer.next((f) => f.op === OP.deliver, 10_000);
    if (d.op === OP.deliver) {
      got++;
      consumer.send({ op: OP.ack, tag: d.deliveryTag });
    }
  }
  t.equal(got, total, 'every message arrives once the consumer reads again');
  t.equal(await ready(), 0);
});

t.test('over the memory watermark, connections are told to stop publishing (flow)', async (t) => {
  const broker = await startTestBroker(t, { memoryHighWatermark: 1, limits: { heartbeat: 100 } });
  const c = await RawClient.connect(broker.url);
  t.teardown(() => c.close());
  const beat = setInterval(() => c.send({ op: OP.heartbeat }), 30);
  t.teardown(() => clearInterval(beat));
  const queue = `flow-${randomUUID().slice(0, 8)}`;
  await c.ok({ op: OP.declareQueue, id: 1, name: queue, options: {} });
  // With a 1-byte watermark, the first message the broker holds puts it over.
  c.send({ op: OP.publish, id: 2, exchange: '', routingKey: queue, body: new Uint8Array([1]) });
  const flow = (await c.next((f) => f.op === OP.flow, 10_000)) as FlowFrame;
  t.equal(flow.active, false);
  t.match(flow.reason, /memory/);
  // A publisher is not read while flow is off: its next request waits (and its silence is not
  // mistaken for a dead peer, though the heartbeat is 100 ms).
  c.send({ op: OP.publish, id: 3, exchange: '', routingKey: queue, body: new Uint8Array([1]) });
  await sleep(100); // the publish in its own read, ahead of the request
  c.send({ op: OP.declareQueue, id: 4, name: queue, options: {} });
  await sleep(600); // negative check: six heartbeats' time, and neither a reply nor a close
  t.notOk(c.inbox.some((f) => f.op === OP.ok && f.id === 4), 'the request after the publish is not served while blocked');
  t.equal(c.closed, null, 'the paused publisher is not closed for silence');
});

t.test('a peer that never reads its replies stops being read: the broker does not buffer without limit', async (t) => {
  const broker = await startTestBroker(t);
  const flooder = await RawClient.connect(broker.url);
  const bystander = await RawClient.connect(broker.url);
  t.teardown(() => { flooder.close(); bystander.close(); });
  flooder.pauseSocket();
  // Each publish to a missing exchange earns an error frame of ~600 bytes: 40,000 of them are
  // ~24 MB of replies that the flooder never reads.
  const missing = `missing-${'x'.repeat(200)}`;
  const perMessage = 200;
  const messages = 200;
  for (let m = 0; m < messages; m++) {
    flooder.send(Array.from({ length: perMessage }, (_, j): Frame => ({ op: OP.publish, id: m * perMessage + j + 1, exchange: missing, routingKey: 'k', body: new Uint8Array(8) })));
  }
  // A broker that kept reading would have taken all 10 MB by now (it does in ~0.3 s here); one that
  // stopped leaves them queued on the flooder's side for as long as the flooder does not read.
  await sleep(1_500);
  t.ok(flooder.sendBacklog > 0, `the broker stopped reading the flooder (${flooder.sendBacklog} bytes still unsent)`);
  // everyone else is served meanwhile
  const q = `bystander-${randomUUID().slice(0, 8)}`;
  await bystander.ok({ op: OP.declareQueue, id: bystander.id(), name: q, options: {} });

  flooder.resumeSocket();
  let errors = 0;
  const deadline = Date.now() + 30_000;
  while (errors < messages * perMessage && Date.now() < deadline) {
    errors += flooder.takeAll((f) => f.op === OP.error);
    await sleep(20);
  }
  t.equal(errors, messages * perMessage, 'every request was answered once the peer read again');
});
