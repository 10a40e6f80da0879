// Store commit throughput: message rows per second through SQLiteStore.applyBatch, per batch size
// and durability mode, plus the cost of deleting them again (acks). Prints figures, never pass/fail.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSqliteStore } from '../dist/server/store/index.js';

const ROWS = Number(process.env.STORE_BENCH_ROWS ?? 200_000);
const BODY = new Uint8Array(200).fill(120);
const PROPS = new Uint8Array(40).fill(7);

function run(durability, batchSize) {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-store-bench-'));
  const store = openSqliteStore({ file: join(dir, 'bench.db'), durability });
  try {
    const queueId = store.saveQueue({ id: 0, vhost: '/', name: 'bench', autoDelete: false, options: { durable: true } });
    let id = 0;
    const t0 = performance.now();
    while (id < ROWS) {
      const inserts = [];
      for (let i = 0; i < batchSize && id < ROWS; i++) {
        id++;
        inserts.push({
          id, queueId, exchange: 'tasks', routingKey: 'task.default', body: BODY, props: PROPS,
          priority: 0, readyAt: 0, expiresAt: 0, deliveryCount: 0,
        });
      }
      store.applyBatch({ inserts, counts: [], deletes: [] });
    }
    const insertMs = performance.now() - t0;
    const t1 = performance.now();
    for (let start = 1; start <= ROWS; start += batchSize) {
      const deletes = [];
      for (let d = start; d < start + batchSize && d <= ROWS; d++) deletes.push(d);
      store.applyBatch({ inserts: [], counts: [], deletes });
    }
    const deleteMs = performance.now() - t1;
    return { durability, batchSize, insertPerSec: Math.round(ROWS / (insertMs / 1000)), deletePerSec: Math.round(ROWS / (deleteMs / 1000)) };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`store-batch: ${ROWS} rows of ${BODY.length} bytes per run`);
console.log('durability  batch   insert rows/s   delete rows/s');
for (const durability of ['full', 'process']) {
  for (const batchSize of [100, 1000, 5000]) {
    const r = run(durability, batchSize);
    console.log(`${r.durability.padEnd(10)} ${String(r.batchSize).padStart(6)} ${String(r.insertPerSec).padStart(15)} ${String(r.deletePerSec).padStart(15)}`);
  }
}
