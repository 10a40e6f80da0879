// The BrokerStore conformance suite: what any store must do, run here against SQLite in
// memory and on a file. A new store implementation runs `storeConformance` with its factory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { encodeChunk, openSqliteStore } from '../../server/store/index.js';
import type { BrokerStore, StoredEvent, StoredMessage } from '../../server/store/index.js';

/** How the suite gets stores: `open()` again on a persistent fixture sees the same data. */
export interface StoreFixture {
  open(): BrokerStore;
  /** True when a store opened again after close() still has the data (a file). */
  persistent: boolean;
}

/** Makes a fresh, empty fixture for one test; registers its own teardown on `t`. */
export type StoreFactory = (t: Test) => StoreFixture;

let nextName = 0;
/** Unique per test, so tests never see each other's entities. */
const unique = (prefix: string): string => `${prefix}-${process.pid}-${++nextName}`;

function msg(id: number, queueId: number, extra: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id,
    queueId,
    exchange: 'tasks',
    routingKey: `task.${id}`,
    body: new TextEncoder().encode(`body-${id}`),
    props: null,
    priority: 0,
    readyAt: 0,
    expiresAt: 0,
    deliveryCount: 0,
    lane: 0,
    ...extra,
  };
}

const ids = (list: StoredMessage[]): number[] => list.map((m) => m.id);

/** Opens a store that closes itself at the end of the test. */
function openFor(t: Test, fixture: StoreFixture): BrokerStore {
  const store = fixture.open();
  t.teardown(() => store.close());
  return store;
}

function newQueue(store: BrokerStore, vhost = '/'): { id: number; name: string } {
  const name = unique('q');
  return { id: store.saveQueue({ id: 0, vhost, name, autoDelete: false, options: { durable: true } }), name };
}

