// The Redis result backend (client/result-backend/redis/) against a real Redis through the
// ResultBackend contract: Celery's key layout read back raw, results stored / read / waited for
// (pushed) / forgotten / expired, a final state kept over a late non-final one, groups counted
// once under concurrent stores with the chord callback published once through the paired transport
// (a broker-server here: ws:// + redis://), a dead claimer's callback taken over, revocations
// (stored REVOKED, checked, pushed, expired), the shared rate buckets, and a Redis restart in the
// middle of a wait and of a revocation listener; connection failures as coded errors.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { encode } from '@msgpack/msgpack';
import { gzipSync } from 'node:zlib';
import { CeleriacError } from '../../shared/errors.js';
import type { FinishPublish, RevokedInfo } from '../../shared/frames.js';
import { openBackends } from '../../client/app/backends.js';
import { Celeriac, chord } from '../../client/index.js';
import { openRedisResults, type RedisResults } from '../../client/result-backend/redis/backend.js';
import type { TaskLink } from '../../client/result-backend/result-backend.js';
import type { Delivery } from '../../client/transport/transport.js';
import { isUnreachable } from '../../client/unreachable.js';
import { startTestBroker } from '../helpers/broker.js';
import { freePort } from '../helpers/ports.js';
import { redisCommands, startRedis } from '../helpers/redis.js';
import { startTcpGate } from '../helpers/tcp-gate.js';
import { sleep, until, untilAsync } from '../helpers/wait.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;
const redis = await startRedis(t);

async function open(tt: Test, options: Parameters<typeof openRedisResults>[1] = {}): Promise<RedisResults> {
  const r = await openRedisResults(redis.url, options);
  tt.teardown(() => r.close());
  return r;
}

/** Celery's result meta as JSON bytes, as a worker stores it. */
function meta(id: string, status: string, result: unknown = null): Buffer {
  return Buffer.from(JSON.stringify({ status, result, traceback: null, children: [], date_done: status === 'SUCCESS' ? '2024-05-01T10:00:00.123456' : null, task_id: id }));
}

const json = { contentType: 'application/json' };

t.test('Celery layout: the meta bytes under celery-task-meta-<id>, kept resultExpires ms; get reads them back', async (t) => {
  const r = await open(t);
  const id = unique('task');
  await r.storeResult(id, 'SUCCESS', meta(id, 'SUCCESS', 5), { ...json, expires: 60_000 });
  const [raw, pttl] = await redisCommands(redis.port, [['GET', `celery-task-meta-${id}`], ['PTTL', `celery-task-meta-${id}`]]);
  t.same(JSON.parse(raw as string), JSON.parse(meta(id, 'SUCCESS', 5).toString()), 'stored as given');
  t.ok(typeof pttl === 'number' && pttl > 50_000 && pttl <= 60_000, `expires in about 60 s (PTTL ${String(pttl)})`);
  const rec = await r.getResult(id);
  t.equal(rec?.state, 'SUCCESS');
  t.equal(rec?.contentType, 'application/json');
  t.equal(rec?.dateDone, Date.parse('2024-05-01T10:00:00.123Z'), "Celery's naive date_done is UTC");
  t.ok(rec !== null && rec.expiresAt !== undefined && rec.expiresAt > Date.now());
  t.same(JSON.parse(Buffer.from(rec!.body!).toString()), { status: 'SUCCESS', result: 5, traceback: null, children: [], date_done: '2024-05-01T10:00:00.123456', task_id: id });

  // A result Python Celery stored (SET by hand, Celery's spacing and key order) reads the same way.
  const py = unique('py');
  await redisCommands(redis.port, [['SET', `celery-task-meta-${py}`, `{"status": "FAILURE", "result": {"exc_type": "ValueError", "exc_message": ["boom"], "exc_module": "builtins"}, "traceback": "Traceback...", "children": [], "date_done": "2024-05-01T10:00:00", "task_id": "${py}"}`]]);
  t.equal((await r.getResult(py))?.state, 'FAILURE');
  t.equal(await r.getResult(unique('never')), null, 'an unknown id is null');
});

