// The helpers that run real RabbitMQ, Redis and Python Celery for issue 11's suites, proved end to
// end on loopback: amqplib talks to the RabbitMQ we started and rabbitmqctl sees its queue; raw RESP
// sets and reads a Redis key, through a password and across a restart on the same port; a Python
// Celery worker on that RabbitMQ, with results in that Redis, runs the fixture app's tasks (add,
// echo, fail; json and msgpack) for a Python producer, and the result is in Celery's key; each
// stop leaves its port closed.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { connect as amqpConnect } from 'amqplib';
import { startRabbit } from '../helpers/rabbitmq.js';
import { redisCommands, RespError, startRedis } from '../helpers/redis.js';
import { celeryVersion, runPython, startCeleryWorker } from '../helpers/celery.js';
import { accepts } from '../helpers/ports.js';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

/** True when nothing accepts a connection on the port any more. */
const refuses = async (port: number): Promise<boolean> => !(await accepts(port));

// One RabbitMQ for the file (its boot takes seconds), started beside the first Redis.
const user = { name: unique('app'), password: unique('pw') };
const [rabbit, redis] = await Promise.all([startRabbit(t, { user }), startRedis(t)]);
t.comment(`RabbitMQ ${rabbit.nodeName} booted in ${rabbit.bootMs()} ms`);

t.test('RabbitMQ: amqplib publishes and gets on the broker we started; rabbitmqctl lists the queue', async (t) => {
  t.match(rabbit.url, /^amqp:\/\/guest:guest@127\.0\.0\.1:\d+$/);
  const queue = unique('harness-q');
  const conn = await amqpConnect(rabbit.url);
  t.teardown(() => conn.close().catch(() => undefined));
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true });
  ch.sendToQueue(queue, Buffer.from('hello'), { persistent: true });
  await ch.waitForConfirms();

  const listed = await rabbit.ctl(['list_queues', '--quiet', '--no-table-headers', 'name', 'messages']);
  t.match(listed, new RegExp(`^${queue}\\s+1$`, 'm'), 'rabbitmqctl sees the queue holding the message');

  const msg = await ch.get(queue, { noAck: false });
  t.not(msg, false, 'the message is there');
  if (msg !== false) {
    t.equal(msg.content.toString(), 'hello');
    ch.ack(msg);
  }
  await ch.close();
});

t.test('RabbitMQ: the extra user logs in with its password, and a wrong password is refused', async (t) => {
  const url = `amqp://${user.name}:${user.password}@127.0.0.1:${rabbit.port}`;
  const conn = await amqpConnect(url);
  const ch = await conn.createChannel();
  const q = await ch.assertQueue('', { exclusive: true });
  t.match(q.queue, /^amq\.gen-/, 'the user may declare queues on vhost /');
  await conn.close();
  await t.rejects(amqpConnect(`amqp://${user.name}:wrong@127.0.0.1:${rabbit.port}`), /ACCESS_REFUSED|403/);
});

t.test('Redis: SET and GET over raw RESP', async (t) => {
  t.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+\/0$/);
  const key = unique('harness-key');
  const replies = await redisCommands(redis.port, [['SET', key, 'v1'], ['GET', key], ['GET', unique('absent')]]);
  t.same(replies, ['OK', 'v1', null]);
});

t.test('Redis: restart keeps the port and starts empty; stop closes the port', async (t) => {
  const own = await startRedis(t);
  const key = unique('restart-key');
  await redisCommands(own.port, [['SET', key, 'before']]);
  await own.stop();
  t.ok(await refuses(own.port), 'stopped: nothing listens on its port');
  await own.restart();
  const [value] = await redisCommands(own.port, [['GET', key]]);
  t.equal(value, null, 'restarted on the same port, with nothing saved');
  await own.stop();
  t.ok(await refuses(own.port), 'stopped again');
});

t.test('Redis: with a password, commands need AUTH', async (t) => {
  const password = unique('secret');
  const own = await startRedis(t, { password });
  t.equal(own.url, `redis://:${password}@127.0.0.1:${own.port}/0`);
  const [denied] = await redisCommands(own.port, [['GET', 'k']]);
  t.ok(denied instanceof RespError && /NOAUTH/.test(denied.message), 'refused without AUTH');
  t.same(await redisCommands(own.port, [['AUTH', password], ['SET', 'k', 'v'], ['GET', 'k']]), ['OK', 'OK', 'v']);
});

t.test('Celery: a Python worker on our RabbitMQ with results in our Redis runs the fixture tasks for a Python producer', async (t) => {
  t.match(await celeryVersion(t), /^5\./, 'Debian python imports Celery 5');
  const queue = unique('harness-celery');
  const worker = await startCeleryWorker(t, { broker: rabbit.url, backend: redis.url, app: 'celery_app.tasks', queues: [queue] });
  const q = JSON.stringify(queue);
  const out = await runPython(t, [
    'import json',
    'from celery_app.tasks import add, echo, fail',
    `r = add.apply_async((2, 3), queue=${q})`,
    `packed = add.apply_async((20, 22), queue=${q}, serializer="msgpack")`,
    `e = echo.apply_async(({"a": [1, "x"]},), queue=${q})`,
    `f = fail.apply_async(("boom",), queue=${q})`,
    'f.get(timeout=30, propagate=False)',
    'print(json.dumps({"id": r.id, "result": r.get(timeout=30), "msgpack": packed.get(timeout=30),',
    '                  "echo": e.get(timeout=30), "fail": [f.state, repr(f.result)]}))',
  ].join('\n'), { CELERY_BROKER_URL: rabbit.url, CELERY_RESULT_BACKEND: redis.url });
  const got = JSON.parse(out) as { id: string; result: unknown; msgpack: unknown; echo: unknown; fail: [string, string] };
  t.equal(got.result, 5, 'the producer read add(2, 3) = 5 back');
  t.equal(got.msgpack, 42, 'a msgpack-serialized task runs too (python3-msgpack)');
  t.same(got.echo, { a: [1, 'x'] }, 'echo returns its argument');
  t.same(got.fail, ['FAILURE', "ValueError('boom')"], 'fail raises ValueError, stored as FAILURE');
  await worker.logged(/Task tasks\.add\[[0-9a-f-]+\] succeeded/, 'the worker we started to log add');
  t.pass('the worker we started ran them');

  // Celery's own key layout, read with raw RESP: what issue 11's Redis backend must read and write.
  const [stored] = await redisCommands(redis.port, [['GET', `celery-task-meta-${got.id}`]]);
  t.equal(typeof stored, 'string', 'the result is stored under celery-task-meta-<id>');
  t.match(JSON.parse(stored as string), { status: 'SUCCESS', result: 5, task_id: got.id });
  await worker.stop();
});

t.test('stop closes RabbitMQ\'s port (teardown would do the same)', async (t) => {
  await rabbit.stop();
  t.ok(await refuses(rabbit.port), 'nothing listens on the AMQP port');
});
