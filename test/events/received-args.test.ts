// The argument values a worker's task-received carries (client/worker/received-args.ts): the same
// JSON as the json serializer writes (so a worker decodes them back to the same values, Dates and
// bytes included), plain values passed through uncopied, large or unencodable ones left out.
import t from 'tap';
import { argumentValues, MAX_EVENT_ARGS_BYTES } from '../../client/worker/received-args.js';
import { jsonSerializer } from '../../shared/messages/json-serializer.js';

const text = (v: unknown): string => JSON.stringify(v);
const serialized = (args: unknown[], kwargs: Record<string, unknown>): string => Buffer.from(jsonSerializer.encode([args, kwargs])).toString('utf8');

class Point {
  constructor(readonly x: number, readonly y: number) {}
}

t.test('the json serializer\'s form, and a worker decodes it back to the same values', async (t) => {
  const when = new Date('2026-01-02T03:04:05.678Z');
  const cases: [string, unknown[], Record<string, unknown>][] = [
    ['plain', [1, 'two', true, null, [3.5, { a: 'b' }]], { k: 'v', nested: { list: [1, 2] } }],
    ['a date and bytes', [when, new Uint8Array([0, 1, 254, 255])], { at: when, raw: Buffer.from('hi') }],
    ['undefined members and items', [undefined, 1], { gone: undefined, kept: 1 }],
    ['a class instance (the slow way)', [new Point(1, 2)], {}],
    ['an empty call', [], {}],
  ];
  for (const [what, args, kwargs] of cases) {
    const v = argumentValues(args, kwargs);
    if (v === undefined) throw new Error(`${what}: carried`);
    t.equal(text([v.args_value, v.kwargs_value]), serialized(args, kwargs), `${what}: the serializer's JSON`);
    const back = jsonSerializer.decode(Buffer.from(text([v.args_value, v.kwargs_value]))) as [unknown[], Record<string, unknown>];
    t.strictSame(back, jsonSerializer.decode(jsonSerializer.encode([args, kwargs])), `${what}: decoded as the message would be`);
  }
  const dated = argumentValues([when], {})!;
  t.strictSame(dated.args_value, [{ __type__: 'datetime', __value__: '2026-01-02T03:04:05.678+00:00' }], 'a Date as its kombu marker');
});

t.test('plain arguments are passed through uncopied; the caller\'s values are never changed', async (t) => {
  const args = [1, { a: [2] }];
  const kwargs = { k: 'v' };
  const v = argumentValues(args, kwargs)!;
  t.equal(v.args_value, args, 'the same array');
  t.equal(v.kwargs_value, kwargs, 'the same object');
  const withDate = [new Date(0), 'x'];
  const marked = argumentValues(withDate, {})!;
  t.not(marked.args_value, withDate, 'a copy where a value was marked');
  t.ok(withDate[0] instanceof Date, 'the original keeps its Date');
});

t.test('left out: over the size bound, or what JSON cannot carry', async (t) => {
  t.equal(argumentValues(['x'.repeat(MAX_EVENT_ARGS_BYTES)], {}), undefined, 'a long string');
  t.equal(argumentValues([new Uint8Array(MAX_EVENT_ARGS_BYTES)], {}), undefined, 'many bytes');
  t.equal(argumentValues(Array.from({ length: MAX_EVENT_ARGS_BYTES }, () => 1), {}), undefined, 'many items');
  t.ok(argumentValues(['x'.repeat(MAX_EVENT_ARGS_BYTES / 2)], {}), 'half the bound fits');
  t.equal(argumentValues([10n], {}), undefined, 'a bigint');
  t.equal(argumentValues([new Map([[1, 2]])], {}), undefined, 'a Map');
  t.equal(argumentValues([Number.NaN], {}), undefined, 'NaN');
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  t.equal(argumentValues([cycle], {}), undefined, 'a cycle');
});
