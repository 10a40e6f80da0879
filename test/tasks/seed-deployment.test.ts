// The seed deployment of issue 3 built from its upper-case Celery configuration, end to end:
// where each task lands, how its message looks (msgpack, zlib), how its result is kept (JSON, a day).
import t from 'tap';
import { Celeriac, fromCeleryConfig } from '../../client/index.js';
import { seedCeleryConfig } from '../fixtures/seed-config.js';
import { taskEnv } from './task-helpers.js';


t.test('the seed deployment from its upper-case form: routing, message format, results', async (t) => {
  const { broker } = await taskEnv(t);
  const app = new Celeriac(fromCeleryConfig(seedCeleryConfig(broker.url)));
  t.teardown(() => app.close());
  t.equal(app.settings.taskTimeLimit, 5_000, 'seconds became ms');
  t.equal(app.settings.resultExpires, 86_400_000);
  const add = app.task('projq.tasks.add', (a: number, b: number) => a + b);
  const mul = app.task('projq.tasks.mul', (a: number, b: number) => a * b);
  const ra = await add.delay(2, 3);
  const rm = await mul.delay(4, 5);

  const conn = await app.connection();
  const inWeb = await conn.get('web_tasks');
  const inDefault = await conn.get('default');
  t.ok(inWeb && inDefault, 'one message in each queue');
  t.equal(inWeb!.fields.exchange, 'tasks');
  t.equal(inWeb!.fields.routingKey, 'web.add', 'the route sends projq.tasks.add to web_tasks with key web.add');
  t.equal(inWeb!.properties.headers?.['task'], 'projq.tasks.add');
  t.equal(inDefault!.fields.routingKey, 'task.default');
  t.equal(inDefault!.properties.headers?.['task'], 'projq.tasks.mul');
  t.equal(inWeb!.properties.contentType, 'application/x-msgpack', 'msgpack task bodies');
  t.equal(inWeb!.properties.headers?.['compression'], 'application/x-gzip', 'zlib compression (kombu names it application/x-gzip)');
  t.same(inWeb!.properties.headers?.['timelimit'], [5, null], "the task's 5 s hard limit (seconds on the wire) travels with it");
  t.equal(inWeb!.properties.correlationId, ra.id);
  // Give both back so the worker gets them.
  inWeb!.nack({ requeue: true });
  inDefault!.nack({ requeue: true });

  const worker = app.worker({ queues: ['web_tasks', 'default'], log: () => undefined });
  t.teardown(() => worker.close({ force: true }));
  t.equal(worker.concurrency, 4);
  t.equal(worker.prefetch, 16, 'prefetch = concurrency 4 × multiplier 4');
  await worker.start();
  t.equal(await ra.get({ timeout: 5_000 }), 5);
  t.equal(await rm.get({ timeout: 5_000 }), 20);
  const rec = await conn.getResult(ra.id);
  t.equal(rec?.contentType, 'application/json', 'JSON results');
  t.ok(rec?.expiresAt !== undefined && Math.abs(rec.expiresAt - (Date.now() + 86_400_000)) < 60_000, 'kept for a day');
  const meta = await ra.meta();
  t.match(meta, { task_id: ra.id, status: 'SUCCESS', result: 5, traceback: null, name: 'projq.tasks.add' });
});