/** Runs every conformance test against stores from `factory`. */
export function storeConformance(t: Test, factory: StoreFactory): void {
  t.test('empty store', async (t) => {
    const store = openFor(t, factory(t));
    t.same(store.loadTopology(), { exchanges: [], queues: [], bindings: [], exchangeBindings: [] });
    t.equal(store.maxMessageId(), 0);
    t.equal(store.countMessages(1), 0);
    t.same(store.loadMessages(1, 0, 10), []);
  });

  t.test('exchanges: save, update, load, delete (with their bindings)', async (t) => {
    const store = openFor(t, factory(t));
    const name = unique('ex');
    store.saveExchange({ vhost: '/', name, type: 'topic', autoDelete: false, internal: false, arguments: { a: 1 } });
    store.saveExchange({ vhost: 'other', name, type: 'fanout', autoDelete: true, internal: true, arguments: {} });
    // Saving again updates in place.
    store.saveExchange({ vhost: '/', name, type: 'direct', autoDelete: true, internal: false, arguments: { b: 'x' } });
    t.same(store.loadTopology().exchanges, [
      { vhost: '/', name, type: 'direct', autoDelete: true, internal: false, arguments: { b: 'x' } },
      { vhost: 'other', name, type: 'fanout', autoDelete: true, internal: true, arguments: {} },
    ]);

    const q = newQueue(store);
    store.saveBinding({ vhost: '/', exchange: name, queue: q.name, pattern: 'a.#', arguments: {} });
    store.saveBinding({ vhost: 'other', exchange: name, queue: q.name, pattern: 'a.#', arguments: {} });
    store.deleteExchange('/', name);
    const topo = store.loadTopology();
    t.same(topo.exchanges.map((e) => e.vhost), ['other']);
    t.same(topo.bindings, [{ vhost: 'other', exchange: name, queue: q.name, pattern: 'a.#', arguments: {} }]);
    store.deleteExchange('/', 'never-existed');
  });

  t.test('queues: ids assigned, stable on re-save, never reused', async (t) => {
    const store = openFor(t, factory(t));
    const a = unique('qa');
    const b = unique('qb');
    const idA = store.saveQueue({ id: 0, vhost: '/', name: a, autoDelete: false, options: { durable: true } });
    const idB = store.saveQueue({ id: 0, vhost: '/', name: b, autoDelete: true, options: { maxLength: 10 } });
    const idA2 = store.saveQueue({ id: 0, vhost: 'v2', name: a, autoDelete: false, options: {} });
    t.ok(idA > 0 && idB > 0 && idA2 > 0);
    t.equal(new Set([idA, idB, idA2]).size, 3, 'distinct ids, per (vhost, name)');
    t.equal(store.saveQueue({ id: 0, vhost: '/', name: a, autoDelete: true, options: { x: 1 } }), idA, 're-save by name keeps the id');
    t.equal(store.saveQueue({ id: idB, vhost: '/', name: b, autoDelete: true, options: { maxLength: 20 } }), idB, 're-save by id');
    t.same(store.loadTopology().queues, [
      { id: idA, vhost: '/', name: a, autoDelete: true, options: { x: 1 } },
      { id: idB, vhost: '/', name: b, autoDelete: true, options: { maxLength: 20 } },
      { id: idA2, vhost: 'v2', name: a, autoDelete: false, options: {} },
    ]);
    store.deleteQueue(idB);
    const idC = store.saveQueue({ id: 0, vhost: '/', name: b, autoDelete: false, options: {} });
    t.ok(idC > idB, 'a deleted queue id is not handed out again');
  });

  t.test('bindings: idempotent save, identity includes arguments, exact delete', async (t) => {
    const store = openFor(t, factory(t));
    const ex = unique('ex');
    const q = newQueue(store);
    const plain = { vhost: '/', exchange: ex, queue: q.name, pattern: 'k', arguments: {} };
    const withArgs = { vhost: '/', exchange: ex, queue: q.name, pattern: 'k', arguments: { 'x-match': 'all', b: 2, a: 1 } };
    store.saveBinding(plain);
    store.saveBinding(plain);
    store.saveBinding(withArgs);
    // Same arguments in another key order are the same binding.
    store.saveBinding({ ...withArgs, arguments: { a: 1, b: 2, 'x-match': 'all' } });
    t.equal(store.loadTopology().bindings.length, 2);
    store.deleteBinding({ ...withArgs, arguments: { b: 2, 'x-match': 'all', a: 1 } });
    t.same(store.loadTopology().bindings, [plain]);
    store.deleteBinding({ ...plain, pattern: 'other' });
    t.same(store.loadTopology().bindings, [plain], 'deleting a binding that does not exist changes nothing');
  });

  t.test('exchange bindings: idempotent save, identity includes arguments, exact delete, gone with either exchange', async (t) => {
    const store = openFor(t, factory(t));
    const [src, dst, other] = [unique('src'), unique('dst'), unique('other')];
    const plain = { vhost: '/', source: src, destination: dst, pattern: 'a.#', arguments: {} };
    const withArgs = { ...plain, arguments: { 'x-match': 'any', b: 2 } };
    store.saveExchangeBinding(plain);
    store.saveExchangeBinding(plain);
    store.saveExchangeBinding(withArgs);
    store.saveExchangeBinding({ ...withArgs, arguments: { b: 2, 'x-match': 'any' } });
    t.equal(store.loadTopology().exchangeBindings.length, 2);
    store.deleteExchangeBinding({ ...withArgs, arguments: { b: 2, 'x-match': 'any' } });
    t.same(store.loadTopology().exchangeBindings, [plain]);
    store.saveExchangeBinding({ vhost: '/', source: other, destination: src, pattern: '', arguments: {} });
    store.saveExchangeBinding({ vhost: 'v2', source: src, destination: dst, pattern: '', arguments: {} });
    // Deleting an exchange drops the bindings it is the source of and those it is the destination of, in its vhost.
    store.deleteExchange('/', src);
    t.same(store.loadTopology().exchangeBindings, [{ vhost: 'v2', source: src, destination: dst, pattern: '', arguments: {} }]);
  });

  t.test('applyBatch: inserts, then counts, then deletes', async (t) => {
    const store = openFor(t, factory(t));
    const q = newQueue(store);
    store.applyBatch({
      inserts: [msg(1, q.id), msg(2, q.id), msg(3, q.id)],
      counts: [{ id: 1, deliveryCount: 2 }, { id: 3, deliveryCount: 5 }],
      deletes: [3],
    });
    const rows = store.loadMessages(q.id, 0, 10);
    t.same(ids(rows), [1, 2]);
    t.equal(rows[0]?.deliveryCount, 2, 'a count update of a row inserted in the same batch applies');
    t.equal(rows[1]?.deliveryCount, 0);
    store.applyBatch({ inserts: [], counts: [{ id: 2, deliveryCount: 1 }], deletes: [1, 999] });
    t.same(store.loadMessages(q.id, 0, 10).map((m) => [m.id, m.deliveryCount]), [[2, 1]]);
    store.applyBatch({ inserts: [], counts: [], deletes: [] });
  });

  t.test('a failing batch applies nothing', async (t) => {
    const store = openFor(t, factory(t));
    const q = newQueue(store);
    store.applyBatch({ inserts: [msg(1, q.id), msg(2, q.id)], counts: [], deletes: [] });
    t.throws(() =>
      store.applyBatch({
        inserts: [msg(10, q.id), msg(1, q.id)], // 1 exists: the primary key refuses it
        counts: [{ id: 2, deliveryCount: 9 }],
        deletes: [2],
      }),
    );
    const rows = store.loadMessages(q.id, 0, 10);
    t.same(ids(rows), [1, 2], 'neither the new insert nor the delete happened');
    t.equal(rows[1]?.deliveryCount, 0, 'the count update did not happen');
    t.equal(store.maxMessageId(), 2);
    // The store is still usable after a failed batch.
    store.applyBatch({ inserts: [msg(10, q.id)], counts: [], deletes: [] });
    t.same(ids(store.loadMessages(q.id, 0, 10)), [1, 2, 10]);
  });

  t.test('loadMessages: id order, afterId, limit, per queue', async (t) => {
    const store = openFor(t, factory(t));
    const a = newQueue(store);
    const b = newQueue(store);
    // Interleaved queues, inserted out of id order.
    const inserts = [7, 3, 1, 9, 5, 2, 4, 6, 8, 10].map((id) => msg(id, id % 2 === 1 ? a.id : b.id));
    store.applyBatch({ inserts, counts: [], deletes: [] });
    t.same(ids(store.loadMessages(a.id, 0, 100)), [1, 3, 5, 7, 9]);
    t.same(ids(store.loadMessages(b.id, 0, 100)), [2, 4, 6, 8, 10]);
    const pages: number[][] = [];
    let after = 0;
    for (;;) {
      const page = store.loadMessages(a.id, after, 2);
      if (page.length === 0) break;
      pages.push(ids(page));
      after = page[page.length - 1]!.id;
    }
    t.same(pages, [[1, 3], [5, 7], [9]]);
    t.same(ids(store.loadMessages(a.id, 4, 100)), [5, 7, 9], 'afterId need not be an id of the queue');
    t.same(store.loadMessages(a.id, 0, 0), []);
    t.same(store.loadMessages(a.id, 9, 10), []);
  });

  t.test('loadLane: one lane of one queue in id order; loadDelayed: due-time order; laneCounts', async (t) => {
    const store = openFor(t, factory(t));
    const a = newQueue(store);
    const b = newQueue(store);
    store.applyBatch({
      inserts: [
        msg(1, a.id, { lane: 2, priority: 2 }), msg(2, a.id, { lane: 0 }), msg(3, a.id, { lane: 2, priority: 7 }),
        msg(4, b.id, { lane: 2, priority: 2 }), msg(5, a.id, { lane: 2, priority: 2 }),
        // Delayed rows, inserted out of due order; three share one due time (one eta for a batch).
        msg(6, a.id, { lane: -1, readyAt: 3_000 }), msg(7, a.id, { lane: -1, readyAt: 1_000 }), msg(8, a.id, { lane: -1, readyAt: 2_000 }),
        msg(9, a.id, { lane: -1, readyAt: 2_000 }), msg(10, a.id, { lane: -1, readyAt: 2_000 }), msg(11, b.id, { lane: -1, readyAt: 1_500 }),
      ],
      counts: [],
      deletes: [],
    });
    t.same(ids(store.loadLane(a.id, 2, 0, 10)), [1, 3, 5], 'only lane 2 of queue a');
    t.same(ids(store.loadLane(a.id, 2, 1, 1)), [3], 'after the cursor, up to the limit');
    t.same(ids(store.loadLane(a.id, 0, 0, 10)), [2]);
    t.same(store.loadLane(a.id, 1, 0, 10), []);
    t.same(ids(store.loadDelayed(a.id, { readyAt: 0, id: 0 }, 100)), [7, 8, 9, 10, 6], 'due order, id order within a due time');
    const pages: number[][] = [];
    let after = { readyAt: 0, id: 0 };
    for (;;) {
      const page = store.loadDelayed(a.id, after, 2);
      if (page.length === 0) break;
      pages.push(ids(page));
      const last = page[page.length - 1]!;
      after = { readyAt: last.readyAt, id: last.id };
    }
    t.same(pages, [[7, 8], [9, 10], [6]], 'pages split a shared due time without repeating or skipping');
    t.same(ids(store.loadDelayed(b.id, { readyAt: 0, id: 0 }, 10)), [11]);
    const counts = store.laneCounts(a.id).sort((x, y) => x.lane - y.lane);
    t.same(counts, [{ lane: -1, count: 5, maxReadyAt: 3_000 }, { lane: 0, count: 1, maxReadyAt: 0 }, { lane: 2, count: 3, maxReadyAt: 0 }]);
    t.equal(store.deleteLaneAfter(a.id, 2, 1), 2, 'the tail of lane 2 after id 1');
    t.same(ids(store.loadMessages(a.id, 0, 100)), [1, 2, 6, 7, 8, 9, 10], 'other lanes and delayed rows untouched');
    t.same(ids(store.loadLane(b.id, 2, 0, 10)), [4], 'other queues untouched');
  });

  t.test('message fields round trip: body bytes exact, props null vs blob', async (t) => {
    const store = openFor(t, factory(t));
    const q = newQueue(store);
    const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const props = Uint8Array.from([0x81, 0xa1, 0x61, 0x00, 0xff]);
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
    const full: StoredMessage = {
      id: 1, queueId: q.id, exchange: 'ex.with.dots', routingKey: 'rk ünïcode', body: allBytes, props,
      priority: 9, readyAt: 1_700_000_000_123, expiresAt: 1_800_000_000_456, deliveryCount: 3, lane: -1,
    };
    // A view into a larger buffer: only its own bytes may be stored.
    const backing = Uint8Array.from([9, 9, 1, 2, 3, 9, 9]);
    store.applyBatch({
      inserts: [
        full,
        msg(2, q.id, { body: new Uint8Array(0), props: null }),
        msg(3, q.id, { body: big, props: new Uint8Array(0) }),
        msg(4, q.id, { body: backing.subarray(2, 5) }),
      ],
      counts: [],
      deletes: [],
    });
    const [m1, m2, m3, m4] = store.loadMessages(q.id, 0, 10);
    t.same({ ...m1!, body: [...m1!.body], props: [...m1!.props!] }, { ...full, body: [...allBytes], props: [...props] });
    t.ok(m1!.body instanceof Uint8Array);
    t.equal(m2!.body.length, 0);
    t.equal(m2!.props, null, 'null props stay null');
    t.ok(Buffer.from(m3!.body).equals(Buffer.from(big)), '1 MiB body exact');
    t.not(m3!.props, null, 'empty props blob is not null');
    t.equal(m3!.props!.length, 0);
    t.same([...m4!.body], [1, 2, 3]);
  });

  t.test('countMessages and purgeQueue', async (t) => {
    const store = openFor(t, factory(t));
    const a = newQueue(store);
    const b = newQueue(store);
    store.applyBatch({ inserts: [msg(1, a.id), msg(2, a.id), msg(3, b.id), msg(4, a.id)], counts: [], deletes: [] });
    t.equal(store.countMessages(a.id), 3);
    t.equal(store.countMessages(b.id), 1);
    t.equal(store.purgeQueue(a.id), 3);
    t.equal(store.countMessages(a.id), 0);
    t.equal(store.countMessages(b.id), 1, 'other queues untouched');
    t.equal(store.purgeQueue(a.id), 0);
    t.equal(store.maxMessageId(), 4, 'purging does not lower the id high-water mark');
  });

  t.test('deleteQueue removes the queue, its bindings and its messages only', async (t) => {
    const store = openFor(t, factory(t));
    const ex = unique('ex');
    const a = newQueue(store);
    const b = newQueue(store);
    // Same queue name in another vhost: its bindings must survive.
    const aElsewhere = store.saveQueue({ id: 0, vhost: 'v2', name: a.name, autoDelete: false, options: {} });
    store.saveBinding({ vhost: '/', exchange: ex, queue: a.name, pattern: 'x', arguments: {} });
    store.saveBinding({ vhost: '/', exchange: ex, queue: a.name, pattern: 'y', arguments: {} });
    store.saveBinding({ vhost: '/', exchange: ex, queue: b.name, pattern: 'x', arguments: {} });
    store.saveBinding({ vhost: 'v2', exchange: ex, queue: a.name, pattern: 'x', arguments: {} });
    store.applyBatch({ inserts: [msg(1, a.id), msg(2, b.id), msg(3, a.id), msg(4, aElsewhere)], counts: [], deletes: [] });
    store.deleteQueue(a.id);
    const topo = store.loadTopology();
    t.same(topo.queues.map((q) => q.id), [b.id, aElsewhere]);
    t.same(topo.bindings.map((x) => `${x.vhost}:${x.queue}:${x.pattern}`).sort(), [`/:${b.name}:x`, `v2:${a.name}:x`]);
    t.equal(store.countMessages(a.id), 0);
    t.same(ids(store.loadMessages(b.id, 0, 10)), [2]);
    t.same(ids(store.loadMessages(aElsewhere, 0, 10)), [4]);
    store.deleteQueue(987654);
  });

  t.test('maxMessageId is the highest id ever stored', async (t) => {
    const fixture = factory(t);
    const store = fixture.open();
    const q = newQueue(store);
    store.applyBatch({ inserts: [msg(5, q.id), msg(3, q.id)], counts: [], deletes: [] });
    t.equal(store.maxMessageId(), 5);
    store.applyBatch({ inserts: [], counts: [], deletes: [5, 3] });
    t.equal(store.maxMessageId(), 5, 'still 5 after every message is gone');
    store.close();
    if (!fixture.persistent) return;
    const again = openFor(t, fixture);
    t.equal(again.maxMessageId(), 5, 'and after a reopen');
  });

  t.test('everything survives a reopen', async (t) => {
    const fixture = factory(t);
    if (!fixture.persistent) {
      t.pass('not a persistent store');
      return;
    }
    const store = fixture.open();
    const ex = unique('ex');
    store.saveExchange({ vhost: '/', name: ex, type: 'topic', autoDelete: false, internal: false, arguments: {} });
    const q = newQueue(store);
    const q2 = newQueue(store);
    store.saveBinding({ vhost: '/', exchange: ex, queue: q.name, pattern: '#', arguments: {} });
    store.applyBatch({
      inserts: [msg(1, q.id, { props: Uint8Array.from([1, 2]) }), msg(2, q.id), msg(3, q2.id)],
      counts: [{ id: 2, deliveryCount: 4 }],
      deletes: [],
    });
    const topoBefore = store.loadTopology();
    const rowsBefore = store.loadMessages(q.id, 0, 10);
    store.close();

    const again = openFor(t, fixture);
    t.same(again.loadTopology(), topoBefore);
    t.same(again.loadMessages(q.id, 0, 10), rowsBefore);
    t.equal(again.saveQueue({ id: 0, vhost: '/', name: q.name, autoDelete: false, options: {} }), q.id, 'queue ids stable across reopen');
    const q3 = newQueue(again);
    t.ok(q3.id > q2.id, 'new ids continue after the old ones');
    t.equal(again.maxMessageId(), 3);
  });

  t.test('revocations: upsert, load live ones, delete expired, survive a reopen', async (t) => {
    const fixture = factory(t);
    const store = fixture.open();
    const [a, b, c] = [unique('t'), unique('t'), unique('t')];
    store.applyBatch({
      inserts: [], counts: [], deletes: [],
      revocations: [
        { vhost: '/', taskId: a, expiresAt: 1_000, terminate: false },
        { vhost: '/', taskId: b, expiresAt: 0, terminate: true },
        { vhost: 'v2', taskId: a, expiresAt: 5_000, terminate: false },
      ],
    });
    // Revoking again replaces the row (a later expiry, terminate now asked).
    store.applyBatch({ inserts: [], counts: [], deletes: [], revocations: [{ vhost: '/', taskId: a, expiresAt: 3_000, terminate: true }] });
    const byKey = (list: { vhost: string; taskId: string }[]): string[] => list.map((r) => `${r.vhost}:${r.taskId}`).sort();
    t.same(byKey(store.loadRevocations(2_000)), byKey([{ vhost: '/', taskId: a }, { vhost: '/', taskId: b }, { vhost: 'v2', taskId: a }]));
    t.same(store.loadRevocations(2_000).find((r) => r.vhost === '/' && r.taskId === a), { vhost: '/', taskId: a, expiresAt: 3_000, terminate: true });
    t.same(byKey(store.loadRevocations(4_000)), byKey([{ vhost: '/', taskId: b }, { vhost: 'v2', taskId: a }]), 'expired ones are not loaded');
    t.equal(store.deleteExpiredRevocations(4_000), 1);
    t.equal(store.deleteExpiredRevocations(4_000), 0);
    store.applyBatch({ inserts: [], counts: [], deletes: [], revocations: [{ vhost: '/', taskId: c, expiresAt: 0, terminate: false }] });
    store.close();
    if (!fixture.persistent) return;
    const again = openFor(t, fixture);
    t.same(byKey(again.loadRevocations(4_000)), byKey([{ vhost: '/', taskId: b }, { vhost: '/', taskId: c }, { vhost: 'v2', taskId: a }]), 'and after a reopen');
  });

  t.test('groups: declare, progress in the same batch, open ones, expiry, reopen', async (t) => {
    const fixture = factory(t);
    const store = fixture.open();
    const [g1, g2, g3] = [unique('g'), unique('g'), unique('g')];
    const callback = Uint8Array.from([1, 2, 3]);
    const members = Array.from({ length: 1_000 }, (_, i) => `member-${i}`);
    store.applyBatch({
      inserts: [], counts: [], deletes: [],
      groups: [
        { vhost: '/', groupId: g1, members, done: 0, callback, fired: false, expiresAt: 0 },
        { vhost: '/', groupId: g2, members: ['x'], done: 0, callback: null, fired: false, expiresAt: 10_000 },
        { vhost: '/', groupId: g3, members: ['y'], done: 0, callback, fired: false, expiresAt: 0 },
      ],
      // A progress update of a group declared in the same batch applies after its insert.
      groupProgress: [{ vhost: '/', groupId: g2, done: 1, fired: false }],
    });
    t.same(store.loadGroup('/', g1), { vhost: '/', groupId: g1, members, done: 0, callback, fired: false, expiresAt: 0 });
    t.equal(store.loadGroup('/', g2)?.done, 1);
    t.equal(store.loadGroup('other', g1), null, 'per vhost');
    t.equal(store.loadGroup('/', unique('never')), null);
    store.applyBatch({ inserts: [], counts: [], deletes: [], groupProgress: [{ vhost: '/', groupId: g3, done: 1, fired: false }, { vhost: '/', groupId: g1, done: 7, fired: false }] });
    // Open: still counting (g1), or complete with its callback not fired (g3); g2 is complete without one.
    t.same(store.loadOpenGroups(0).map((g) => g.groupId), [g1, g3]);
    store.applyBatch({ inserts: [], counts: [], deletes: [], groupProgress: [{ vhost: '/', groupId: g3, done: 1, fired: true }] });
    t.same(store.loadOpenGroups(0).map((g) => g.groupId), [g1]);
    t.throws(() => store.applyBatch({
      inserts: [], counts: [], deletes: [],
      groupProgress: [{ vhost: '/', groupId: g1, done: 8, fired: false }],
      groups: [{ vhost: '/', groupId: g2, members: ['z'], done: 0, callback: null, fired: false, expiresAt: 0 }],
    }), 'a second insert of a group fails the batch');
    t.equal(store.loadGroup('/', g1)?.done, 7, 'and nothing of it applied');
    t.equal(store.deleteExpiredGroups(10_000), 1);
    t.equal(store.loadGroup('/', g2), null, 'expired group deleted');
    // Its member list and callback went with it: the id may be declared again.
    store.applyBatch({ inserts: [], counts: [], deletes: [], groups: [{ vhost: '/', groupId: g2, members: ['again'], done: 0, callback: null, fired: false, expiresAt: 0 }] });
    t.same(store.loadGroup('/', g2)?.members, ['again'], 'an expired id declared again');
    store.close();
    if (!fixture.persistent) return;
    const again = openFor(t, fixture);
    t.same(again.loadGroup('/', g1), { vhost: '/', groupId: g1, members, done: 7, callback, fired: false, expiresAt: 0 }, 'after a reopen');
    t.same(again.loadGroup('/', g3)?.fired, true);
  });

  t.test('the event log: append in batches, windows by id, vhost and type, time bisection, pruning, reopen', async (t) => {
    const fixture = factory(t);
    const store = fixture.open();
    const ev = (id: number, vhost = '/', type = 'task-received', at = 1_000 + id): StoredEvent =>
      ({ id, vhost, type, routingKey: type.replace('-', '.'), at, body: new TextEncoder().encode(`{"n":${id}}`) });
    t.same(store.eventLogBounds(), { first: 0, last: 0 });
    store.applyBatch({
      inserts: [], counts: [], deletes: [],
      events: encodeChunk([ev(1), ev(2, 'v2'), ev(3, '/', 'task-failed'), ev(4)]),
    });
    store.applyBatch({ inserts: [], counts: [], deletes: [], events: encodeChunk([ev(5)]) });
    t.same(store.eventLogBounds(), { first: 1, last: 5 });
    const window = (afterId: number, upToId: number, extra: { vhost?: string | null; types?: string[] | null; limit?: number } = {}): number[] =>
      store.readEvents({ vhost: extra.vhost ?? null, afterId, upToId, limit: extra.limit ?? 100, types: extra.types ?? null }).map((e) => e.id);
    t.same(window(0, 5), [1, 2, 3, 4, 5]);
    t.same(window(1, 4), [2, 3, 4], 'after afterId, up to upToId');
    t.same(window(0, 5, { vhost: '/' }), [1, 3, 4, 5]);
    t.same(window(0, 5, { types: ['task-failed'] }), [3]);
    t.same(window(0, 5, { limit: 2 }), [1, 2]);
    t.same(store.readEvents({ vhost: null, afterId: 2, upToId: 3, limit: 1, types: null }), [ev(3, '/', 'task-failed')], 'fields round trip');
    t.equal(store.firstEventAt(1_003), 3);
    t.equal(store.firstEventAt(0), 1);
    t.equal(store.firstEventAt(2_000), null);
    t.same(store.loadEvents([5, 2, 42]).map((e) => e.id), [2, 5], 'by id, kept ones, in id order');
    // Chunks go whole: [1-4] (last stored at 1_004) and [5]. Count bound 2 / age 1_004 keeps [1-4]: its last event is in both bounds.
    t.same(store.pruneEvents(2, 1_004, 100), { deleted: 0, upTo: 0 }, 'a chunk stays while any of its events is kept');
    t.same(store.pruneEvents(4, 0, 100), { deleted: 4, upTo: 4 }, 'and goes once all are beyond the count bound');
    t.same(window(0, 5), [5]);
    t.same(store.pruneEvents(0, 0, 100), { deleted: 0, upTo: 0 }, 'nothing beyond the bounds');
    store.applyBatch({ inserts: [], counts: [], deletes: [], events: encodeChunk([ev(6), ev(7)]) });
    store.applyBatch({ inserts: [], counts: [], deletes: [], events: encodeChunk([ev(8)]) });
    t.same(store.pruneEvents(0, 1_008, 1), { deleted: 1, upTo: 5 }, 'by age; at least one chunk, about `limit` events per call');
    t.same(store.pruneEvents(0, 1_008, 1), { deleted: 2, upTo: 7 }, 'a chunk bigger than `limit` goes whole');
    t.same(window(0, 8), [8]);
    t.throws(() => store.applyBatch({
      inserts: [], counts: [], deletes: [], events: encodeChunk([ev(9)]),
      groups: [{ vhost: '/', groupId: 'g', members: [], done: 0, callback: null, fired: false, expiresAt: 0 }, { vhost: '/', groupId: 'g', members: [], done: 0, callback: null, fired: false, expiresAt: 0 }],
    }), 'a batch that fails...');
    t.same(window(0, 9), [8], '...stores none of its events');
    store.applyBatch({ inserts: [], counts: [], deletes: [], events: encodeChunk([ev(9)]) });
    t.same(window(0, 9), [8, 9], 'and the next append goes where they would have');
    store.close();
    if (!fixture.persistent) return;
    const again = openFor(t, fixture);
    t.same(again.eventLogBounds(), { first: 8, last: 9 }, 'after a reopen');
    again.pruneEvents(9, 0, 100);
    t.same(again.eventLogBounds(), { first: 0, last: 9 }, 'the highest id is remembered when every event is gone');
  });

  t.test('sizeBytes, fileSizes and close', async (t) => {
    const fixture = factory(t);
    const store = fixture.open();
    const q = newQueue(store);
    store.applyBatch({ inserts: [msg(1, q.id, { body: new Uint8Array(64 * 1024) })], counts: [], deletes: [] });
    if (fixture.persistent) t.ok(store.sizeBytes() >= 64 * 1024, 'file + WAL hold the body');
    else t.equal(store.sizeBytes(), 0, 'in memory: 0');
    const { db, wal, events } = store.fileSizes();
    t.equal(db + wal + events, store.sizeBytes(), 'fileSizes() is sizeBytes() apart');
    if (fixture.persistent) t.ok(db > 0 && wal >= 64 * 1024, 'the body is in the WAL until a checkpoint');
    else t.same({ db, wal, events }, { db: 0, wal: 0, events: 0 }, 'in memory: no files');
    t.type(store.location, 'string');
    store.close();
    store.close();
  });
}