t.test('content type by sniffing: msgpack meta reads as msgpack; a compressed body is stored plain', async (t) => {
  const r = await open(t);
  const id = unique('packed');
  await r.storeResult(id, 'SUCCESS', encode({ status: 'SUCCESS', result: [1, 2], traceback: null, children: [], date_done: null, task_id: id }), { contentType: 'application/x-msgpack' });
  const rec = await r.getResult(id);
  t.equal(rec?.state, 'SUCCESS');
  t.equal(rec?.contentType, 'application/x-msgpack');
  // Our own meta puts task_id first: the scripts read the status all the same (kept over STARTED).
  const ours = unique('ours');
  await r.storeResult(ours, 'SUCCESS', encode({ task_id: ours, status: 'SUCCESS', result: new Date(0) }), { contentType: 'application/x-msgpack' });
  await r.storeResult(ours, 'STARTED');
  t.equal((await r.getResult(ours))?.state, 'SUCCESS', 'msgpack meta with an extension type: its state is read');

  const zipped = unique('zipped');
  await r.storeResult(zipped, 'SUCCESS', gzipSync(meta(zipped, 'SUCCESS', 'z')), { contentType: 'application/json;compression=application/gzip' });
  const [raw] = await redisCommands(redis.port, [['GET', `celery-task-meta-${zipped}`]]);
  t.match(JSON.parse(raw as string), { status: 'SUCCESS', result: 'z' }, 'plain JSON in Redis, as Celery keeps it');
  t.equal((await r.getResult(zipped))?.contentType, 'application/json');
});

