// finish: a worker acks its task, stores the result and publishes the next step in one commit.
import t, { type Test } from 'tap';
import type { Connection, Message } from '../../client/index.js';
import { brokerAndClient, collect, unique, until, untilAsync } from './feature-helpers.js';

t.test('ack, result and follow-up publish land together; waiters are pushed the result', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const worker = await open();
  const tasks = unique('tasks');
  const next = unique('next');
  await conn.assertQueue(tasks, { durable: true });
  await conn.assertQueue(next, { durable: true });
  const id = unique('task');
  const nextId = unique('next-task');
  await conn.publish('', tasks, Buffer.from('step-1'), { persistent: true, track: { taskId: id } });
  const waiting = conn.waitResult(id, 10_000);
  const held: Message[] = [];
  await worker.consume(tasks, (m) => { held.push(m); }, { prefetch: 1 });
  await until(() => held.length === 1);
  await worker.finish({
    ack: held[0]!,
    result: { taskId: id, state: 'SUCCESS', body: Buffer.from('2'), options: { contentType: 'application/json' } },
    publishes: [{ exchange: '', routingKey: next, body: Buffer.from('step-2'), props: { persistent: true }, track: { taskId: nextId } }],
  });
  t.ok(held[0]!.settled, 'the message is settled locally');
  t.throws(() => held[0]!.ack(), { code: 'ERR_UNKNOWN_DELIVERY_TAG' });
  const rec = await waiting;
  t.equal(rec?.state, 'SUCCESS');
  t.equal(Buffer.from(rec!.body!).toString(), '2');
  t.equal((await conn.getResult(nextId))?.state, 'PENDING', 'the next step is known from its publish');
  const n = await collect(conn, next);
  await until(() => n.msgs.length === 1);
  t.equal(n.msgs[0]!.body.toString(), 'step-2');
  // finish() resolved once the ack committed; the poll is bounded insurance, not a guess at timing.
  await untilAsync(async () => (await conn.checkQueue(tasks)).messageCount === 0, 10_000, 'the task message to be acked');
  t.pass('the task message was acked');
});

/** A broker, a second client holding one task delivery (prefetch 1) and what it was given. */
async function heldTask(t: Test, before?: (conn: Connection) => Promise<void>): Promise<{ conn: Connection; worker: Connection; tasks: string; held: Message[] }> {
  const { conn, open } = await brokerAndClient(t);
  const worker = await open();
  const tasks = unique('tasks');
  await conn.assertQueue(tasks);
  await before?.(conn);
  await conn.publish('', tasks, Buffer.from('x'));
  const held: Message[] = [];
  await worker.consume(tasks, (m) => { held.push(m); }, { prefetch: 1 });
  await until(() => held.length === 1);
  return { conn, worker, tasks, held };
}

t.test('a refused finish changes nothing', async (t) => {
  const { conn, worker, held } = await heldTask(t);
  const id = unique('t');
  await t.rejects(worker.finish({
    ack: held[0]!,
    result: { taskId: id, state: 'SUCCESS' },
    publishes: [{ exchange: unique('no-such-exchange'), routingKey: 'k', body: Buffer.from('y') }],
  }), { code: 'ERR_NOT_FOUND' });
  t.equal(await conn.getResult(id), null, 'no result stored');
  t.notOk(held[0]!.settled, 'the delivery is still ours to settle');
  held[0]!.nack({ requeue: true });
  await until(() => held.length === 2, 10_000, 'the requeued task to come back');
  t.ok(held[1]!.fields.redelivered, 'the task was not acked: the nack after the refusal requeued it');
  await t.rejects(conn.finish({ result: { taskId: unique('t'), state: 'NOPE' } }), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('a finish whose follow-up a full reject-publish queue refuses is refused whole: no ack, no result', async (t) => {
  const full = unique('full');
  const { conn, worker, tasks, held } = await heldTask(t, async (c) => {
    await c.assertQueue(full, { maxLength: 1, overflow: 'reject-publish' });
    await c.publish('', full, Buffer.from('occupant'));
  });
  const id = unique('t');
  await t.rejects(worker.finish({
    ack: held[0]!,
    result: { taskId: id, state: 'SUCCESS' },
    publishes: [{ exchange: '', routingKey: full, body: Buffer.from('next step') }],
  }), { code: 'ERR_QUEUE_FULL' });
  t.equal(await conn.getResult(id), null, 'no result stored');
  t.equal((await conn.checkQueue(full)).messageCount, 1, 'nothing added to the full queue');
  t.equal((await conn.checkQueue(tasks)).consumerCount, 1);
  // The replacement a worker sends (a FAILURE without the follow-up) acks the same delivery.
  await worker.finish({ ack: held[0]!, result: { taskId: id, state: 'FAILURE' } });
  t.equal((await conn.getResult(id))?.state, 'FAILURE');
  await worker.close();
  t.equal((await conn.checkQueue(tasks)).messageCount, 0, 'the task message was acked by the replacement, not requeued');
});
