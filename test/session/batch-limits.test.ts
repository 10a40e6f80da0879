// One message cannot freeze the broker: a batch over maxFramesPerMessage is refused whole with
// ERR_TOO_MANY_FRAMES; a large batch is worked through in slices, so other clients and /healthz
// are answered while it runs; requests waiting for their commit and resultWaits are bounded.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import type { ConfirmFrame, ErrorFrame, Frame, WelcomeFrame } from '../../shared/frames.js';
import { DEFAULT_LIMITS } from '../../shared/limits.js';
import { OP } from '../../shared/opcodes.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/wait.js';

const uniq = (tag: string): string => `${tag}-${randomUUID().slice(0, 8)}`;
const isError = (code: string) => (f: Frame): boolean => f.op === OP.error && f.code === code;

t.test('the welcome announces maxFramesPerMessage; one frame more is refused whole with ERR_TOO_MANY_FRAMES', async (t) => {
  const broker = await startTestBroker(t, { limits: { maxFramesPerMessage: 50 } });
  const c = await RawClient.open(broker.url);
  t.teardown(() => c.close());
  const welcome = (await c.hello()) as WelcomeFrame;
  t.equal(welcome.limits['maxFramesPerMessage'], 50, 'announced in the welcome');
  t.equal(welcome.limits['maxRequestsInProgress'], DEFAULT_LIMITS.maxRequestsInProgress);
  t.equal(welcome.limits['maxResultWaits'], DEFAULT_LIMITS.maxResultWaits);

  const queue = uniq('cap');
  // 50 frames are taken...
  c.send([{ op: OP.declareQueue, id: c.id(), name: queue, options: {} }, ...Array.from({ length: 49 }, (): Frame => ({ op: OP.heartbeat }))]);
  await c.next((f) => f.op === OP.ok);
  // ...51 are not, and none of them is handled (the purge would answer ok first).
  c.send([{ op: OP.purgeQueue, id: 777, name: queue }, ...Array.from({ length: 50 }, (): Frame => ({ op: OP.heartbeat }))]);
  const err = (await c.next((f) => f.op === OP.error)) as ErrorFrame;
  t.equal(err.code, 'ERR_TOO_MANY_FRAMES');
  t.same(err.details, { frames: 51, limit: 50 });
  t.equal((await c.waitClose()).code, 1009, 'closed as a message too big');
  t.notOk(c.inbox.some((f) => f.op === OP.ok && f.id === 777), 'the first frame of the refused batch was not handled');
});

t.test('while one huge batch is worked through, a good client publishes and /healthz answers', async (t) => {
  // The cap is raised so one message carries far more work than one slice: on a broker that
  // handled a message in one go, the marker queue at its end would exist before anything else ran.
  const frames = 50_000;
  const broker = await startTestBroker(t, { limits: { maxFramesPerMessage: frames + 1 } });
  const hostile = await RawClient.connect(broker.url);
  const good = await RawClient.connect(broker.url);
  t.teardown(() => { hostile.close(); good.close(); });
  const queue = uniq('good');
  const marker = uniq('marker');
  await good.ok({ op: OP.declareQueue, id: good.id(), name: queue, options: { durable: true } });

  const missing = uniq('missing');
  const batch: Frame[] = Array.from({ length: frames }, (_, i): Frame => ({ op: OP.get, id: i + 1, queue: missing }));
  batch.push({ op: OP.declareQueue, id: frames + 1, name: marker, options: {} });
  let errors = 0;
  hostile.ws.on('message', () => { errors += hostile.takeAll(isError('ERR_NOT_FOUND')); });
  hostile.send(batch);

  // Each step below needs the broker to read the good socket and answer between two slices.
  good.send({ op: OP.publish, id: 1, exchange: '', routingKey: queue, body: new Uint8Array([1]), props: { persistent: true } });
  const confirm = (await good.next((f) => f.op === OP.confirm, 20_000)) as ConfirmFrame;
  t.same(confirm.ids, [1], 'the good publish is confirmed');
  const health = await fetch(`${broker.httpUrl}/healthz`);
  t.equal(health.status, 200, '/healthz answers');
  const passive = await good.request({ op: OP.declareQueue, id: good.id(), name: marker, options: { passive: true } }, 20_000);
  t.equal(passive.op === OP.error ? passive.code : 'declared', 'ERR_NOT_FOUND', 'and all that while the huge batch was not done yet');

  const done = await hostile.next((f) => f.op === OP.ok && f.id === frames + 1, 60_000);
  t.ok(done, 'the huge batch is worked through to its end');
  await until(() => errors === frames, 10_000, 'every get answered');
  t.equal(errors, frames, 'every frame of it was answered, in order before the marker');
  t.equal(hostile.closed, null, 'the hostile connection was not closed: its batch was within the cap');
});

