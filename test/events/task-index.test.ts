// The task index alone: slots in typed columns, task ids as bytes in a hash table of their own.
// Retention drops tasks and compacts what is left without losing or mixing any; a task with many
// events keeps its newest ones; code tables stay bounded when a sender makes up a new name, worker
// or event type with every event; task ids that are not plain ASCII (parsed events) are found too.
import t from 'tap';
import { TaskIndex } from '../../server/engine/task-index.js';
import type { StoredEvent } from '../../server/store/index.js';

/** An index over an in-memory event list (what the log would hand back), fed by `add`. */
function indexOf(): { index: TaskIndex; add: (taskId: string, type: string, fields?: Record<string, unknown>) => number } {
  const events = new Map<number, StoredEvent>();
  let id = 0;
  const index = new TaskIndex({
    loadEvents: (ids) => ids.flatMap((i) => events.get(i) ?? []),
    parse: (body) => JSON.parse(Buffer.from(body).toString()) as Record<string, unknown>,
  });
  const add = (taskId: string, type: string, fields: Record<string, unknown> = {}): number => {
    const eventId = ++id;
    const data: Record<string, unknown> = { uuid: taskId, type, hostname: 'w@h', ...fields };
    const body = Buffer.from(JSON.stringify(data));
    events.set(eventId, { id: eventId, vhost: '/', type, routingKey: type, at: 1_000 + eventId, body });
    const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    index.onEvent('/', taskId, type, text(data.hostname), text(data.name), eventId, 1_000 + eventId);
    return eventId;
  };
  return { index, add };
}

t.test('retention drops the oldest tasks; what is left is compacted and reads as before', async (t) => {
  const { index, add } = indexOf();
  for (let i = 0; i < 3000; i++) add(`t${i}`, 'task-received', { name: i % 2 === 0 ? 'even' : 'odd' });
  add('t2500', 'task-started'); // id 3001: t2500 is first seen at 2501
  t.equal(index.size, 3000);
  index.pruned(2000); // tasks t0..t1999: their only event is gone
  t.equal(index.size, 1000);
  t.equal(index.get('/', 't0'), null);
  t.equal(index.get('/', 't1999'), null);
  const kept = index.get('/', 't2500');
  t.same([kept?.info.state, kept?.info.name, kept?.info.worker, kept?.events.map((e) => e.id)], ['STARTED', 'even', 'w@h', [2501, 3001]]);
  const page = index.query({ limit: 3 });
  t.same(page.tasks.map((x) => x.id), ['t2999', 't2998', 't2997'], 'newest first');
  t.same(index.query({ limit: 2, cursor: page.cursor! }).tasks.map((x) => x.id), ['t2996', 't2995'], 'paging from the cursor');
  t.same(index.query({ name: 'odd', limit: 2 }).tasks.map((x) => x.id), ['t2999', 't2997']);
  t.same(index.query({ search: 'T2001', limit: 10 }).tasks.map((x) => x.id), ['t2001'], 'an id prefix, any case');
  t.equal(index.query({ state: 'STARTED' }).tasks.length, 1);
  add('t2000', 'task-succeeded', { result: 1 });
  t.equal(index.get('/', 't2000')?.info.state, 'SUCCESS', 'a kept task goes on after the compaction');
  add('t5', 'task-started');
  t.equal(index.get('/', 't5')?.info.firstEventId, 3003, 'a pruned one starts afresh');
  t.equal(index.size, 1001);
});

t.test('a task with many events keeps its newest 100; its state follows Celery\'s rules', async (t) => {
  const { index, add } = indexOf();
  add('r', 'task-received');
  for (let i = 0; i < 60; i++) {
    add('r', 'task-started');
    add('r', 'task-retried');
  }
  const ids = index.get('/', 'r')!.events.map((e) => e.id);
  t.equal(ids.length, 100);
  t.equal(ids[99], 121, 'the newest');
  t.equal(ids[0], 22);
  t.equal(index.get('/', 'r')?.info.state, 'RETRY');
  add('r', 'task-received'); // RETRY always moves on
  t.equal(index.get('/', 'r')?.info.state, 'RECEIVED');
  add('r', 'task-succeeded');
  add('r', 'task-started'); // comes before SUCCESS by precedence: no change
  t.equal(index.get('/', 'r')?.info.state, 'SUCCESS');
});

t.test('a sender making up names, workers and types with every event does not grow the code tables past the tasks', async (t) => {
  const { index, add } = indexOf();
  for (let i = 0; i < 5000; i++) add('one', `task-custom${i}`, { name: `n${i}`, hostname: `w${i}` });
  t.equal(index.size, 1);
  t.ok(index.codeCount <= 3 * 1025, `code tables bounded (${index.codeCount})`);
  const one = index.get('/', 'one')!.info;
  t.same([one.state, one.name, one.worker], ['CUSTOM4999', 'n4999', 'w4999']);
});

t.test('task ids that are not plain ASCII, and per vhost', async (t) => {
  const index = new TaskIndex({ loadEvents: () => [], parse: () => null });
  index.onEvent('/', 'tâche-1', 'task-received', 'w', 'n', 1, 1);
  index.onEvent('other', 'tâche-1', 'task-started', 'w', 'n', 2, 2);
  t.equal(index.get('/', 'tâche-1')?.info.state, 'RECEIVED');
  t.equal(index.get('other', 'tâche-1')?.info.state, 'STARTED');
  t.equal(index.get('third', 'tâche-1'), null);
  index.onEvent('/', 'bad\u0000id', 'task-received', 'w', 'n', 3, 3);
  index.onEvent('/', 'x'.repeat(256), 'task-received', 'w', 'n', 4, 4);
  t.equal(index.size, 2, 'an id with a NUL, or longer than 255 bytes, is not indexed');
});
