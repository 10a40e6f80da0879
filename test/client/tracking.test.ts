// The client's bookkeeping without sockets: pending requests (timeouts, drops), unconfirmed
// publishes (confirm, error, re-send, expiry) and the declared topology (order, deletes, renames).
import t from 'tap';
import { monotonicMs } from '../../client/clock.js';
import { Confirms } from '../../client/confirms.js';
import { Requests } from '../../client/requests.js';
import { Topology } from '../../client/topology.js';
import { CeleriacError } from '../../shared/errors.js';
import type { PublishFrame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';

const pub = (id: number): PublishFrame => ({ op: OP.publish, id, exchange: 'x', routingKey: 'k', body: new Uint8Array(1) });
const closed = new CeleriacError('ERR_CONNECTION_CLOSED', 'gone');

t.test('requests: reply, error, timeout', async (t) => {
  // A timeout far longer than the test can stall: only the sweep's clock argument decides.
  const r = new Requests(30_000);
  const a = r.add({ op: OP.purgeQueue, id: 1, name: 'q' }, false);
  const b = r.add({ op: OP.purgeQueue, id: 2, name: 'q' }, false);
  const c = r.add({ op: OP.purgeQueue, id: 3, name: 'q' }, false);
  t.ok(r.resolve(1, { messageCount: 3 }));
  t.notOk(r.resolve(1, null), 'a second reply finds nobody');
  t.ok(r.reject(2, new CeleriacError('ERR_NOT_FOUND', 'no queue')));
  t.same(await a, { messageCount: 3 });
  await t.rejects(b, { code: 'ERR_NOT_FOUND' });
  r.expire(monotonicMs());
  t.equal(r.size, 1, 'not due yet');
  r.expire(monotonicMs() + 30_001);
  await t.rejects(c, { code: 'ERR_TIMEOUT' });
  t.equal(r.size, 0);
});

t.test('requests: one answered late on purpose has its own timer; the sweep passes it by', async (t) => {
  const r = new Requests(30);
  // Its own timer: 30 + 970 ms, long enough that a stalled machine still checks the sweep first.
  const late = r.add({ op: OP.purgeQueue, id: 1, name: 'q' }, false, 970);
  const plain = r.add({ op: OP.purgeQueue, id: 2, name: 'q' }, false);
  r.expire(monotonicMs() + 31);
  await t.rejects(plain, { code: 'ERR_TIMEOUT' });
  t.equal(r.size, 1, 'the late one is not timed by the sweep');
  await t.rejects(late, { code: 'ERR_TIMEOUT', message: /within 1000 ms/ });
  t.equal(r.size, 0);
});

t.test('requests: a wall-clock step back or forth changes no timeout (the deadlines are on a monotonic clock)', async (t) => {
  const r = new Requests(1_000);
  const realNow = Date.now;
  t.teardown(() => { Date.now = realNow; });
  const before = r.add({ op: OP.purgeQueue, id: 1, name: 'q' }, false);
  Date.now = () => realNow() - 3_600_000; // an hour back
  const after = r.add({ op: OP.purgeQueue, id: 2, name: 'q' }, false);
  Date.now = () => realNow() + 3_600_000; // an hour forth
  r.expire(monotonicMs());
  t.equal(r.size, 2, 'nothing due: a step forth fails nothing');
  r.expire(monotonicMs() + 1_001);
  await t.rejects(before, { code: 'ERR_TIMEOUT' });
  await t.rejects(after, { code: 'ERR_TIMEOUT' }, 'a request made after the step back is timed as usual');
  t.equal(r.size, 0);
});

t.test('requests: a drop fails sent one-shot requests and keeps the rest for re-sending', async (t) => {
  const r = new Requests(5_000);
  const once = r.add({ op: OP.get, id: 1, queue: 'q' }, false);
  const again = r.add({ op: OP.bindQueue, id: 2, queue: 'q', exchange: 'x', pattern: '#' }, true);
  const unsentOnce = r.add({ op: OP.purgeQueue, id: 3, name: 'q' }, false);
  r.markSent(1);
  r.markSent(2);
  r.dropped(closed);
  await t.rejects(once, { code: 'ERR_CONNECTION_CLOSED' });
  t.same(r.unsent().map((f) => f.id), [2, 3], 'the retryable and the never-sent, in order');
  r.resolve(2, undefined);
  r.rejectAll(closed);
  await again;
  await t.rejects(unsentOnce, { code: 'ERR_CONNECTION_CLOSED' });
});

t.test('confirms: confirm lists, errors, re-send after a drop, idle', async (t) => {
  const c = new Confirms();
  const p1 = c.add(pub(1), 1);
  const p2 = c.add(pub(2), 1);
  const p3 = c.add(pub(3), 0);
  t.same(c.unsent().map((f) => f.id), [3]);
  c.confirm([1, 99]);
  await p1;
  t.ok(c.reject(2, new CeleriacError('ERR_NO_ROUTE', 'unroutable')));
  await t.rejects(p2, { code: 'ERR_NO_ROUTE' });
  c.dropped(10);
  t.same(c.unsent().map((f) => f.id), [3]);
  const idle = c.whenIdle();
  c.markSent(3, 5);
  c.confirm([3]);
  await p3;
  await idle;
  t.equal(c.size, 0);
});

t.test('confirms: expiry times only written publishes', async (t) => {
  const c = new Confirms();
  const old = c.add(pub(1), 1_000);
  const held = c.add(pub(2), 0);
  const young = c.add(pub(3), 9_500);
  c.expire(10_000, 1_000);
  await t.rejects(old, { code: 'ERR_TIMEOUT' });
  t.equal(c.size, 2);
  c.restamp(20_000); // after a flow block: the clock starts again for written publishes only
  c.expire(20_500, 1_000);
  t.equal(c.size, 2);
  t.same(c.unsent().map((f) => f.id), [2], 'a held publish stays unwritten');
  c.rejectAll(closed);
  await t.rejects(held, { code: 'ERR_CONNECTION_CLOSED' });
  await t.rejects(young, { code: 'ERR_CONNECTION_CLOSED' });
});

t.test('confirms: while down, held publishes expire by how long they waited since made or dropped', async (t) => {
  const c = new Confirms();
  const written = c.add(pub(1), 1_000);
  const blocked = c.add(pub(2), 0, 2_000);
  const failure = (frame: PublishFrame, heldMs: number): CeleriacError => new CeleriacError('ERR_PUBLISH_FAILED', `${frame.id} held ${heldMs} ms`);
  c.expireHeld(2_000, 500, failure);
  t.equal(c.size, 2, 'a written publish is never timed here');
  c.dropped(5_000); // the socket drops: every pending publish is held from now
  const offline = c.add(pub(3), 0, 5_200);
  c.expireHeld(5_499, 500, failure);
  t.equal(c.size, 3, 'nothing held 500 ms yet');
  c.expireHeld(5_500, 500, failure);
  await t.rejects(written, { code: 'ERR_PUBLISH_FAILED', message: '1 held 500 ms' }, 'written before the drop: timed from the drop');
  await t.rejects(blocked, { code: 'ERR_PUBLISH_FAILED', message: '2 held 500 ms' }, 'held before the drop: timed from the drop');
  t.equal(c.size, 1);
  c.expireHeld(5_700, 500, failure);
  await t.rejects(offline, { code: 'ERR_PUBLISH_FAILED', message: '3 held 500 ms' }, 'made while down: timed from when it was made');
  t.equal(c.size, 0);
  await c.whenIdle();
});

t.test('topology: order kept, deletes take bindings with them, renames in place', async (t) => {
  const topo = new Topology();
  topo.exchangeDeclared('x', 'topic', {});
  topo.queueDeclared('q', { durable: true }, false);
  topo.bound('q', 'x', 'a.#', {});
  topo.queueDeclared('gen-1', { exclusive: true }, true);
  topo.bound('gen-1', 'x', 'b.*', {});
  topo.exchangeDeclared('x', 'topic', { durable: true });
  const kinds = () => topo.list().map((e) => (e.kind === 'binding' ? `b:${e.queue}<-${e.exchange}:${e.pattern}` : `${e.kind}:${e.name}`));
  t.same(kinds(), ['exchange:x', 'queue:q', 'b:q<-x:a.#', 'queue:gen-1', 'b:gen-1<-x:b.*'], 'a redeclare keeps its place');
  topo.renameQueue('gen-1', 'gen-2');
  t.same(kinds(), ['exchange:x', 'queue:q', 'b:q<-x:a.#', 'queue:gen-2', 'b:gen-2<-x:b.*']);
  const gen = topo.list()[3]!;
  t.ok(gen.kind === 'queue' && gen.serverNamed, 'still server-named');
  topo.unbound('q', 'x', 'a.#', {});
  topo.queueDeleted('gen-2');
  t.same(kinds(), ['exchange:x', 'queue:q']);
  topo.bound('q', 'x', 'c', {});
  topo.exchangeDeleted('x');
  t.same(kinds(), ['queue:q']);
});
