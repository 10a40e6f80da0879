// Reconnect through a real broker restart (same port, same data file): topology declared again,
// consumers subscribed again under their tags, unconfirmed and offline publishes settled on the
// new socket, acks of deliveries from the dead socket ignored.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { connect, type Connection, type Message, type ReconnectingInfo } from '../../client/index.js';
import { startBroker, type Broker } from '../../server/index.js';
import { sleep, until } from '../helpers/wait.js';

function nextEvent(conn: Connection, event: 'reconnected' | 'reconnecting', ms = 10_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    const done = (): void => { clearTimeout(timer); resolve(); };
    if (event === 'reconnected') conn.once('reconnected', done);
    else conn.once('reconnecting', done);
  });
}

t.test('reconnect after a broker restart on the same port and data file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-client-'));
  const dataFile = join(dir, 'broker.db');
  let broker: Broker = await startBroker({ port: 0, host: '127.0.0.1', dataFile, durability: 'process' });
  t.teardown(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const port = broker.port;

  const conn = await connect(broker.url, { reconnectBackoff: { initial: 20, max: 200 } });
  t.teardown(() => conn.close());
  const errors: unknown[] = [];
  conn.on('error', (e) => errors.push(e));
  const attempts: ReconnectingInfo[] = [];
  conn.on('reconnecting', (info) => attempts.push(info));
  const renames: Array<[string, string]> = [];
  conn.on('queueRenamed', (from, to) => renames.push([from, to]));

  await conn.assertExchange('rc-x', 'topic', { durable: true });
  await conn.assertQueue('rc-q', { durable: true });
  await conn.bindQueue('rc-q', 'rc-x', 'rc.#');
  const temp = await conn.assertQueue('', { exclusive: true });
  await conn.bindQueue(temp.queue, 'rc-x', 'temp.*');
  // A durable server-named queue outlives the restart: it keeps its name and its messages.
  const kept = await conn.assertQueue('', { durable: true });
  await conn.sendToQueue(kept.queue, 'kept-msg', { persistent: true });

  const got: Message[] = [];
  const { consumerTag } = await conn.consume('rc-q', (m) => {
    got.push(m);
    if (m.body.toString() !== 'held') m.ack();
  }, { prefetch: 50 });
  const tempGot: string[] = [];
  await conn.consume(temp.queue, (m) => { tempGot.push(m.body.toString()); m.ack(); });

  await conn.publish('rc-x', 'rc.one', 'held', { persistent: true });
  await until(() => got.length === 1, 5_000, 'first delivery');
  const held = got[0]!;
  t.equal(held.fields.redelivered, false);

  // A burst left partly unconfirmed by the restart, then one publish made while offline.
  const burst: Promise<void>[] = [];
  for (let i = 0; i < 500; i++) burst.push(conn.publish('rc-x', 'rc.burst', `b${i}`, { persistent: true }));
  const reconnecting = nextEvent(conn, 'reconnecting');
  await broker.close();
  await reconnecting;
  t.notOk(conn.connected);
  const offline = conn.publish('rc-x', 'rc.offline', 'offline', { persistent: true });
  const offlineDeclare = conn.assertQueue('rc-q2', { durable: true });

  const reconnected = nextEvent(conn, 'reconnected');
  broker = await startBroker({ port, host: '127.0.0.1', dataFile, durability: 'process' });
  await reconnected;
  t.ok(conn.connected);
  t.ok(attempts.length >= 1);
  t.equal(attempts[0]!.attempt, 1);
  t.ok(attempts[0]!.error.code.startsWith('ERR_'), `drop reported as ${attempts[0]!.error.code}`);

  await Promise.all(burst);
  await offline;
  t.equal((await offlineDeclare).queue, 'rc-q2', 'a request made offline is sent on the new socket');

  // The held delivery's tag died with the old socket: acking it is a no-op, not a protocol error.
  held.ack();
  const bodies = (): Set<string> => new Set(got.map((m) => m.body.toString()));
  await until(() => bodies().has('offline') && [...Array(500).keys()].every((i) => bodies().has(`b${i}`)), 10_000, 'every publish delivered');
  await until(() => got.filter((m) => m.body.toString() === 'held').length === 2, 10_000, "'held' delivered again");
  const again = got.filter((m) => m.body.toString() === 'held')[1]!;
  t.equal(again.fields.redelivered, true, 'flagged redelivered');
  t.equal(again.fields.consumerTag, consumerTag, 'same consumer tag after reconnect');
  again.ack();

  // The exclusive server-named queue died with the socket; it was declared again under a new name.
  t.equal(renames.length, 1);
  t.equal(renames[0]![0], temp.queue);
  await conn.publish('rc-x', 'temp.after', 'to-temp');
  await until(() => tempGot.includes('to-temp'), 5_000, 'delivery through the re-declared binding');

  const keptMsg = await conn.get(kept.queue);
  t.equal(keptMsg?.body.toString(), 'kept-msg', 'the durable server-named queue kept its name and message');
  keptMsg?.ack();

  // Topology really exists on the new broker.
  t.equal((await conn.checkQueue('rc-q')).queue, 'rc-q');
  t.same(errors, [], 'no error events');
  await conn.close();
  t.equal((await (async () => {
    const check = await connect(broker.url);
    const info = await check.checkQueue('rc-q');
    await check.close();
    return info.messageCount;
  })()), 0, 'everything acked, nothing left');
});

t.test('close() while reconnecting fails what is pending and stops retrying', async (t) => {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', dataFile: ':memory:' });
  const conn = await connect(broker.url, { reconnectBackoff: { initial: 20, max: 50 } });
  await conn.assertQueue('rc-closing');
  const reconnecting = nextEvent(conn, 'reconnecting');
  await broker.close();
  await reconnecting;
  const pending = conn.sendToQueue('rc-closing', 'never');
  const declare = conn.assertQueue('rc-closing-2');
  let attempts = 0;
  conn.on('reconnecting', () => attempts++);
  const closed = new Promise<unknown>((resolve) => conn.once('close', resolve));
  await conn.close();
  t.equal(await closed, undefined);
  await t.rejects(pending, { code: 'ERR_CONNECTION_CLOSED' });
  await t.rejects(declare, { code: 'ERR_CONNECTION_CLOSED' });
  const before = attempts;
  // negative check: three times the 50 ms max backoff; a retry timer armed before this sleep fires first.
  await sleep(150);
  t.equal(attempts, before, 'no attempts after close');
});
