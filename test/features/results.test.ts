// The broker's result store end to end: tasks known from their publish, results stored after a
// commit, waits answered by a push when the result is final, forget, expiry, restart.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../server/index.js';
import { connect } from '../../client/index.js';
import { brokerAndClient, sleep, unique, untilAsync } from './feature-helpers.js';

t.test('a published task is PENDING from its confirm; an id nobody sent is unknown', async (t) => {
  const { conn } = await brokerAndClient(t);
  const q = unique('tasks');
  await conn.assertQueue(q, { durable: true });
  const id = unique('task-id');
  await conn.publish('', q, Buffer.from('work'), { persistent: true, correlationId: id, track: { taskId: id } });
  t.same(await conn.getResult(id), { taskId: id, state: 'PENDING' });
  t.equal(await conn.getResult(unique('never-sent')), null);
  // an unroutable publish registers nothing
  const lost = unique('lost');
  await conn.publish('', unique('no-such-queue'), Buffer.from('x'), { track: { taskId: lost } });
  t.equal(await conn.getResult(lost), null);
});

t.test('a waiting client is pushed the result when it is stored', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const worker = await open();
  const id = unique('task');
  await worker.storeResult(id, 'RECEIVED');
  const waiting = conn.waitResult(id, 10_000);
  let settled = false;
  void waiting.then(() => { settled = true; });
  // One socket answers in order: once this reply is here, the wait is registered on the broker.
  await conn.getResult(id);
  await worker.storeResult(id, 'STARTED');
  // An answer to the wait caused by STARTED would come back ahead of this reply.
  await conn.getResult(id);
  await sleep(20); // negative check: a little room for the wait's own promise chain
  t.notOk(settled, 'STARTED is not final: the wait goes on');
  const body = Buffer.from(JSON.stringify({ status: 'SUCCESS', result: 5 }));
  await worker.storeResult(id, 'SUCCESS', body, { contentType: 'application/json', expires: 60_000 });
  const rec = await waiting;
  t.equal(rec?.state, 'SUCCESS');
  t.same(JSON.parse(Buffer.from(rec!.body!).toString()), { status: 'SUCCESS', result: 5 });
  t.equal(rec?.contentType, 'application/json');
  t.type(rec?.dateDone, 'number');
  t.ok(rec!.expiresAt! > Date.now(), 'expiry set from the store time');
  // already final: answered at once
  t.equal((await conn.waitResult(id, 10_000))?.state, 'SUCCESS');
});

t.test('a wait that times out answers with the record as it is', async (t) => {
  const { conn } = await brokerAndClient(t);
  const id = unique('slow');
  await conn.storeResult(id, 'STARTED');
  t.equal((await conn.waitResult(id, 100))?.state, 'STARTED');
  t.equal(await conn.waitResult(unique('unknown'), 50), null);
  // An unknown id is answered at once, not after the timeout: the test would time out otherwise.
  t.equal(await conn.waitResult(unique('unknown'), 600_000), null, 'an unknown id does not hang a waiter');
});

t.test('a final result is not replaced by a late non-final state', async (t) => {
  const { conn } = await brokerAndClient(t);
  const id = unique('done');
  await conn.storeResult(id, 'SUCCESS', Buffer.from('5'));
  await conn.storeResult(id, 'STARTED');
  await conn.storeResult(id, 'RETRY');
  const rec = await conn.getResult(id);
  t.equal(rec?.state, 'SUCCESS', 'STARTED and RETRY after SUCCESS are dropped');
  t.equal(Buffer.from(rec!.body!).toString(), '5');
  await conn.storeResult(id, 'FAILURE', Buffer.from('x'));
  t.equal((await conn.getResult(id))?.state, 'FAILURE', 'a final state may still replace a final one');
});

t.test('forget, expiry and bad input', async (t) => {
  const { conn } = await brokerAndClient(t);
  const id = unique('f');
  await conn.storeResult(id, 'FAILURE', Buffer.from('boom'));
  t.equal((await conn.getResult(id))?.state, 'FAILURE');
  await conn.forgetResult(id);
  t.equal(await conn.getResult(id), null);
  const short = unique('short');
  await conn.storeResult(short, 'SUCCESS', Buffer.from('1'), { expires: 100 });
  await untilAsync(async () => (await conn.getResult(short)) === null, 10_000, 'the result to expire');
  t.pass('expired results are gone');
  await t.rejects(conn.storeResult(unique('x'), 'DONE'), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(conn.storeResult('', 'SUCCESS'), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('a closing connection drops its waits; the broker goes on', async (t) => {
  const { conn, open } = await brokerAndClient(t);
  const other = await open();
  const id = unique('w');
  await conn.storeResult(id, 'RECEIVED');
  void other.waitResult(id, 10_000).catch(() => undefined);
  await other.getResult(id); // answered after the wait was registered (one socket, in order)
  await other.close();
  await conn.storeResult(id, 'SUCCESS');
  t.equal((await conn.getResult(id))?.state, 'SUCCESS');
});

t.test('results survive a restart of the broker', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-results-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dataFile = join(dir, 'b.db');
  const id = unique('kept');
  {
    const broker = await startBroker({ port: 0, host: '127.0.0.1', dataFile });
    const c = await connect(broker.url, { reconnect: false });
    await c.storeResult(id, 'SUCCESS', Buffer.from('42'), { contentType: 'application/json' });
    await c.close();
    await broker.close();
  }
  const broker = await startBroker({ port: 0, host: '127.0.0.1', dataFile });
  t.teardown(() => broker.close());
  const c = await connect(broker.url, { reconnect: false });
  t.teardown(() => c.close());
  const rec = await c.getResult(id);
  t.equal(rec?.state, 'SUCCESS');
  t.equal(Buffer.from(rec!.body!).toString(), '42');
});
