// A committed batch survives kill -9: a child process commits batches and reports each one,
// the test SIGKILLs it mid-stream, reopens the file and finds every reported write applied.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commitThenKill } from '../helpers/commit-then-kill.js';
import { openSqliteStore } from '../../server/store/index.js';
import type { DurabilityMode, StoredMessage } from '../../server/store/index.js';

const CHILD_ENV = 'CELERIAC_STORE_CRASH_CHILD';
const BATCH = 200;

function message(id: number, queueId: number): StoredMessage {
  return {
    id, queueId, exchange: 'tasks', routingKey: 'task.crash', body: new Uint8Array(200).fill(id & 0xff),
    props: null, priority: 0, readyAt: 0, expiresAt: 0, deliveryCount: 0, lane: 0,
  };
}

/**
 * The child: appends batches forever (until killed). Each batch inserts BATCH new messages and
 * deletes the first half of the previous batch; after each commit it writes "lastId" on stdout.
 */
function runChild(file: string, durability: DurabilityMode): void {
  const store = openSqliteStore({ file, durability });
  const queueId = store.saveQueue({ id: 0, vhost: '/', name: 'crash', autoDelete: false, options: {} });
  let next = store.maxMessageId() + 1;
  for (;;) {
    const first = next;
    const inserts: StoredMessage[] = [];
    for (let i = 0; i < BATCH; i++) inserts.push(message(next++, queueId));
    const deletes: number[] = [];
    for (let id = first - BATCH; id < first - BATCH / 2; id++) if (id > 0) deletes.push(id);
    store.applyBatch({ inserts, counts: [], deletes });
    // A synchronous write: the line leaves only after the commit returned.
    fs.writeSync(1, `${next - 1}\n`);
  }
}

if (process.env[CHILD_ENV]) {
  const [file, durability] = JSON.parse(process.env[CHILD_ENV] as string) as [string, DurabilityMode];
  runChild(file, durability);
} else {
  const { default: t } = await import('tap');

  for (const durability of ['full', 'process'] as const) {
    t.test(`every reported commit survives SIGKILL (durability ${durability})`, async (t) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'celeriac-store-crash-'));
      t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
      const file = path.join(dir, 'broker.db');
      for (let cycle = 1; cycle <= 2; cycle++) {
        const lastId = await commitThenKill(import.meta.url, { [CHILD_ENV]: JSON.stringify([file, durability]) }, 10 + cycle * 5);
        const store = openSqliteStore({ file, durability });
        try {
          const queueId = store.loadTopology().queues[0]?.id ?? -1;
          t.ok(store.maxMessageId() >= lastId, `cycle ${cycle}: ids reach the last reported commit (${lastId})`);
          const present = new Set(store.loadMessages(queueId, 0, 1e7).map((m) => m.id));
          // Reported batches: each id is present unless a later reported batch deleted it
          // (a batch deletes the first half of the one before it).
          // A batch may also have committed without its report (killed between the two): count
          // it as applied when its ids are on disk.
          let highest = lastId;
          for (const id of present) if (id > highest) highest = id;
          let missing = 0;
          for (let id = 1; id <= lastId; id++) {
            const batchStart = Math.floor((id - 1) / BATCH) * BATCH + 1;
            const deletedByNext = id < batchStart + BATCH / 2 && batchStart + BATCH <= highest;
            if (!deletedByNext && !present.has(id)) missing++;
            if (deletedByNext && present.has(id)) {
              t.fail(`cycle ${cycle}: id ${id} was deleted by a reported commit but is back`);
              return;
            }
          }
          t.equal(missing, 0, `cycle ${cycle}: no committed message lost`);
        } finally {
          store.close();
        }
      }
    });
  }
}
