// The scan of an event's top-level fields: what it returns agrees with JSON.parse, keys inside
// nested values are skipped, and whatever it cannot tell as a parse would is left to the parse (null).
import t from 'tap';
import { scanEventFields } from '../../server/engine/event-scan.js';

const bytes = (s: string): Uint8Array => Buffer.from(s);

t.test('the four fields of a Celery-shaped event, as JSON.parse reads them', async (t) => {
  const ev = {
    hostname: 'w1@h', utcoffset: 0, pid: 12, clock: 7, uuid: '5f0c8a4e-1', name: 'tasks.add', args: '[2, 3]', kwargs: '{}',
    args_value: [2, { type: 'nested', uuid: 'no', name: 'no' }], kwargs_value: { hostname: 'no' }, retries: 0, eta: null,
    result: '5', runtime: 0.001, timestamp: 1_700_000_000.5, ok: true, type: 'task-received',
  };
  t.same(scanEventFields(bytes(JSON.stringify(ev))), { type: 'task-received', uuid: '5f0c8a4e-1', hostname: 'w1@h', name: 'tasks.add' });
  t.same(scanEventFields(bytes(JSON.stringify(ev, null, 2))), { type: 'task-received', uuid: '5f0c8a4e-1', hostname: 'w1@h', name: 'tasks.add' }, 'with whitespace');
  t.same(scanEventFields(bytes('{"type": "worker-heartbeat", "hostname": 5, "x": "a\\"}b"}')), { type: 'worker-heartbeat', uuid: null, hostname: null, name: null },
    'a field that is not a string is null; an escaped quote inside another value is skipped');
  t.same(scanEventFields(bytes('{}')), { type: null, uuid: null, hostname: null, name: null });
});

t.test('left to the parse: not an object, malformed, escapes or non-ASCII in a wanted value, a repeated key', async (t) => {
  for (const text of [
    '[1]', '"task-sent"', '{"type": "task-sent"', '{"type" "task-sent"}', '{"type": "task-sent"} x', '{"a": [1, 2}',
    '{"name": "t\\u00e9"}', '{"hostname": "h\u00e9"}', '{"type": "a", "type": "b"}', '{"typ\\u0065": "task-sent"}', '{"a": }',
  ]) t.equal(scanEventFields(bytes(text)), null, text);
});
