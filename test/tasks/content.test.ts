// Serializers, compression and acceptContent through a real worker: every combination round-trips,
// and a content type the worker does not accept is refused before decoding and recorded as failed.
import t from 'tap';
import { captureLog, taskEnv } from './task-helpers.js';

for (const taskSerializer of ['json', 'msgpack'] as const) {
  for (const messageCompression of [null, 'zlib', 'gzip', 'brotli'] as const) {
    t.test(`${taskSerializer} bodies, compression ${messageCompression ?? 'none'}, results in msgpack`, async (t) => {
      const { app, startWorker } = await taskEnv(t, { taskSerializer, messageCompression, resultSerializer: 'msgpack', acceptContent: ['json', 'msgpack'], resultCompression: messageCompression });
      const echo = app.task('tasks.echo', (v: unknown) => v);
      await startWorker(app);
      const value = { text: 'héllo'.repeat(50), n: [1, 2.5, -3], nested: { ok: true, none: null } };
      t.same(await (await echo.delay(value)).get({ timeout: 5_000 }), value);
    });
  }
}

t.test('a content type outside acceptContent is refused before decoding and recorded as a failure', async (t) => {
  const { newApp, startWorker } = await taskEnv(t);
  const producer = newApp({ taskSerializer: 'msgpack' });
  const workerApp = newApp({ acceptContent: ['json'] });
  let ran = 0;
  workerApp.task('tasks.strict', () => ++ran);
  const { lines, log } = captureLog();
  await startWorker(workerApp, { log });
  const r = await producer.sendTask('tasks.strict', []);
  await t.rejects(r.get({ timeout: 5_000 }), { code: 'ERR_TASK_FAILED', details: { remoteCode: 'ERR_ACCESS_DENIED' } });
  t.equal(ran, 0, 'never run');
  t.ok(lines.some((l) => l.includes("refusing a message of content type 'application/x-msgpack'")), 'the log names the refused type');
});

t.test("a task's own serializer option is used for its messages", async (t) => {
  const { app, startWorker } = await taskEnv(t, { acceptContent: ['json', 'msgpack'] });
  const packed = app.task('tasks.packed', (v: number) => v * 2, { serializer: 'msgpack' });
  const r = await packed.delay(21);
  const conn = await app.connection();
  const msg = await conn.get('default');
  t.equal(msg?.properties.contentType, 'application/x-msgpack');
  msg?.nack({ requeue: true });
  await startWorker(app);
  t.equal(await r.get({ timeout: 5_000 }), 42);
});
