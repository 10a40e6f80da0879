// The encodability checker without sockets: the path and the reason of the first value each
// serializer cannot carry, agreement with what the serializers really do, and the ERR_ENCODE
// errors buildTaskMessage() raises from it (task, id and path named, chain steps in call order).
import t from 'tap';
import { buildTaskMessage, getSerializer, type Signature } from '../../shared/messages/index.js';
import { encodeError, findUnencodable, MSGPACK_MAX_DEPTH } from '../../shared/messages/encodable.js';
import { encodePlainJson } from '../../shared/messages/json-serializer.js';
import type { SerializerName } from '../../shared/messages/serializers.js';
import { errorOf } from './message-helpers.js';

const ID = '4d5bd5b4-7f5e-4a35-8c8f-2a1c1d2f0a11';
const both: SerializerName[] = ['json', 'msgpack'];
const sig = (task: string, args: unknown[] = []): Signature => ({ task, args, kwargs: {}, options: {}, subtask_type: null, immutable: false });
const where = (v: unknown, s: SerializerName, root = 'result'): string | undefined => {
  const f = findUnencodable(v, s, { root });
  return f === undefined ? undefined : `${f.path} is ${f.problem}`;
};
/** `levels` arrays around `leaf`. */
const nest = (levels: number, leaf: unknown = 1): unknown => {
  let v = leaf;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
};

t.test('NaN and ±Infinity: refused by json with their path, carried by msgpack', async (t) => {
  t.equal(where({ items: [1, 2, { x: NaN }] }, 'json'), 'result.items[2].x is NaN');
  t.equal(where([Infinity], 'json'), 'result[0] is Infinity');
  t.equal(where({ a: { 'b-c': -Infinity } }, 'json'), 'result.a["b-c"] is -Infinity', 'a key that is not an identifier is quoted');
  t.equal(where(NaN, 'json'), 'result is NaN', 'the root itself');
  t.equal(where({ items: [1, 2, { x: NaN }], y: Infinity }, 'msgpack'), undefined, 'msgpack has float64 NaN and Infinity');
});

t.test('BigInt, circular references, functions and symbols: refused by both', async (t) => {
  const self: Record<string, unknown> = { a: 1 };
  self.self = self;
  const deep: Record<string, unknown> = { list: [{ id: 1 }] };
  (deep.list as Record<string, unknown>[])[0]!.back = deep;
  for (const s of both) {
    t.equal(where({ n: 5n }, s), 'result.n is a BigInt', s);
    t.equal(where(self, s), 'result.self is circular', s);
    t.equal(where(deep, s), 'result.list[0].back is circular', s);
    t.equal(where({ f: () => 1 }, s), 'result.f is a function', s);
    t.equal(where([Symbol('x')], s), 'result[0] is a symbol', s);
  }
  const shared = { id: 1 };
  t.equal(where({ a: shared, b: [shared, shared] }, 'json'), undefined, 'the same object in two places is not a cycle');
});

t.test('values a serializer would change silently: Map, Set, typed arrays, invalid dates', async (t) => {
  for (const s of both) {
    t.equal(where({ m: new Map([[1, 2]]) }, s), 'result.m is a Map', s);
    t.equal(where([new Set([1])], s), 'result[0] is a Set', s);
    t.equal(where({ v: new Int16Array(2) }, s), 'result.v is an Int16Array', s);
    t.equal(where({ v: new Float64Array(1) }, s), 'result.v is a Float64Array', s);
    t.equal(where({ v: new ArrayBuffer(4) }, s), 'result.v is an ArrayBuffer', s);
    t.equal(where({ when: new Date(NaN) }, s), 'result.when is an invalid Date', s);
  }
});

t.test('what travels is not reported', async (t) => {
  const fine = {
    s: 'text', n: -0, b: true, nil: null, gone: undefined, list: [undefined, 1], bytes: new Uint8Array([1]), buf: Buffer.from('x'),
    when: new Date(0), nested: { deeper: [{ ok: 1 }] }, [Symbol('key')]: () => 1,
  };
  for (const s of both) {
    t.equal(where(fine, s), undefined, s);
    t.doesNotThrow(() => getSerializer(s).encode(fine), `${s} encodes it`);
  }
  const withToJSON = { toJSON: () => 'as text', inner: NaN };
  t.equal(where(withToJSON, 'json'), undefined, 'json: an object with toJSON() is what toJSON() returns');
  t.equal(where(withToJSON, 'msgpack'), 'result.toJSON is a function', 'msgpack does not call toJSON()');
});

