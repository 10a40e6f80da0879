// The human tables of the celeriac command (pure, no broker): column alignment, and what inspect,
// status and queues make of replies shaped as the workers and the management API send them.
import t from 'tap';
import { pingTable, registeredTable, statsTable, statusRows, statusTable, taskListTable } from '../../client/cli/commands/inspect-tables.js';
import { queuesTable } from '../../client/cli/commands/queues.js';
import type { QueueInfo } from '../../client/cli/management-api.js';
import { formatCount, formatSeconds, renderTable } from '../../client/cli/table.js';

t.test('renderTable pads each column to its widest cell, numbers on the right, no trailing spaces', async (t) => {
  const text = renderTable([{ header: 'NAME' }, { header: 'N', align: 'right' }, { header: 'NOTE' }], [['a', '1', 'x'], ['longer-name', '12,345', ''], ['b']]);
  t.equal(text, [
    'NAME              N  NOTE',
    'a                 1  x',
    'longer-name  12,345',
    'b',
    '',
  ].join('\n'));
  t.equal(renderTable([{ header: 'A' }], []), 'A\n', 'no rows: the header alone');
});

t.test('formatCount and formatSeconds', async (t) => {
  t.strictSame([0, 999, 1000, 1234567].map(formatCount), ['0', '999', '1,000', '1,234,567']);
  t.strictSame([0, 59.9, 60, 3599, 3600, 86_399, 90_061, -3].map(formatSeconds), ['0s', '59s', '1m 0s', '59m 59s', '1h 0m', '23h 59m', '1d 1h', '0s']);
});

const task = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id, name: 'tasks.sleep', args: [5000], kwargs: {}, hostname: 'w1@h', time_start: 1_000, acknowledged: true,
  delivery_info: { exchange: 'tasks', routing_key: 'q1', redelivered: false, queue: 'q1' }, worker_pid: 1, eta: null, expires: null, retries: 0, ...extra,
});

t.test('inspect active / reserved / scheduled: a row per task with its worker, then a count', async (t) => {
  const replies = { 'w1@h': [task('id-1'), task('id-2', { kwargs: { x: 1 } })], 'w2@h': [] };
  const active = taskListTable('active', replies, 1_065_000);
  t.equal(active, [
    'WORKER  ID    TASK         ARGS            RUNNING',
    'w1@h    id-1  tasks.sleep  [5000]          1m 5s',
    'w1@h    id-2  tasks.sleep  [5000] {"x":1}  1m 5s',
    '',
    '2 active tasks on 2 nodes.',
    '',
  ].join('\n'));
  t.match(taskListTable('reserved', { 'w1@h': [task('id-3')] }, 0), /^WORKER +ID +TASK +ARGS +QUEUE\nw1@h +id-3 +tasks\.sleep +\[5000\] +q1\n\n1 reserved task on 1 node\.\n$/);
  // scheduled wraps each task in `request`, as Celery's does.
  t.match(taskListTable('scheduled', { 'w1@h': [{ ...task('id-4'), request: task('id-4') }] }, 0), /WAITING FOR\nw1@h +id-4 .* rate limit\n/);
  t.equal(taskListTable('active', { 'w1@h': [], 'w2@h': [] }, 0), 'No active tasks on 2 nodes (w1@h, w2@h).\n');
});

t.test('inspect registered, stats and ping tables', async (t) => {
  t.equal(registeredTable({ 'w1@h': ['tasks.a', 'tasks.b'], 'w2@h': [] }), 'WORKER  TASKS\nw1@h    tasks.a\n        tasks.b\nw2@h    (none)\n');
  const stats = { hostname: 'w1@h', uptime: 125, pool: { implementation: 'threads', 'max-concurrency': 4 }, prefetch_count: 16, queues: ['a', 'b'], total: { 'tasks.a': 1200, 'tasks.b': 34 } };
  t.equal(statsTable({ 'w1@h': stats, 'celery@py': {} }), [
    'WORKER     POOL     CONCURRENCY  PREFETCH  PROCESSED  UPTIME  QUEUES',
    'w1@h       threads            4        16      1,234   2m 5s  a,b',
    'celery@py  -                  -         -          0       -  -',
    '',
  ].join('\n'), 'a worker that leaves fields out shows dashes');
  t.equal(pingTable({ 'w1@h': { ok: 'pong' } }), 'WORKER  REPLY\nw1@h    pong\n');
});

t.test('status: a row per worker that pinged, its stats when they came, then Celery\'s count line', async (t) => {
  const rows = statusRows(['w2@h', 'w1@h'], { 'w1@h': { pool: { implementation: 'async', 'max-concurrency': 3 }, total: { a: 2 }, uptime: 7, queues: ['q'] } });
  t.strictSame(Object.keys(rows), ['w1@h', 'w2@h'], 'sorted by hostname');
  t.strictSame(rows['w1@h'], { status: 'OK', pool: 'async', concurrency: 3, processed: 2, uptime: 7, queues: ['q'] });
  t.strictSame(rows['w2@h'], { status: 'OK', pool: null, concurrency: null, processed: null, uptime: null, queues: null }, 'pinged, no stats');
  t.equal(statusTable(rows), [
    'WORKER  STATUS  POOL   CONCURRENCY  PROCESSED  UPTIME  QUEUES',
    'w1@h    OK      async            3          2      7s  q',
    'w2@h    OK      -                -          -       -  -',
    '',
    '2 nodes online.',
    '',
  ].join('\n'));
});

t.test('queues: sorted by vhost then name, counts with separators, rates with one decimal', async (t) => {
  const q = (vhost: string, name: string, ready: number): QueueInfo => ({
    vhost, name, messages: ready + 1, ready, unacked: 1, delayed: 0, consumers: 2, rates: { publish: 12.345, deliver: 0, ack: 1 },
  });
  t.equal(queuesTable([q('/', 'zeta', 5), q('other', 'alpha', 0), q('/', 'alpha', 12_000)]), [
    'NAME   VHOST  MESSAGES   READY  UNACKED  DELAYED  CONSUMERS  PUBLISH/S  DELIVER/S  ACK/S',
    'alpha  /        12,001  12,000        1        0          2       12.3        0.0    1.0',
    'zeta   /             6       5        1        0          2       12.3        0.0    1.0',
    'alpha  other         1       0        1        0          2       12.3        0.0    1.0',
    '',
  ].join('\n'));
});
