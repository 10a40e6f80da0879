// A data file written before paging lanes existed (schema 3) opens with every message filed in the
// lane the engine would use today: delayed rows apart, a priority queue's rows by priority.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../server/store/schema.js';
import { openSqliteStore } from '../../server/store/index.js';

t.test('schema 3 -> 4: existing messages get their lanes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'old.db');
  const raw = new Database(file);
  raw.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version (version) VALUES (3)');
  for (const m of MIGRATIONS.slice(0, 3)) raw.exec(m);
  raw.prepare('INSERT INTO queues (id, vhost, name, auto_delete, options) VALUES (?, ?, ?, 0, ?)').run(1, '/', 'plain', '{"durable":true}');
  raw.prepare('INSERT INTO queues (id, vhost, name, auto_delete, options) VALUES (?, ?, ?, 0, ?)').run(2, '/', 'prio', '{"durable":true,"maxPriority":3}');
  const insert = raw.prepare(`INSERT INTO messages (id, queue_id, exchange, routing_key, body, props, priority, ready_at, expires_at, delivery_count)
    VALUES (?, ?, '', 'k', x'00', NULL, ?, ?, 0, 0)`);
  insert.run(1, 1, 5, 0); // a priority on a plain queue: lane 0
  insert.run(2, 1, 0, 1_000); // delayed
  insert.run(3, 2, 2, 0);
  insert.run(4, 2, 9, 0); // above maxPriority: clamped to 3
  insert.run(5, 2, -1, 0); // below 0: lane 0
  insert.run(6, 2, 2, 2_000); // delayed in a priority queue: the delayed lane
  raw.close();

  const store = openSqliteStore({ file, durability: 'full' });
  t.teardown(() => store.close());
  const lanes = (queueId: number): [number, number][] =>
    store.loadMessages(queueId, 0, 100).map((m) => [m.id, m.lane]);
  t.same(lanes(1), [[1, 0], [2, -1]]);
  t.same(lanes(2), [[3, 2], [4, 3], [5, 0], [6, -1]]);
  t.same(store.loadLane(2, 3, 0, 10).map((m) => m.id), [4]);
  t.same(store.loadDelayed(2, { readyAt: 0, id: 0 }, 10).map((m) => m.id), [6]);
});

t.test('schema 4 -> 5: a file from before beat opens with empty beat tables, its messages untouched', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'old.db');
  const raw = new Database(file);
  raw.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version (version) VALUES (4)');
  for (const m of MIGRATIONS.slice(0, 4)) raw.exec(m);
  raw.prepare('INSERT INTO queues (id, vhost, name, auto_delete, options) VALUES (1, ?, ?, 0, ?)').run('/', 'plain', '{"durable":true}');
  raw.prepare(`INSERT INTO messages (id, queue_id, exchange, routing_key, body, props, priority, ready_at, expires_at, delivery_count, lane)
    VALUES (1, 1, '', 'k', x'00', NULL, 0, 0, 0, 0, 0)`).run();
  raw.close();

  const store = openSqliteStore({ file, durability: 'full' });
  t.teardown(() => store.close());
  t.same(store.loadBeat(), { entries: [], leases: [], fires: [] });
  t.same(store.loadMessages(1, 0, 10).map((m) => m.id), [1]);
  store.applyBatch({ inserts: [], counts: [], deletes: [], leases: [{ vhost: '/', name: 'beat', holder: 'h', epoch: 1, expiresAt: 5 }] });
  t.match(store.loadBeat().leases, [{ name: 'beat', epoch: 1 }], 'the new tables take rows');
});

t.test('schema 7 -> 8: the event chunks leave SQLite; the highest id stored is kept, so ids keep increasing; exchange bindings stay', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'old.db');
  const raw = new Database(file);
  raw.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version (version) VALUES (7)');
  for (const m of MIGRATIONS.slice(0, 7)) raw.exec(m);
  raw.prepare('INSERT INTO exchange_bindings (vhost, source, destination, pattern, arguments) VALUES (?, ?, ?, ?, ?)').run('/', 'a', 'b', '#', '{}');
  raw.prepare('INSERT INTO events (first_id, last_id, stored_at, events) VALUES (?, ?, ?, ?)').run(1, 40, 1_000, Buffer.alloc(8));
  raw.prepare(`UPDATE meta SET value = 12 WHERE key = 'max_event_id'`).run();
  raw.close();

  const store = openSqliteStore({ file, durability: 'full' });
  t.same(store.eventLogBounds(), { first: 0, last: 40 }, 'no events kept, the highest id remembered');
  store.close(); // the store holds the file's lock while open
  const check = new Database(file, { readonly: true, fileMustExist: true });
  const row = check.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'events'`).get() as { n: number };
  const bindings = check.prepare('SELECT count(*) AS n FROM exchange_bindings').get() as { n: number };
  check.close();
  t.equal(row.n, 0, 'the table is gone');
  t.equal(bindings.n, 1, "migration 7's exchange bindings are kept");
});

t.test('schema 8 -> 9: stored results move to the result log, oldest first, and are found by id', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'old.db');
  const raw = new Database(file);
  raw.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version (version) VALUES (8)');
  for (const m of MIGRATIONS.slice(0, 8)) raw.exec(m);
  const insert = raw.prepare(`INSERT INTO results (vhost, task_id, state, body, content_type, date_done, expires_at)
    VALUES (?, ?, ?, ?, 'application/json', ?, ?)`);
  insert.run('/', 'zz-late', 'SUCCESS', Buffer.from('[1]'), 2_000, 0);
  insert.run('/', 'aa-early', 'FAILURE', Buffer.from('[2]'), 1_000, 9_000);
  insert.run('/', 'mm-pending', 'PENDING', null, 0, 0);
  raw.close();

  const store = openSqliteStore({ file, durability: 'full' });
  t.match(store.loadResult('/', 'zz-late'), { state: 'SUCCESS', dateDone: 2_000, expiresAt: 0 });
  t.same(Buffer.from(store.loadResult('/', 'aa-early')?.body ?? []).toString(), '[2]');
  t.equal(store.loadResult('/', 'mm-pending')?.state, 'PENDING');
  t.equal(store.deleteExpiredResults(9_000), 1, 'the expiry index came along');
  t.equal(store.loadResult('/', 'aa-early'), null);
  store.close();
  const check = new Database(file, { readonly: true, fileMustExist: true });
  const order = check.prepare('SELECT task_id FROM result_log ORDER BY seq').all() as { task_id: string }[];
  const old = check.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'results'`).get() as { n: number };
  check.close();
  t.same(order.map((r) => r.task_id), ['mm-pending', 'zz-late'], 'in the order they were stored');
  t.equal(old.n, 0, 'the keyed table is gone');
});
