// 'full' durability: commits are written at once and fsynced off the event loop; a commit's
// callback runs only after the fsync that covers it.
import t from 'tap';
import { pbkdf2 } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GroupCommit, openSqliteStore, type StoredMessage } from '../../server/store/index.js';

const row = (id: number, queueId: number): StoredMessage => ({
  id, queueId, exchange: '', routingKey: 'q', body: new Uint8Array([id & 0xff]), props: null,
  priority: 0, readyAt: 0, expiresAt: 0, deliveryCount: 0, lane: 0,
});

function tempFile(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'celeriac-walsync-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'b.db');
}

t.test('only full durability on a file needs the async sync', async (t) => {
  const full = openSqliteStore({ file: tempFile(t), durability: 'full' });
  const proc = openSqliteStore({ file: tempFile(t), durability: 'process' });
  const mem = openSqliteStore({ file: ':memory:', durability: 'full' });
  t.equal(full.needsSync, true);
  t.equal(proc.needsSync, false);
  t.equal(mem.needsSync, false);
  await new Promise<void>((resolve, reject) => proc.sync((err) => (err ? reject(err) : resolve())));
  for (const s of [full, proc, mem]) s.close();
});

t.test('callbacks wait for the fsync; commits made meanwhile share the next one', async (t) => {
  const store = openSqliteStore({ file: tempFile(t), durability: 'full' });
  t.teardown(() => store.close());
  let syncs = 0;
  const counted = Object.assign(Object.create(store) as typeof store, {
    applyBatch: store.applyBatch.bind(store),
    sync: (done: (err: Error | null) => void) => { syncs++; store.sync(done); },
    syncNow: store.syncNow.bind(store),
    needsSync: store.needsSync,
  });
  const gc = new GroupCommit(counted);
  const queueId = store.saveQueue({ id: 0, vhost: '/', name: 'q', autoDelete: false, options: {} });
  const done: number[] = [];
  for (let i = 1; i <= 10; i++) gc.insert(row(i, queueId), (err) => { if (err === null) done.push(i); });
  gc.flush();
  t.equal(store.countMessages(queueId), 10, 'committed (readable) at once');
  t.same(done, [], 'but not reported durable before the fsync');
  for (let i = 11; i <= 20; i++) gc.insert(row(i, queueId), (err) => { if (err === null) done.push(i); });
  gc.flush(); // committed while the first fsync runs
  await new Promise<void>((resolve, reject) => {
    const end = Date.now() + 5_000;
    const poll = (): void => { if (done.length === 20) resolve(); else if (Date.now() > end) reject(new Error('no fsync')); else setTimeout(poll, 2); };
    poll();
  });
  t.same(done, Array.from({ length: 20 }, (_, i) => i + 1), 'in commit order');
  t.ok(syncs <= 2, `two commits, at most two fsyncs (${syncs})`);
  gc.close();
});

t.test('close syncs what is still waiting and releases it', async (t) => {
  const store = openSqliteStore({ file: tempFile(t), durability: 'full' });
  const gc = new GroupCommit(store);
  const queueId = store.saveQueue({ id: 0, vhost: '/', name: 'q', autoDelete: false, options: {} });
  const done: (Error | null)[] = [];
  gc.insert(row(1, queueId), (err) => done.push(err));
  gc.close();
  t.same(done, [null]);
  store.close();
});

t.test('after a failed fsync nothing is reported durable again', async (t) => {
  const store = openSqliteStore({ file: tempFile(t), durability: 'full' });
  t.teardown(() => store.close());
  let calls = 0;
  const failingOnce = Object.assign(Object.create(store) as typeof store, {
    applyBatch: store.applyBatch.bind(store),
    sync: (done: (err: Error | null) => void) => { calls++; if (calls === 1) done(new Error('EIO')); else store.sync(done); },
    syncNow: store.syncNow.bind(store),
    needsSync: true,
  });
  const errors: Error[] = [];
  const gc = new GroupCommit(failingOnce, { onError: (e) => errors.push(e) });
  const queueId = store.saveQueue({ id: 0, vhost: '/', name: 'q', autoDelete: false, options: {} });
  const results: (string | null)[] = [];
  const wait = (n: number) => new Promise<void>((resolve) => { const poll = (): void => { if (results.length >= n) resolve(); else setTimeout(poll, 2); }; poll(); });
  gc.insert(row(1, queueId), (err) => results.push(err === null ? null : err.message));
  gc.flush();
  await wait(1);
  gc.insert(row(2, queueId), (err) => results.push(err === null ? null : err.message));
  gc.flush();
  await wait(2);
  t.match(results[0], /fsync failed \(EIO\)/);
  t.match(results[1], /fsync failed/, 'a later successful fsync does not make later commits durable');
  t.equal(errors.length, 1, 'told once');
  gc.insert(row(3, queueId), (err) => results.push(err === null ? null : err.message));
  gc.close();
  t.match(results[2], /fsync failed/, 'nor does close');
});

t.test('the fsync never queues behind a full libuv pool (password hashing, file reads)', async (t) => {
  const store = openSqliteStore({ file: tempFile(t), durability: 'full' });
  t.teardown(() => store.close());
  store.saveQueue({ id: 0, vhost: '/', name: 'q', autoDelete: false, options: {} });
  const sync = (): Promise<void> => new Promise((resolve, reject) => store.sync((err) => (err ? reject(err) : resolve())));
  await sync(); // the WAL exists and the fsync thread is up
  // Take every libuv thread with work that lasts far longer than an fsync; on the pool, the fsync
  // would run only once one of them finished.
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  let hashed = 0;
  const hashes = Array.from({ length: poolSize }, () => new Promise<void>((resolve, reject) => {
    pbkdf2('busy', 'salt', 600_000, 64, 'sha512', (err) => { if (err) reject(err); else { hashed++; resolve(); } });
  }));
  await sync();
  t.equal(hashed, 0, 'the fsync finished while every pool thread was still hashing');
  await Promise.all(hashes);
});