t.test('SQLite :memory:', async (t) => {
  storeConformance(t, () => ({
    open: () => openSqliteStore({ file: ':memory:', durability: 'full' }),
    persistent: false,
  }));
});

// The segment directory is named after the data file; a ':memory:' store must not take its name
// for a path and leave ':memory:-events/' in the working directory.
t.test('a :memory: store keeps its events in memory: nothing is written to the working directory', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'celeriac-memory-cwd-'));
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => {
    process.chdir(cwd);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const store = openSqliteStore({ file: ':memory:', durability: 'full' });
  const body = new TextEncoder().encode('{"type":"task-received"}');
  store.applyBatch({ inserts: [], counts: [], deletes: [], events: encodeChunk([{ id: 1, vhost: '/', type: 'task-received', routingKey: 'task.received', at: 1, body }]) });
  store.sync((err) => t.error(err));
  t.same(store.readEvents({ vhost: null, afterId: 0, upToId: 1, limit: 10, types: null }).map((e) => e.id), [1], 'the event is kept');
  store.close();
  t.same(fs.readdirSync(dir), [], 'no file or directory beside a data file that does not exist');
});

for (const durability of ['full', 'process'] as const) {
  t.test(`SQLite file (durability ${durability})`, async (t) => {
    storeConformance(t, (t) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'celeriac-store-'));
      t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
      const file = path.join(dir, 'broker.db');
      return { open: () => openSqliteStore({ file, durability }), persistent: true };
    });
  });
}