t.test("PENDING is a registration beside Celery's key; REVOKED gets meta in the app serializer; a final state is never replaced by a non-final one", async (t) => {
  const r = await open(t, { serializer: 'msgpack' });
  const id = unique('states');
  await r.storeResult(id, 'PENDING', undefined, { expires: 5_000 });
  const pending = await r.getResult(id);
  t.match(pending, { taskId: id, state: 'PENDING' });
  t.equal(pending?.body, undefined, 'no meta: Celery never stores PENDING');
  t.ok(pending?.expiresAt !== undefined && pending.expiresAt - Date.now() <= 5_000);
  const [celeryKey, registration] = await redisCommands(redis.port, [['EXISTS', `celery-task-meta-${id}`], ['PTTL', `celeriac-pending-${id}`]]);
  t.equal(celeryKey, 0, "no Celery key: a Python worker never reads a PENDING it did not write");
  t.ok(typeof registration === 'number' && registration > 0, 'the registration expires with the task record');
  await r.storeResult(id, 'STARTED', meta(id, 'STARTED'), json);
  t.same(await redisCommands(redis.port, [['EXISTS', `celeriac-pending-${id}`]]), [0], 'the first state stored ends the registration');
  await r.storeResult(id, 'PENDING');
  t.equal((await r.getResult(id))?.state, 'STARTED', 'a later PENDING registration changes nothing');
  t.equal((await r.getResult(id))?.state, 'STARTED', 'non-final over non-final');
  await r.storeResult(id, 'FAILURE', meta(id, 'FAILURE'), json);
  for (const late of ['STARTED', 'RETRY', 'PENDING']) await r.storeResult(id, late, meta(id, late), json);
  t.equal((await r.getResult(id))?.state, 'FAILURE', 'late STARTED / RETRY / PENDING dropped');
  await r.storeResult(id, 'SUCCESS', meta(id, 'SUCCESS', 1), json);
  t.equal((await r.getResult(id))?.state, 'SUCCESS', 'a final state over a final one (a task run again) is stored');
  const revoked = unique('revoked');
  await r.revoke(revoked);
  t.equal((await r.getResult(revoked))?.contentType, 'application/x-msgpack', 'REVOKED meta in the app serializer');
  await t.rejects(r.storeResult(id, 'DONE'), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(r.storeResult('', 'SUCCESS'), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(r.storeResult(id, 'SUCCESS', undefined, { expires: -1 }), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('waitResult is pushed: it resolves on the store, from another client, long before its timeout', async (t) => {
  const writer = await open(t);
  const reader = await open(t);
  const id = unique('wait');
  await writer.storeResult(id, 'PENDING');
  const started = Date.now();
  const waiting = reader.waitResult(id, 30_000);
  let settled = false;
  void waiting.then(() => { settled = true; });
  await sleep(100);
  await writer.storeResult(id, 'STARTED', meta(id, 'STARTED'), json);
  await sleep(100);
  t.notOk(settled, 'a non-final state does not end the wait');
  await writer.storeResult(id, 'SUCCESS', meta(id, 'SUCCESS', 42), json);
  const rec = await waiting;
  t.equal(rec?.state, 'SUCCESS');
  t.ok(Date.now() - started < 10_000, 'answered by the store, not the timeout');
  // Already final, unknown, and a timeout answer with the record as it is.
  t.equal((await reader.waitResult(id, 30_000))?.state, 'SUCCESS');
  t.equal(await reader.waitResult(unique('unknown'), 30_000), null, 'an unknown id is answered at once');
  // close() ends the waits in progress.
  const closing = await openRedisResults(redis.url);
  const open1 = unique('open');
  await writer.storeResult(open1, 'PENDING');
  const cut = closing.waitResult(open1, 60_000).then(() => null, (e: unknown) => e);
  await sleep(50);
  await closing.close();
  t.match(await cut, { code: 'ERR_CONNECTION_CLOSED' }, 'a wait ends with the backend');
  const pending = unique('pending');
  await writer.storeResult(pending, 'PENDING');
  t.equal((await reader.waitResult(pending, 150))?.state, 'PENDING', 'after the timeout: the record as it is');
  // Many waits on one key share one subscription and all hear the store.
  const many = unique('many');
  await writer.storeResult(many, 'PENDING');
  const waits = Array.from({ length: 20 }, () => reader.waitResult(many, 30_000));
  await sleep(50);
  await writer.storeResult(many, 'FAILURE', meta(many, 'FAILURE'), json);
  t.same((await Promise.all(waits)).map((w) => w?.state), Array(20).fill('FAILURE'));
});

t.test('forget and expiry: the key is gone and the id unknown', async (t) => {
  const r = await open(t);
  const id = unique('forget');
  await r.storeResult(id, 'SUCCESS', meta(id, 'SUCCESS'), json);
  await r.forgetResult(id);
  t.equal(await r.getResult(id), null);
  const short = unique('short');
  await r.storeResult(short, 'SUCCESS', meta(short, 'SUCCESS'), { ...json, expires: 150 });
  t.equal((await r.getResult(short))?.state, 'SUCCESS');
  await untilAsync(async () => (await r.getResult(short)) === null, 5_000, 'the result to expire');
  const [exists] = await redisCommands(redis.port, [['EXISTS', `celery-task-meta-${short}`]]);
  t.equal(exists, 0, 'Redis dropped the key');
});

/**
 * A broker-server transport paired with the Redis backend, a queue its chord callbacks go to, and
 * a second pair on the same broker and Redis (another worker).
 */
async function pairWithBroker(t: Test): Promise<{ link: TaskLink; other: TaskLink; queue: string; got: Delivery[] }> {
  const broker = await startTestBroker(t);
  const [{ link }, { link: other }] = await Promise.all([1, 2].map(() => openBackends({ broker: broker.url, resultBackend: redis.url, options: { reconnect: false } })));
  t.teardown(() => Promise.all([link!.close(), other!.close()]));
  const queue = unique('callbacks');
  await link!.transport.assertQueue(queue);
  const got: Delivery[] = [];
  await link!.transport.consume(queue, (m) => { got.push(m); m.ack(); });
  return { link: link!, other: other!, queue, got };
}

const callbackTo = (queue: string, body: string, track?: string): FinishPublish => ({
  exchange: '', routingKey: queue, body: Buffer.from(body), ...(track === undefined ? {} : { track: { taskId: track } }),
});

t.test('a group counts each member once under concurrent stores from two clients; its callback is published once, through the transport', async (t) => {
  const { link, other: otherLink, queue, got } = await pairWithBroker(t);
  t.notOk(link.atomic, 'ws:// + redis:// finishes in steps');
  const other = otherLink.results;
  const gid = unique('group');
  const members = Array.from({ length: 6 }, (_, i) => `${gid}-m${i}`);
  const bodyId = unique('body');
  await link.results.declareGroup(gid, members, { callback: callbackTo(queue, 'chord body', bodyId), expires: 60_000 });
  t.equal((await link.results.getResult(bodyId))?.state, 'PENDING', "the callback's task is registered PENDING");
  await t.rejects(link.results.declareGroup(gid, ['x']), { code: 'ERR_PRECONDITION_FAILED' });

  // Every member stored final several times, from both clients at once, the last ones in a race.
  const stores: Promise<void>[] = [];
  for (const m of members) {
    for (const client of [link.results, other, link.results, other]) stores.push(client.storeResult(m, 'SUCCESS', meta(m, 'SUCCESS', m), json));
  }
  await Promise.all(stores);
  await until(() => got.length >= 1, 5_000, 'the chord callback');
  await sleep(300); // a second copy would arrive by now
  t.equal(got.length, 1, 'published exactly once');
  t.equal(got[0]!.body.toString(), 'chord body');

  const g = await other.getGroup(gid);
  t.same(g?.members, members, 'members in group order');
  t.equal(g?.done, members.length);
  t.same(g?.results.map((r) => r?.state), Array(6).fill('SUCCESS'));
  const [kind, card, size] = await redisCommands(redis.port, [['TYPE', `celery-taskset-meta-${gid}.j`], ['ZCARD', `celery-taskset-meta-${gid}.j`], ['GET', `celery-taskset-meta-${gid}.s`]]);
  t.same([kind, card, size], ['zset', 6, '6'], "Celery's chord keys: .j (one entry per member) and .s");
  const [doc] = await redisCommands(redis.port, [['GET', `celery-taskset-meta-${gid}`]]);
  t.same(JSON.parse(doc as string), { result: [[gid, null], members.map((m) => [[m, null], null])] }, "Celery's saved GroupResult");
  t.equal(await other.getGroup(unique('nogroup')), null);
});

t.test('members final before the declare count at once (the declare publishes); a revoke completes a group too', async (t) => {
  const { link, queue, got } = await pairWithBroker(t);
  const early = unique('early');
  const ids = [`${early}-a`, `${early}-b`];
  for (const id of ids) await link.results.storeResult(id, 'SUCCESS', meta(id, 'SUCCESS'), json);
  await link.results.declareGroup(early, ids, { callback: callbackTo(queue, 'early') });
  await until(() => got.length === 1, 5_000, 'the callback of a group complete at its declare');

  const rev = unique('rev');
  const members = [`${rev}-a`, `${rev}-b`];
  await link.results.declareGroup(rev, members, { callback: callbackTo(queue, 'revoked member') });
  await link.results.storeResult(members[0]!, 'FAILURE', meta(members[0]!, 'FAILURE'), json);
  await link.results.revoke(members[1]!);
  await until(() => got.length === 2, 5_000, 'the callback of a group completed by a revoke');
  t.equal(got[1]!.body.toString(), 'revoked member');
  t.same((await link.results.getGroup(rev))?.results.map((r) => r?.state), ['FAILURE', 'REVOKED']);

  // A group of more members than one declare step takes.
  const big = unique('big');
  const many = Array.from({ length: 2_500 }, (_, i) => `${big}-${i}`);
  await link.results.declareGroup(big, many, { callback: callbackTo(queue, 'big') });
  await Promise.all(many.map((m) => link.results.storeResult(m, 'SUCCESS', meta(m, 'SUCCESS'), json)));
  await until(() => got.length === 3, 10_000, 'the callback of a 2,500-member group');
  t.equal((await link.results.getGroup(big))?.done, 2_500);
});

t.test('an app on ws:// + redis://: broker-server carries the messages, Redis the results; the Connection and beat store are broker-server\'s', async (t) => {
  const broker = await startTestBroker(t);
  const app = new Celeriac({ broker: broker.url, resultBackend: redis.url, taskDefaultQueue: unique('ws-redis') });
  t.teardown(() => app.close());
  const add = app.task('tasks.add', (a: number, b: number) => a + b);
  const sum = app.task('tasks.sum', (xs: number[]) => xs.reduce((p, q) => p + q, 0));
  const worker = app.worker({ log: () => undefined });
  t.teardown(() => worker.close({ force: true }));
  await worker.start();
  const r = await add.delay(20, 22);
  t.equal(await r.get({ timeout: 10_000 }), 42);
  const [raw] = await redisCommands(redis.port, [['GET', `celery-task-meta-${r.id}`]]);
  t.match(JSON.parse(raw as string), { status: 'SUCCESS', result: 42 }, 'the result is in Redis');
  t.equal(await (await app.connection()).getResult(r.id), null, 'not in broker-server');
  t.equal(await (await chord([add.s(1, 1), add.s(2, 2)], sum.s()).delay()).get({ timeout: 10_000 }), 6, 'a chord: counted in Redis, the body published through broker-server');
  const { link, store } = await app.openBeat();
  t.ok(store !== undefined, "beat keeps its store in broker-server");
  await link.close();
});

t.test('a callback whose publish failed, or whose claimer died, is sent by the next store of a member', async (t) => {
  const { link, queue, got } = await pairWithBroker(t);
  // A backend paired with a transport that refuses the publish: the store rejects, the claim is given back.
  const refusing = await open(t, { publish: () => Promise.reject(new CeleriacError('ERR_CONNECTION_CLOSED', 'transport down')) });
  const gid = unique('failing');
  await link.results.declareGroup(gid, [`${gid}-a`], { callback: callbackTo(queue, 'after a failed publish') });
  await t.rejects(refusing.storeResult(`${gid}-a`, 'SUCCESS', meta(`${gid}-a`, 'SUCCESS'), json), { code: 'ERR_CONNECTION_CLOSED' });
  t.equal(got.length, 0);
  // The task is delivered again (its ack never went out) and stores again: now the callback goes.
  await link.results.storeResult(`${gid}-a`, 'SUCCESS', meta(`${gid}-a`, 'SUCCESS'), json);
  await until(() => got.length === 1, 5_000, 'the callback, sent by the second store');

  // A claimer that died: its claim is held until its lease runs out (set in the past here).
  const dead = unique('dead');
  const never = await open(t, { publish: () => new Promise<void>(() => undefined) });
  await link.results.declareGroup(dead, [`${dead}-a`], { callback: callbackTo(queue, 'after a dead claimer') });
  void never.storeResult(`${dead}-a`, 'SUCCESS', meta(`${dead}-a`, 'SUCCESS'), json).catch(() => undefined);
  const key = `celery-taskset-meta-${dead}.callback`;
  await untilAsync(async () => (await redisCommands(redis.port, [['HGET', key, 'state']]))[0] === 'claimed', 5_000, 'the claim');
  const again = link.results.storeResult(`${dead}-a`, 'SUCCESS', meta(`${dead}-a`, 'SUCCESS'), json);
  await sleep(200);
  t.equal(got.length, 1, 'a store while the claim holds waits for it');
  await redisCommands(redis.port, [['HSET', key, 'until', '0']]);
  // The waiting store re-claims when told or when the lease it was given runs out; a settle by anyone wakes it.
  await redisCommands(redis.port, [['PUBLISH', key, 'released']]);
  await again;
  await until(() => got.length === 2, 5_000, 'the callback, taken over');
  t.equal(got[1]!.body.toString(), 'after a dead claimer');
  t.equal((await redisCommands(redis.port, [['HGET', key, 'state']]))[0], 'sent');
});

t.test('revoke: kept with its expiry, REVOKED for ids not final, checked in one call, pushed to listeners', async (t) => {
  const r = await open(t);
  const listener = await open(t);
  const heard: RevokedInfo[] = [];
  listener.onRevoked((info) => heard.push(info));
  await sleep(100); // the listener subscribes
  const [done, pending, never] = [unique('done'), unique('pending'), unique('never')];
  await r.storeResult(done, 'SUCCESS', meta(done, 'SUCCESS'), json);
  await r.storeResult(pending, 'PENDING', undefined, { expires: 60_000 });
  t.same(await r.revoke([done, pending, never, pending], { terminate: true, signal: 'SIGKILL' }), { revoked: 3 }, 'distinct ids');
  t.equal((await r.getResult(done))?.state, 'SUCCESS', 'a final result is left alone');
  const revoked = await r.getResult(pending);
  t.equal(revoked?.state, 'REVOKED');
  t.ok(revoked?.expiresAt !== undefined && revoked.expiresAt - Date.now() <= 60_000, "REVOKED keeps the record's own expiry");
  t.equal((await r.getResult(never))?.state, 'REVOKED', 'an id never seen is stored REVOKED too');
  t.same((await r.revokedAmong([never, unique('other'), done])).sort(), [never, done].sort());
  await until(() => heard.length === 1, 5_000, 'the revocation pushed');
  t.same(heard[0], { taskIds: [done, pending, never], terminate: true, signal: 'SIGKILL' });

  const brief = unique('brief');
  await r.revoke(brief, { expires: 150 });
  t.same(await r.revokedAmong(brief), [brief]);
  await untilAsync(async () => (await r.revokedAmong(brief)).length === 0, 5_000, 'the revocation to expire');
  const [score] = await redisCommands(redis.port, [['ZSCORE', 'celeriac-revoked', never]]);
  t.ok(Number(score) > Date.now(), 'kept in a sorted set by expiry');
  await t.rejects(r.revoke([]), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(r.revokedAmong(Array(10_001).fill('x')), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('rate slots: one bucket for every client, given-back slots first, an override wins and restarts the bucket', async (t) => {
  const a = await open(t);
  const b = await open(t);
  const key = unique('tasks.limited');
  const rate = { count: 10, intervalMs: 1_000 };
  const slots = [await a.rateReserve(key, rate), await b.rateReserve(key, rate), await a.rateReserve(key, rate), await b.rateReserve(key, rate)];
  t.equal(slots[0]!.delay, 0, 'a new bucket starts full');
  for (let i = 1; i < slots.length; i++) t.equal(Math.round(slots[i]!.slot - slots[i - 1]!.slot), 100, 'slots interval/count apart, whichever client asks');
  const last = slots[3]!;
  await b.rateRelease(key, last.slot);
  await a.rateRelease(key, last.slot);
  const again = await a.rateReserve(key, rate);
  t.equal(again.slot, last.slot, 'a given-back slot goes to the next caller, once');
  t.equal(Math.round((await b.rateReserve(key, rate)).slot - last.slot), 100);
  await a.rateRelease(key, last.slot + 10_000); // never handed out: ignored
  t.equal(Math.round((await a.rateReserve(key, rate)).slot - last.slot), 200);

  await a.rateSet(key, { count: 1, intervalMs: 60_000 });
  t.same(await b.rateOverrides(), [{ key, count: 1, intervalMs: 60_000 }]);
  const first = await b.rateReserve(key, rate);
  t.equal(first.delay, 0, 'the bucket started full again');
  const second = await a.rateReserve(key, rate);
  t.ok(second.delay > 59_000, `the override rate applies: next slot in ${second.delay} ms`);
  await a.rateSet(key, null);
  t.same(await b.rateOverrides(), []);
  t.same(await a.rateReserve(key, { count: 0, intervalMs: 1_000 }).then((s) => s.delay), 0, 'count 0 = no limit');
  await t.rejects(a.rateReserve('', rate), { code: 'ERR_INVALID_ARGUMENT' });
  await t.rejects(a.rateReserve(key, { count: 1, intervalMs: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('across a Redis restart: a wait goes on and sees a store made after it, a listener hears revocations again', async (t) => {
  const own = await startRedis(t);
  const waiter = await openRedisResults(own.url, { reconnectBackoff: { initial: 50, max: 200 } });
  t.teardown(() => waiter.close());
  const id = unique('across');
  await waiter.storeResult(id, 'PENDING');
  const heard: RevokedInfo[] = [];
  waiter.onRevoked((info) => heard.push(info));
  const started = Date.now();
  const waiting = waiter.waitResult(id, 20_000);
  await sleep(100);
  await own.restart(); // empty: nothing is saved
  const writer = await openRedisResults(own.url);
  t.teardown(() => writer.close());
  // The waiter's pub/sub connection comes back; a store after that is pushed to it.
  await sleep(500);
  await writer.storeResult(id, 'SUCCESS', meta(id, 'SUCCESS', 'after'), json);
  t.equal((await waiting)?.state, 'SUCCESS');
  t.ok(Date.now() - started < 15_000, 'pushed after the reconnect, not read at the timeout');
  const victim = unique('victim');
  await writer.revoke(victim);
  await until(() => heard.some((h) => h.taskIds.includes(victim)), 10_000, 'a revocation after the restart');
  // The scripts load again on the new server (NOSCRIPT answered with EVAL).
  await waiter.storeResult(unique('again'), 'SUCCESS', meta('x', 'SUCCESS'), json);
  t.same(await waiter.revokedAmong(victim), [victim]);
});

t.test('a store made while the pub/sub connection was down is read after it comes back', async (t) => {
  const own = await startRedis(t);
  // The waiter reaches Redis through a gate, so the test decides when it gets back.
  const gate = await startTcpGate(t, own.port);
  const waiter = await openRedisResults(`redis://127.0.0.1:${gate.port}/0`, { reconnectBackoff: { initial: 50, max: 100 } });
  t.teardown(() => waiter.close());
  const id = unique('missed');
  await waiter.storeResult(id, 'PENDING');
  const started = Date.now();
  const waiting = waiter.waitResult(id, 20_000);
  await sleep(100);
  gate.shut();
  await own.restart(); // drops the waiter's connections; it cannot come back through the shut gate
  // Stored while the waiter is away: its PUBLISH reaches nobody.
  await redisCommands(own.port, [['SET', `celery-task-meta-${id}`, meta(id, 'SUCCESS', 'while away').toString()]]);
  await sleep(300);
  gate.open();
  t.equal((await waiting)?.state, 'SUCCESS', 'read again after the reconnect');
  t.ok(Date.now() - started < 15_000, 'by the read after the reconnect, not by the timeout');
});

t.test('connection failures are coded: unreachable, wrong password, Redis gone with a bounded request', async (t) => {
  const port = await freePort();
  const err = await openRedisResults(`redis://127.0.0.1:${port}/0`).catch((e: unknown) => e);
  t.ok(err instanceof CeleriacError && err.code === 'ERR_CONNECTION_CLOSED', String(err));
  t.ok(isUnreachable(err), 'a retry may help (isUnreachable)');

  const locked = await startRedis(t, { password: 'right' });
  const refused = await openRedisResults(`redis://:badsecret@127.0.0.1:${locked.port}/0`).catch((e: unknown) => e);
  t.ok(refused instanceof CeleriacError && refused.code === 'ERR_ACCESS_REFUSED', String(refused));
  t.notMatch((refused as Error).message, /badsecret/, 'the password is not shown');
  t.notOk(isUnreachable(refused));
  const ok = await openRedisResults(locked.url);
  t.teardown(() => ok.close());
  await ok.storeResult('with-auth', 'PENDING');

  const own = await startRedis(t);
  const r = await openRedisResults(own.url, { requestTimeout: 300 });
  t.teardown(() => r.close());
  await own.stop();
  const down = await r.storeResult(unique('down'), 'PENDING').catch((e: unknown) => e);
  t.ok(down instanceof CeleriacError && ['ERR_TIMEOUT', 'ERR_CONNECTION_CLOSED'].includes(down.code), String(down));
  await own.restart();
  await untilAsync(async () => r.storeResult(unique('back'), 'PENDING').then(() => true, () => false), 10_000, 'the client to reconnect');
});