t.test('a hostile client sending cap-sized batches in a loop: a good client publishes and consumes, nothing lost', async (t) => {
  const broker = await startTestBroker(t);
  const cap = DEFAULT_LIMITS.maxFramesPerMessage;
  const hostile = await RawClient.connect(broker.url);
  const good = await RawClient.connect(broker.url);
  t.teardown(() => { hostile.close(); good.close(); });
  const queue = uniq('loop');
  await good.ok({ op: OP.declareQueue, id: good.id(), name: queue, options: { durable: true } });
  await good.ok({ op: OP.consume, id: good.id(), queue, options: { prefetch: 0, noAck: true } });
  const missing = uniq('missing');
  let stop = false;
  let sent = 0;
  hostile.ws.on('message', () => { hostile.inbox.length = 0; });
  const flood = (async () => {
    while (!stop && hostile.closed === null) {
      // Keep a few batches queued in the socket: as much as the broker will read.
      if (hostile.sendBacklog < 4 * 1024 * 1024) {
        hostile.send(Array.from({ length: cap }, (_, i): Frame => ({ op: OP.get, id: i + 1, queue: missing })));
        sent++;
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  await until(() => sent >= 3, 10_000, 'the flood to start');

  const count = 50;
  let delivered = 0;
  good.ws.on('message', () => { delivered += good.takeAll((f) => f.op === OP.deliver); });
  for (let i = 1; i <= count; i++) {
    good.send({ op: OP.publish, id: i, exchange: '', routingKey: queue, body: new Uint8Array([i]), props: { persistent: true } });
    const c = (await good.next((f) => f.op === OP.confirm, 20_000)) as ConfirmFrame;
    if (!t.same(c.ids, [i], `publish ${i} confirmed`)) break;
  }
  await until(() => delivered === count, 20_000, 'every good message delivered');
  stop = true;
  await flood;
  t.equal(delivered, count, 'the good client got every message while the flood went on');
  t.ok(sent >= 3, `the hostile client sent ${sent} batches of ${cap} frames`);
  t.equal(hostile.closed, null, 'batches within the cap are served, not refused');
});

t.test('requests waiting for their commit are bounded: at maxRequestsInProgress the connection waits, then goes on', async (t) => {
  const broker = await startTestBroker(t, { limits: { maxRequestsInProgress: 1 } });
  const c = await RawClient.connect(broker.url);
  t.teardown(() => c.close());
  const queue = uniq('inprogress');
  await c.ok({ op: OP.declareQueue, id: c.id(), name: queue, options: { durable: true } });
  const n = 40;
  c.send(Array.from({ length: n }, (_, i): Frame => ({ op: OP.publish, id: i + 1, exchange: '', routingKey: queue, body: new Uint8Array([i]), props: { persistent: true } })));
  const ids: number[] = [];
  let confirmFrames = 0;
  while (ids.length < n) {
    ids.push(...((await c.next((f) => f.op === OP.confirm, 10_000)) as ConfirmFrame).ids);
    confirmFrames++;
  }
  t.same(ids, Array.from({ length: n }, (_, i) => i + 1), 'every publish confirmed, in order');
  // With one request in progress at a time, each publish waited for the commit of the one before.
  t.equal(confirmFrames, n, 'one commit (and confirm frame) per publish: never two in progress');
  const info = (await c.ok({ op: OP.declareQueue, id: c.id(), name: queue, options: { passive: true } })) as { messageCount: number };
  t.equal(info.messageCount, n);
});

t.test('a resultWait beyond maxResultWaits is refused with ERR_TOO_MANY_REQUESTS; a slot frees when a wait ends', async (t) => {
  const broker = await startTestBroker(t, { limits: { maxResultWaits: 2 } });
  const c = await RawClient.connect(broker.url);
  t.teardown(() => c.close());
  const [a, b, x] = [uniq('a'), uniq('b'), uniq('x')];
  // Known ids, not final yet: a wait on them waits (an unknown id is answered at once).
  for (const taskId of [a, b, x]) await c.ok({ op: OP.resultStore, id: c.id(), taskId, state: 'PENDING' });
  c.send([
    { op: OP.resultWait, id: 11, taskId: a, timeout: 30_000 },
    { op: OP.resultWait, id: 12, taskId: b, timeout: 30_000 },
    { op: OP.resultWait, id: 13, taskId: x, timeout: 30_000 },
  ]);
  const refused = (await c.next((f) => f.op === OP.error)) as ErrorFrame;
  t.equal(refused.id, 13);
  t.equal(refused.code, 'ERR_TOO_MANY_REQUESTS');
  await c.ok({ op: OP.resultStore, id: c.id(), taskId: a, state: 'SUCCESS' });
  await c.next((f) => f.op === OP.ok && f.id === 11);
  const again = await c.request({ op: OP.resultWait, id: 14, taskId: x, timeout: 1 });
  t.equal(again.op, OP.ok, 'the wait that ended left room for another');
  t.equal(c.closed, null, 'the connection goes on');
});

t.test('a request refused at once is not left counted as in progress (the connection never stalls on it)', async (t) => {
  const broker = await startTestBroker(t, { limits: { maxRequestsInProgress: 2 } });
  const c = await RawClient.connect(broker.url);
  t.teardown(() => c.close());
  const queue = uniq('refused');
  await c.ok({ op: OP.declareQueue, id: c.id(), name: queue, options: { durable: true } });
  // The engine refuses these by throwing (no such exchange) after the handler counted them.
  c.send(Array.from({ length: 10 }, (_, i): Frame => ({ op: OP.publish, id: 100 + i, exchange: uniq('nowhere'), routingKey: 'k', body: new Uint8Array([i]) })));
  c.send({ op: OP.publish, id: 1, exchange: '', routingKey: queue, body: new Uint8Array([1]), props: { persistent: true } });
  const confirm = (await c.next((f) => f.op === OP.confirm, 10_000)) as ConfirmFrame;
  t.same(confirm.ids, [1], 'the publish after them is handled and confirmed');
  t.equal(c.takeAll(isError('ERR_NOT_FOUND')), 10, 'each refused one answered with its error');
});
