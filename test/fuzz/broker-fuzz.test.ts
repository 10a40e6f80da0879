// A seeded fuzzer against a real broker: random, mutated and out-of-order frames, huge batches and
// deep nesting from several connections, while a good client publishes and consumes. The broker
// must not crash, leave no unhandled rejection, answer no request with ERR_INTERNAL, lose nothing
// of the good client's, and give its memory back once the fuzzing is over.
// Replay or lengthen: FUZZ_SEED=n FUZZ_MS=ms npx tap test/fuzz/broker-fuzz.test.ts (bench/fuzz.js runs it long).
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import t from 'tap';
import { connect } from '../../client/index.js';
import { ERRORS } from '../../shared/errors.js';
import { DEFAULT_LIMITS } from '../../shared/limits.js';
import { OP } from '../../shared/opcodes.js';
import { startTestBroker } from '../helpers/broker.js';
import { fuzz } from '../helpers/fuzzer.js';
import { RawClient } from '../helpers/raw-client.js';
import { sleep, until } from '../helpers/wait.js';

const seed = Number(process.env.FUZZ_SEED ?? 20_261_202);
const durationMs = Number(process.env.FUZZ_MS ?? 6_000);
const connections = Number(process.env.FUZZ_CONNECTIONS ?? 6);
/** RSS after cleanup may exceed the start by this much: the heap keeps some of what it grew to. */
const RSS_SLACK = 150 * 1024 * 1024;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** RSS and heap in use after a few full collections. */
async function settledMemory(): Promise<{ rss: number; heap: number }> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(50);
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

t.test(`fuzz the broker for ${durationMs} ms (seed ${seed}, ${connections} connections)`, async (t) => {
  const troubles: string[] = [];
  const onRejection = (reason: unknown): void => { troubles.push(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`); };
  process.on('unhandledRejection', onRejection);
  t.teardown(() => { process.off('unhandledRejection', onRejection); });
  const internal: string[] = [];
  const broker = await startTestBroker(t, { log: (level, msg) => { if (level === 'error') internal.push(msg); } });

  // The good client: publishes (confirmed, persistent, durable queue) and consumes with acks throughout.
  const good = await connect(broker.url);
  t.teardown(() => good.close());
  let reconnects = 0;
  good.on('reconnecting', () => { reconnects++; });
  const queue = `good-${randomUUID()}`;
  await good.assertQueue(queue, { durable: true });
  const received = new Set<number>();
  await good.consume(queue, (m) => { received.add(Buffer.from(m.body).readUInt32LE(0)); m.ack(); }, { prefetch: 100 });
  const confirmed = new Set<number>();
  const failed: string[] = [];
  let fuzzing = true;
  let next = 0;
  const publisher = async (): Promise<void> => {
    while (fuzzing) {
      const batch = Array.from({ length: 10 }, () => next++);
      await Promise.all(batch.map(async (n) => {
        const body = Buffer.alloc(64);
        body.writeUInt32LE(n, 0);
        try {
          await good.sendToQueue(queue, body, { persistent: true });
          confirmed.add(n);
        } catch (err) {
          failed.push(`${n}: ${(err as Error).message}`);
        }
      }));
    }
  };
  await until(() => true);
  const start = await settledMemory();

  const publishing = publisher();
  const report = await fuzz({ url: broker.url, seed, durationMs, connections, cap: DEFAULT_LIMITS.maxFramesPerMessage });
  fuzzing = false;
  await publishing;
  await until(() => [...confirmed].every((n) => received.has(n)), 20_000, 'every confirmed message delivered to the good client');

  // Cleanup: what the fuzz declared goes (its queues may hold messages), then memory is measured.
  const admin = await RawClient.connect(broker.url);
  for (const name of ['fz.q0', 'fz.q1', 'fz.q2', 'fz.q3']) await admin.request({ op: OP.deleteQueue, id: admin.id(), name });
  for (const name of ['fz.x0', 'fz.x1']) await admin.request({ op: OP.deleteExchange, id: admin.id(), name });
  admin.close();
  const health = await fetch(`${broker.httpUrl}/healthz`);
  const end = await settledMemory();

  const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
  t.comment(`${report.messages} hostile messages (${mb(report.bytes)}) on ${report.connections} connections, ${report.closedByBroker} closed by the broker; inputs ${JSON.stringify(report.inputs)}`);
  t.comment(`errors answered: ${JSON.stringify(report.errorCodes)}`);
  t.comment(`good client: ${confirmed.size} confirmed, ${received.size} received; RSS ${mb(start.rss)} at the start, ${mb(end.rss)} after cleanup (heap in use ${mb(start.heap)}, ${mb(end.heap)})`);
  if (process.env.FUZZ_REPORT) {
    writeFileSync(process.env.FUZZ_REPORT, JSON.stringify({ ...report, durationMs, connectionsAtOnce: connections, goodConfirmed: confirmed.size, goodReceived: received.size, rssStart: start.rss, rssEnd: end.rss, heapStart: start.heap, heapEnd: end.heap }));
  }

  t.equal(health.status, 200, 'the broker is alive and answers /healthz');
  t.same(troubles, [], 'no unhandled rejection');
  t.same(internal, [], 'no internal error logged');
  t.notOk(report.errorCodes['ERR_INTERNAL'], 'no request answered with ERR_INTERNAL');
  t.same(Object.keys(report.errorCodes).filter((c) => !(c in ERRORS)), [], 'every error code is one of the table');
  t.equal(report.undecodable, 0, 'everything the broker sent decodes');
  // Loose on purpose: the run is bounded in time, and a loaded machine sends far fewer inputs in it.
  t.ok(report.messages > 30 && report.closedByBroker > 3, 'the fuzz got going (inputs sent, connections refused)');
  t.ok((report.inputs['huge-batch'] ?? 0) > 0 && (report.inputs['nesting'] ?? 0) > 0, 'huge batches and deep nesting among them');
  t.same(failed, [], 'no good publish failed');
  t.ok(confirmed.size > 0, `the good client published throughout (${confirmed.size})`);
  t.equal(reconnects, 0, 'the good connection was never dropped');
  t.ok(end.rss <= start.rss + RSS_SLACK, `RSS back near its start: ${mb(end.rss)} after, ${mb(start.rss)} before (slack ${mb(RSS_SLACK)})`);
});
