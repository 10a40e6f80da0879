// Stored events survive kill -9, and ids keep increasing across it: a child process captures task
// events and commits them batch after batch, reporting the last id of each commit; the test
// SIGKILLs it mid-stream (often in the middle of a segment write), reopens the file, and finds
// every reported event readable, in id order, with the task index rebuilt from them; a second
// child on the same file hands out ids above every one stored before.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commitThenKill } from '../helpers/commit-then-kill.js';
import { EventLog } from '../../server/engine/event-log.js';
import { GroupCommit, openSqliteStore, type BrokerStore, type DurabilityMode } from '../../server/store/index.js';

const CHILD_ENV = 'CELERIAC_EVENT_CRASH_CHILD';
/** Events per commit: three tasks' worth, with a body big enough that writes take a while. */
const BATCH = 300;

function openLog(store: BrokerStore, writer: GroupCommit): EventLog {
  return new EventLog({
    store, writer, now: Date.now, log: (_level, msg) => process.stderr.write(`${msg}\n`),
    retention: { maxCount: 1e9, maxAge: 1e12 }, vhostNames: () => ['/'],
  });
}

/** The child: commits batches of task events forever (until killed), writing the last id of each on stdout once committed. */
function runChild(file: string, durability: DurabilityMode): void {
  const store = openSqliteStore({ file, durability });
  const writer = new GroupCommit(store);
  const log = openLog(store, writer);
  const pad = 'x'.repeat(400);
  for (;;) {
    for (let i = 0; i < BATCH; i++) {
      const n = log.lastId + 1;
      const type = ['task-received', 'task-started', 'task-succeeded'][n % 3]!;
      const body = Buffer.from(JSON.stringify({ uuid: `task-${Math.floor(n / 3)}`, name: 'tasks.crash', type, hostname: 'w@h', pad }));
      log.capture('/', type.replace(/-/g, '.'), body, undefined, false);
    }
    writer.flush();
    // A synchronous write: the line leaves only after the commit returned.
    fs.writeSync(1, `${log.lastId}\n`);
  }
}

if (process.env[CHILD_ENV]) {
  const [file, durability] = JSON.parse(process.env[CHILD_ENV] as string) as [string, DurabilityMode];
  runChild(file, durability);
} else {
  const { default: t } = await import('tap');

  // One durability: segments are written the same way in both, and a kill -9 leaves what was
  // written in the page cache either way. Two children: each start costs seconds on a busy machine.
  for (const durability of ['full'] as const) {
    t.test(`every reported event survives SIGKILL, and ids keep increasing (durability ${durability})`, async (t) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'celeriac-event-crash-'));
      t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
      const file = path.join(dir, 'broker.db');
      let storedBefore = 0;
      for (let cycle = 1; cycle <= 2; cycle++) {
        const reported = await commitThenKill(import.meta.url, { [CHILD_ENV]: JSON.stringify([file, durability]) }, 8 + cycle * 4);
        const store = openSqliteStore({ file, durability });
        const writer = new GroupCommit(store);
        try {
          const log = openLog(store, writer);
          t.ok(log.lastId >= reported, `cycle ${cycle}: the log reaches the last reported id ${reported} (${log.lastId})`);
          const ids: number[] = [];
          for (let since = 0; ;) {
            const page = log.read({ since, limit: 10_000 });
            for (const e of page.events) ids.push(e.id);
            if (page.next >= page.last) break;
            since = page.next;
          }
          // Every id up to the last stored is there once, in order: the first child's from 1, the
          // second child's above every id stored before it was killed.
          const expected = Array.from({ length: log.lastId }, (_, i) => i + 1);
          t.same(ids, expected, `cycle ${cycle}: ids 1..${log.lastId}, none missing, none repeated`);
          t.ok(reported > storedBefore, `cycle ${cycle}: the child went on above the ${storedBefore} stored before`);
          const task = log.tasks.get('/', `task-${Math.floor(reported / 3)}`);
          t.ok(task !== null, 'the task index is rebuilt from the stored events');
          t.equal(task?.info.name, 'tasks.crash');
          storedBefore = log.lastId;
        } finally {
          writer.close();
          store.close();
        }
      }
    });
  }
}
