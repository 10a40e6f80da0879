// Every frame that carries a message or result body is refused whole when a body is over
// maxBodySize: ERR_MESSAGE_TOO_LARGE for that request alone, naming the body and both sizes, and
// nothing of the request done (no message queued, no result stored, no group declared).
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import type { ErrorFrame, Frame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const LIMIT = 100;
const uniq = (tag: string): string => `${tag}-${randomUUID().slice(0, 8)}`;

async function refused(t: Test, c: RawClient, frame: Frame & { id: number }, what: string): Promise<void> {
  const reply = await c.request(frame);
  t.equal(reply.op, OP.error, `${what}: refused`);
  const err = reply as ErrorFrame;
  t.equal(err.code, 'ERR_MESSAGE_TOO_LARGE', `${what}: ERR_MESSAGE_TOO_LARGE`);
  t.match(err.message, new RegExp(`is ${LIMIT + 1} bytes, more than maxBodySize ${LIMIT}$`), `${what}: the message names both sizes`);
  t.match(err.details, { size: LIMIT + 1, maxBodySize: LIMIT }, `${what}: and so do the details`);
}

t.test('a body over maxBodySize is refused in every frame that carries one, and nothing is done', async (t) => {
  const broker = await startTestBroker(t, { limits: { maxBodySize: LIMIT } });
  const c = await RawClient.connect(broker.url);
  t.teardown(() => c.close());
  const queue = uniq('sized');
  await c.ok({ op: OP.declareQueue, id: c.id(), name: queue, options: { durable: true } });
  const small = new Uint8Array(LIMIT);
  const big = new Uint8Array(LIMIT + 1);
  const to = { exchange: '', routingKey: queue };

  await refused(t, c, { op: OP.publish, id: c.id(), ...to, body: big, props: { persistent: true } }, 'publish');

  const finishTask = uniq('finish');
  await refused(t, c, {
    op: OP.finish, id: c.id(), result: { taskId: finishTask, state: 'SUCCESS', body: small },
    publishes: [{ ...to, body: small }, { ...to, body: big }],
  }, 'a finish publish');
  const finishResult = uniq('finish-result');
  await refused(t, c, { op: OP.finish, id: c.id(), result: { taskId: finishResult, state: 'SUCCESS', body: big } }, 'a finish result');

  const stored = uniq('stored');
  await refused(t, c, { op: OP.resultStore, id: c.id(), taskId: stored, state: 'SUCCESS', body: big }, 'resultStore');

  const group = uniq('group');
  await refused(t, c, { op: OP.groupDeclare, id: c.id(), groupId: group, members: [uniq('m')], callback: { ...to, body: big } }, 'a group callback');

  // The body is checked before the lease: nothing could fire with this one anyway.
  await refused(t, c, {
    op: OP.beatFire, id: c.id(), lease: 'beat', holder: 'h', epoch: 1, entry: 'e', revision: 1, scheduledAt: 0, nextRunAt: null,
    publishes: [{ ...to, body: small }, { ...to, body: big }],
  }, 'a beat fire');

  const info = await c.ok({ op: OP.declareQueue, id: c.id(), name: queue, options: { passive: true } });
  t.match(info, { messageCount: 0 }, 'no message was queued, not even the small publish beside a big one');
  // An absent record is an ok frame without a result.
  for (const [taskId, what] of [[finishTask, 'the finish with a big publish'], [finishResult, 'the big finish result'], [stored, 'the big resultStore']]) {
    t.equal(await c.ok({ op: OP.resultGet, id: c.id(), taskId: taskId! }), undefined, `no result stored by ${what}`);
  }
  t.equal(await c.ok({ op: OP.groupGet, id: c.id(), groupId: group }), undefined, 'no group declared');

  await c.ok({ op: OP.resultStore, id: c.id(), taskId: stored, state: 'SUCCESS', body: small });
  t.match(await c.ok({ op: OP.resultGet, id: c.id(), taskId: stored }), { state: 'SUCCESS' }, 'a body of exactly maxBodySize is stored');
  t.equal(c.closed, null, 'the connection stayed open throughout');
});
