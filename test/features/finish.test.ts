// finish: a worker acks its task, stores the result and publishes the next step in one commit.
import t from 'tap';
import type { Message } from '../../client/index.js';
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

t.test('a refused finish changes nothing', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const worker = await open();
  const tasks = unique('tasks');
  await conn.assertQueue(tasks);
  await conn.publish('', tasks, Buffer.from('x'));
  const held: Message[] = [];
  await worker.consume(tasks, (m) => { held.push(m); }, { prefetch: 1 });
  await until(() => held.length === 1);
  const id = unique('t');
  await t.rejects(worker.finish({
    ack: held[0]!,
    result: { taskId: id, state: 'SUCCESS' },
    publishes: [{ exchange: unique('no-such-exchange'), routingKey: 'k', body: Buffer.from('y') }],
  }), { code: 'ERR_NOT_FOUND' });
  t.equal(await conn.getResult(id), null, 'no result stored');
  await worker.close();
  const again = await collect(conn, tasks);
  await until(() => again.msgs.length === 1);
  t.ok(again.msgs[0]!.fields.redelivered, 'the task was not acked: it comes back');
  await t.rejects(conn.finish({ result: { taskId: unique('t'), state: 'NOPE' } }), { code: 'ERR_INVALID_ARGUMENT' });
});
