// The task index's merge of task events, unit by unit: Celery's state precedence, whatever order
// events arrive in, the fields each event brings, and an event applied twice changing nothing.
import t from 'tap';
import { applyTaskEvent, newTaskEntry, type TaskEntry } from '../../server/engine/task-events.js';

let nextId = 0;
/** Applies events in the order given, each with the next id; returns the entry. */
function run(...events: [string, Record<string, unknown>][]): TaskEntry {
  nextId = 0;
  const entry = newTaskEntry('/', 'id-1', 1, 1_000);
  for (const [type, fields] of events) {
    const id = ++nextId;
    applyTaskEvent(entry, type, { type, hostname: 'w1@h', timestamp: 10 + id, ...fields }, id, 1_000 + id);
  }
  return entry;
}

const received: [string, Record<string, unknown>] = ['task-received', { name: 'tasks.add', args: [2, 3], kwargs: {}, retries: 0, root_id: 'id-1', queue: 'q1', routing_key: 'rk' }];
const started: [string, Record<string, unknown>] = ['task-started', { name: 'tasks.add' }];
const succeeded: [string, Record<string, unknown>] = ['task-succeeded', { name: 'tasks.add', result: 5, runtime: 0.25 }];
const failed: [string, Record<string, unknown>] = ['task-failed', { name: 'tasks.add', exception: 'Error: no', traceback: 'Error: no\n    at x', runtime: 0.5 }];

t.test('in order: each event sets its state, its time and its fields', async (t) => {
  const e = run(received, started, succeeded);
  t.equal(e.state, 'SUCCESS');
  t.same(e.args, [2, 3]);
  t.equal(e.result, 5);
  t.equal(e.runtime, 0.25);
  t.equal(e.name, 'tasks.add');
  t.equal(e.queue, 'q1');
  t.equal(e.routingKey, 'rk');
  t.equal(e.worker, 'w1@h');
  t.equal(e.received, 11_000, 'times in ms from the event timestamp (s)');
  t.equal(e.started, 12_000);
  t.equal(e.succeeded, 13_000);
  t.equal(e.timestamp, 13_000, 'the time of the state-setting event');
  t.same(e.events, [1, 2, 3]);
  t.equal(e.lastEventId, 3);
});

t.test('out of order: a late received only fills in the arguments; a late started changes no state', async (t) => {
  const e = run(succeeded, started, received);
  t.equal(e.state, 'SUCCESS', 'SUCCESS stays');
  t.same(e.args, [2, 3], 'the arguments of the late task-received are kept');
  t.equal(e.queue, null, 'but not its other fields (Celery keeps only name, args, kwargs, ids, retries, eta, expires)');
  t.equal(e.received, 13_000, 'its time is still recorded');
  t.equal(e.timestamp, 11_000, 'the state time stays the success');
  const f = run(failed, received);
  t.equal(f.state, 'FAILURE');
  t.equal(f.traceback, 'Error: no\n    at x');
});

t.test('RETRY always moves on: retried, then received again, started and succeeded', async (t) => {
  const e = run(received, started, ['task-retried', { exception: 'Error: flaky', retries: 1 }], ['task-received', { ...received[1], retries: 1 }], started, succeeded);
  t.equal(e.state, 'SUCCESS');
  t.equal(e.retries, 1);
  t.equal(e.exception, 'Error: flaky', 'the retry reason is kept, as Celery keeps it');
  const r = run(received, ['task-retried', { exception: 'Error: flaky', retries: 1 }]);
  t.equal(r.state, 'RETRY');
  t.equal(run(['task-retried', {}], received).state, 'RECEIVED', 'from RETRY, a received is taken even though it ranks earlier');
});

t.test('task-sent: PENDING, routing fields, and the producer is not the worker', async (t) => {
  const e = run(['task-sent', { name: 'tasks.add', args: [1], kwargs: {}, queue: 'q', exchange: 'x', routing_key: 'k', hostname: 'gen1@h' }]);
  t.equal(e.state, 'PENDING');
  t.equal(e.worker, null);
  t.equal(e.exchange, 'x');
  const later = run(received, ['task-sent', { queue: 'q2', exchange: 'x', hostname: 'gen1@h' }]);
  t.equal(later.state, 'RECEIVED', 'a late task-sent does not move the state back');
  t.equal(later.exchange, 'x', 'but fills in its fields');
  t.equal(later.worker, 'w1@h');
});

t.test('revoked and rejected; a custom task event type becomes its own state', async (t) => {
  const v = run(received, ['task-revoked', { terminated: true, expired: false }]);
  t.equal(v.state, 'REVOKED');
  t.equal(v.terminated, true);
  const j = run(['task-rejected', { reason: 'unregistered task' }]);
  t.equal(j.state, 'REJECTED');
  t.equal(j.reason, 'unregistered task');
  t.equal(run(received, ['task-progress', {}]).state, 'PROGRESS');
});

t.test('fields of the wrong type are ignored; an event applied twice changes nothing', async (t) => {
  const e = run(['task-received', { name: 42, retries: 'x', args: [1] }]);
  t.equal(e.name, null);
  t.equal(e.retries, null);
  t.same(e.args, [1]);
  const entry = run(received, started);
  t.equal(applyTaskEvent(entry, 'task-received', { type: 'task-received', retries: 9 }, 1, 5_000), false, 'an id already applied is refused');
  t.equal(entry.state, 'STARTED');
  t.equal(entry.retries, 0);
  t.same(entry.events, [1, 2]);
});
