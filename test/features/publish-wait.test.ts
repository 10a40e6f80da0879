// A publish whose track carries `wait` registers the task's result wait in the same frame: the
// broker answers that id with the record once final, counts it against maxResultWaits (past it the
// wait id is refused, the publish stands) and ends it with its connection.
import t from 'tap';
import { startTestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { OP } from '../../shared/opcodes.js';
import type { ErrorFrame, Frame, OkFrame } from '../../shared/frames.js';
import { unique } from './feature-helpers.js';

const okOf = (id: number) => (f: Frame): boolean => (f.op === OP.ok || f.op === OP.error) && (f as OkFrame).id === id;
const confirmOf = (id: number) => (f: Frame): boolean => f.op === OP.confirm && f.ids.includes(id);

t.test('the welcome announces publish-wait; the wait id is answered with the final record', async (t) => {
  const broker = await startTestBroker(t);
  const c = await RawClient.open(broker.url);
  const worker = await RawClient.connect(broker.url);
  t.teardown(() => { c.close(); worker.close(); });
  const welcome = await c.hello();
  t.ok(welcome.op === OP.welcome && welcome.capabilities.includes('publish-wait'));
  const q = unique('pw');
  await c.ok({ op: OP.declareQueue, id: c.id(), name: q, options: {} });
  const taskId = unique('task');
  const pub = c.id();
  const wait = c.id();
  c.send({ op: OP.publish, id: pub, exchange: '', routingKey: q, body: Buffer.from('x'), track: { taskId, wait } });
  await c.next(confirmOf(pub));
  // STARTED is not final: the wait goes on (its answer would come before this reply).
  await worker.ok({ op: OP.resultStore, id: worker.id(), taskId, state: 'STARTED', options: {} });
  await c.ok({ op: OP.resultGet, id: c.id(), taskId });
  t.equal(c.inbox.filter(okOf(wait)).length, 0, 'not answered before the result is final');
  await worker.ok({ op: OP.resultStore, id: worker.id(), taskId, state: 'SUCCESS', body: Buffer.from('{"result":1}'), options: {} });
  const answer = await c.next(okOf(wait)) as OkFrame;
  t.equal(answer.op, OP.ok);
  t.match(answer.result, { taskId, state: 'SUCCESS' });

  // Final before the publish asked: answered at the publish's commit.
  const done = unique('done');
  await worker.ok({ op: OP.resultStore, id: worker.id(), taskId: done, state: 'SUCCESS', options: {} });
  const wait2 = c.id();
  c.send({ op: OP.publish, id: c.id(), exchange: '', routingKey: q, body: Buffer.from('y'), track: { taskId: done, wait: wait2 } });
  t.match(((await c.next(okOf(wait2))) as OkFrame).result, { taskId: done, state: 'SUCCESS' });

  // waitTimeout: answered with the record as it is then.
  const slow = unique('slow');
  const wait3 = c.id();
  c.send({ op: OP.publish, id: c.id(), exchange: '', routingKey: q, body: Buffer.from('z'), track: { taskId: slow, wait: wait3, waitTimeout: 50 } });
  t.match(((await c.next(okOf(wait3))) as OkFrame).result, { taskId: slow, state: 'PENDING' });
});

t.test('past maxResultWaits the wait id is refused and the publish stands; a bad wait is refused', async (t) => {
  const broker = await startTestBroker(t, { limits: { maxResultWaits: 2 } });
  const c = await RawClient.connect(broker.url);
  t.teardown(() => c.close());
  const q = unique('pw-bound');
  await c.ok({ op: OP.declareQueue, id: c.id(), name: q, options: {} });
  const waits: number[] = [];
  const pubs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const pub = c.id();
    const wait = c.id();
    pubs.push(pub);
    waits.push(wait);
    c.send({ op: OP.publish, id: pub, exchange: '', routingKey: q, body: Buffer.from('x'), track: { taskId: unique('t'), wait } });
  }
  // One confirm frame may hold several ids.
  const seen = new Set<number>();
  while (!pubs.every((p) => seen.has(p))) for (const id of ((await c.next((f) => f.op === OP.confirm)) as { ids: number[] }).ids) seen.add(id);
  const refused = await c.next(okOf(waits[2]!)) as ErrorFrame;
  t.equal(refused.op, OP.error);
  t.equal(refused.code, 'ERR_TOO_MANY_REQUESTS');
  const info = await c.ok({ op: OP.declareQueue, id: c.id(), name: q, options: { passive: true } }) as { messageCount: number };
  t.equal(info.messageCount, 3, 'every publish stands');
  t.equal(c.inbox.filter((f) => okOf(waits[0]!)(f) || okOf(waits[1]!)(f)).length, 0, 'the two registered waits go on');

  const bad = c.id();
  c.send({ op: OP.publish, id: bad, exchange: '', routingKey: q, body: Buffer.from('x'), track: { taskId: unique('t'), wait: -1 } });
  const err = await c.next(okOf(bad)) as ErrorFrame;
  t.equal(err.code, 'ERR_INVALID_ARGUMENT');
});

t.test('a refused publish takes its wait with it: no answer, and the wait is not counted', async (t) => {
  const broker = await startTestBroker(t, { limits: { maxResultWaits: 1 } });
  const c = await RawClient.connect(broker.url);
  const worker = await RawClient.connect(broker.url);
  t.teardown(() => { c.close(); worker.close(); });
  const full = unique('pw-full');
  await c.ok({ op: OP.declareQueue, id: c.id(), name: full, options: { maxLength: 1, overflow: 'reject-publish' } });
  c.send({ op: OP.publish, id: c.id(), exchange: '', routingKey: full, body: Buffer.from('fills it') });
  const refusedTask = unique('refused');
  const pub = c.id();
  const wait = c.id();
  c.send({ op: OP.publish, id: pub, exchange: '', routingKey: full, body: Buffer.from('x'), track: { taskId: refusedTask, wait } });
  t.match(await c.next(okOf(pub)), { op: OP.error, code: 'ERR_QUEUE_FULL' }, 'the publish is refused');

  // The only wait slot is free: the next publish's wait is registered and answered.
  const q = unique('pw-room');
  await c.ok({ op: OP.declareQueue, id: c.id(), name: q, options: {} });
  const taskId = unique('task');
  const wait2 = c.id();
  c.send({ op: OP.publish, id: c.id(), exchange: '', routingKey: q, body: Buffer.from('y'), track: { taskId, wait: wait2 } });
  await worker.ok({ op: OP.resultStore, id: worker.id(), taskId, state: 'SUCCESS', options: {} });
  t.match(((await c.next(okOf(wait2))) as OkFrame).result, { taskId, state: 'SUCCESS' });
  // A result stored for the refused publish's id answers nothing either.
  await worker.ok({ op: OP.resultStore, id: worker.id(), taskId: refusedTask, state: 'SUCCESS', options: {} });
  await c.ok({ op: OP.resultGet, id: c.id(), taskId: refusedTask });
  t.equal(c.inbox.filter(okOf(wait)).length, 0, 'the refused publish\'s wait id is never answered');
});
