// The scan of an event's top-level fields: what it returns agrees with JSON.parse, keys inside
// nested values are skipped, and whatever it cannot tell as a parse would is left to the parse (null).
import t from 'tap';
import { FIELD_HOSTNAME, FIELD_NAME, FIELD_OFFSETS, FIELD_TYPE, FIELD_UUID, scanEventFields, scanEventOffsets } from '../../server/engine/event-scan.js';

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
    '{"uuid": "a\u0001b"}', '{"uuid": "a\u0000"}',
  ]) t.equal(scanEventFields(bytes(text)), null, text);
});

t.test('the offsets: where each wanted string value lies, -1 for one absent or not a string', async (t) => {
  const body = bytes('{"uuid":"abc","n":{"type":"no"},"type":"task-sent","hostname":null}');
  const out = new Int32Array(FIELD_OFFSETS);
  t.equal(scanEventOffsets(body, out), true);
  const at = (f: number): string | null => (out[f]! < 0 ? null : Buffer.from(body.subarray(out[f]!, out[f + 1]!)).toString());
  t.same([at(FIELD_TYPE), at(FIELD_UUID), at(FIELD_HOSTNAME), at(FIELD_NAME)], ['task-sent', 'abc', null, null]);
  t.equal(scanEventOffsets(bytes('{"uuid":"a\\"b"}'), out), false, 'an escape in a wanted value: left to the parse');
});
