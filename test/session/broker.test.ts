// The broker object: two in one process, options validated with the option named, shutdown that
// tells every connection ERR_SERVER_SHUTDOWN, the management API on the same port.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { startBroker } from '../../server/index.js';
import type { ErrorFrame } from '../../shared/frames.js';
import { OP } from '../../shared/opcodes.js';
import { startTestBroker } from '../helpers/broker.js';
import { api } from '../helpers/http.js';
import { RawClient } from '../helpers/raw-client.js';

t.test('two brokers in one process keep apart', async (t) => {
  const one = await startTestBroker(t);
  const two = await startTestBroker(t);
  t.not(one.port, two.port);
  t.equal(one.url, `ws://127.0.0.1:${one.port}`);
  t.equal(one.httpUrl, `http://127.0.0.1:${one.port}`);
  const a = await RawClient.connect(one.url);
  const b = await RawClient.connect(two.url);
  t.teardown(() => { a.close(); b.close(); });
  const queue = `two-${randomUUID().slice(0, 8)}`;
  await a.ok({ op: OP.declareQueue, id: a.id(), name: queue, options: { durable: true } });
  const reply = await b.request({ op: OP.declareQueue, id: b.id(), name: queue, options: { passive: true } });
  t.match(reply, { op: OP.error, code: 'ERR_NOT_FOUND' }, 'the other broker has no such queue');
  await one.close();
  await b.ok({ op: OP.declareQueue, id: b.id(), name: queue, options: {} });
  t.pass('closing one broker leaves the other serving');
});

t.test('close tells every connection ERR_SERVER_SHUTDOWN and is idempotent', async (t) => {
  const broker = await startBroker({ port: 0, dataFile: ':memory:' });
  const a = await RawClient.connect(broker.url);
  const pending = await RawClient.open(broker.url); // not yet past the handshake
  t.teardown(() => { a.close(); pending.close(); });
  const closing = broker.close();
  const err = (await a.next((f) => f.op === OP.error)) as ErrorFrame;
  t.equal(err.code, 'ERR_SERVER_SHUTDOWN');
  t.equal((await a.waitClose()).code, 1001);
  t.equal((await pending.waitClose()).code, 1001);
  await closing;
  await broker.close();
  await t.rejects(RawClient.open(broker.url, 1_000), 'nothing listens any more');
});

t.test('the management API answers on the same port', async (t) => {
  const broker = await startTestBroker(t);
  const res = await api(broker, '/api/overview');
  t.equal(res.status, 200, `GET /api/overview answered ${res.status}`);
});

t.test('options are validated once, naming the option', async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ port: -1 }, /'port'/],
    [{ port: 70000 }, /'port'/],
    [{ host: '' }, /'host'/],
    [{ durability: 'lazy' }, /'durability'/],
    [{ users: [{ user: 'a' }] }, /'users\[0\]\.password'/],
    [{ users: [{ user: 'a', password: 'x' }, { user: 'a', password: 'y' }] }, /repeats user 'a'/],
    [{ users: [{ user: 'a', password: 'x', vhosts: ['nope'] }] }, /'users\[0\]\.vhosts'/],
    [{ users: [{ user: 'a', password: 'x', tags: ['root'] }] }, /'users\[0\]\.tags\[0\]' must be one of administrator, monitoring/],
    [{ users: [{ user: 'a', password: 'x', tags: 'administrator' }] }, /'users\[0\]\.tags'/],
    [{ metricsOpen: 'yes' }, /'metricsOpen'/],
    [{ vhosts: [] }, /'vhosts'/],
    [{ limits: { maxMessageSize: 0 } }, /'limits\.maxMessageSize'/],
    [{ limits: { maxFrobs: 1 } }, /'limits\.maxFrobs'/],
    [{ portt: 1 }, /'portt' is not a broker option/],
  ];
  for (const [options, message] of cases) {
    await t.rejects(startBroker({ dataFile: ':memory:', ...options } as never), { code: 'ERR_INVALID_ARGUMENT', message }, JSON.stringify(options));
  }
});

t.test('a busy port rejects with EADDRINUSE and releases what it opened', async (t) => {
  const first = await startTestBroker(t);
  await t.rejects(startBroker({ port: first.port, dataFile: ':memory:' }), { code: 'EADDRINUSE' });
});