t.test('msgpack depth: the checker agrees with the encoder, counting where the value sits', async (t) => {
  const msgpack = getSerializer('msgpack');
  // The document itself is depth 1: MSGPACK_MAX_DEPTH - 1 arrays around a leaf is the deepest it takes.
  t.equal(findUnencodable(nest(MSGPACK_MAX_DEPTH - 1), 'msgpack'), undefined);
  t.doesNotThrow(() => msgpack.encode(nest(MSGPACK_MAX_DEPTH - 1)));
  t.match(findUnencodable(nest(MSGPACK_MAX_DEPTH), 'msgpack'), { problem: `nested deeper than ${MSGPACK_MAX_DEPTH} levels` });
  t.throws(() => msgpack.encode(nest(MSGPACK_MAX_DEPTH)));
  // A result sits at depth 2 (inside the result meta): one level less is left for it.
  t.match(findUnencodable(nest(MSGPACK_MAX_DEPTH - 1), 'msgpack', { root: 'result', depth: 2 }), { path: /^result(\[0\])+$/ });
  t.throws(() => msgpack.encode({ result: nest(MSGPACK_MAX_DEPTH - 1) }));
  t.equal(findUnencodable(nest(MSGPACK_MAX_DEPTH), 'json'), undefined, 'json has no depth limit');
  t.match(findUnencodable(nest(200_000), 'json', { root: 'args' }), { path: 'args', problem: 'nested too deeply to encode' }, 'a stack overflow is reported, not thrown');
});

t.test('encodeError: ERR_ENCODE (EncodeError) naming the subject, the serializer and the path', async (t) => {
  const err = encodeError('the result of task tasks.x[abc]', 'json', findUnencodable({ x: NaN }, 'json', { root: 'result' })!, { taskId: 'abc' });
  t.equal(err.code, 'ERR_ENCODE');
  t.equal(err.name, 'EncodeError', "Celery's exception name");
  t.match(err.message, /^cannot encode the result of task tasks\.x\[abc\] as json: result\.x is NaN \(JSON has no NaN/);
  t.same(err.details, { taskId: 'abc', serializer: 'json', path: 'result.x' });
});

t.test('buildTaskMessage refuses what its serializer cannot carry, naming the task, its id and the path', async (t) => {
  const args = errorOf(() => buildTaskMessage({ id: ID, task: 'tasks.add', args: [1, { x: NaN }] }));
  t.equal(args?.code, 'ERR_ENCODE');
  t.equal(args?.message, `cannot encode the arguments of task tasks.add[${ID}] as json: args[1].x is NaN (JSON has no NaN or Infinity; send null, a string, or use msgpack)`);
  t.match(args?.details, { task: 'tasks.add', taskId: ID, path: 'args[1].x', serializer: 'json' });
  t.equal(errorOf(() => buildTaskMessage({ id: ID, task: 't', args: [1, { x: NaN }], serializer: 'msgpack' })), undefined, 'msgpack carries NaN');
  t.match(errorOf(() => buildTaskMessage({ id: ID, task: 't', kwargs: { n: 2n }, serializer: 'msgpack' })), { code: 'ERR_ENCODE', details: { path: 'kwargs.n' } });
  const loop: unknown[] = [];
  loop.push(loop);
  t.match(errorOf(() => buildTaskMessage({ id: ID, task: 't', callbacks: [sig('cb', [loop])] })), { code: 'ERR_ENCODE', details: { path: 'callbacks[0].args[0][0]' } });
  // Chain steps are named in execution order (the wire holds them reversed).
  const chained = errorOf(() => buildTaskMessage({ id: ID, task: 't', chain: [sig('first'), sig('second', [Infinity])] }));
  t.match(chained, { code: 'ERR_ENCODE', details: { path: 'chain[1].args[0]' } });
  t.match(chained?.message, /^cannot encode the message of task t\[/);
  t.match(errorOf(() => buildTaskMessage({ id: ID, task: 't', chord: sig('body', [new Map()]) })), { details: { path: 'chord.args[0]' } });
  // The checked message still encodes as before, chain reversed on the wire.
  const ok = buildTaskMessage({ id: ID, task: 't', args: [1], chain: [sig('first'), sig('second')], now: 0, origin: 'o' });
  t.same((getSerializer('json').decode(ok.body) as [unknown, unknown, { chain: Signature[] }])[2].chain.map((s) => s.task), ['second', 'first']);
});

t.test('report.markers: set exactly for values the JSON serializer writes through its replacer', async (t) => {
  const markersOf = (v: unknown): boolean => {
    const report = { markers: true };
    t.equal(findUnencodable(v, 'json', { report }), undefined);
    return report.markers;
  };
  class Point { constructor(readonly x: number, readonly y: number) {} }
  const plain: unknown[] = [5, 'text', null, true, undefined, [1, [2, undefined]], { a: { b: [1, 'x'] }, u: undefined }, new Point(1, 2), -0, {}];
  for (const v of plain) t.equal(markersOf(v), false, `plain: ${String(JSON.stringify(v))}`);
  const marked: unknown[] = [new Uint8Array([1]), Buffer.from('x'), new Date(0), { at: [new Date(0)] }, { toJSON: () => 'x' }];
  for (const v of marked) t.equal(markersOf(v), true, 'needs the replacer');
  // Without markers, JSON.stringify alone writes the serializer's exact bytes.
  const json = getSerializer('json');
  for (const v of plain.filter((p) => p !== undefined)) t.same(encodePlainJson({ result: v, n: 1 }), json.encode({ result: v, n: 1 }));
});
