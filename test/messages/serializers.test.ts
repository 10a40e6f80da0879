// Serializers without sockets: known bytes for the protocol's example body, kombu's JSON markers
// both ways, values JSON cannot carry refused with a coded error, msgpack known bytes.
import t from 'tap';
import { CeleriacError } from '../../shared/errors.js';
import {
  getSerializer, normalizeContentType, SERIALIZER_NAMES, serializerForContentType,
} from '../../shared/messages/index.js';

const json = getSerializer('json');
const msgpack = getSerializer('msgpack');
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function codeOf(fn: () => unknown): string | undefined {
  try { fn(); } catch (err) { return err instanceof CeleriacError ? err.code : `not a CeleriacError: ${String(err)}`; }
  return undefined;
}

const EXAMPLE = [[2, 2], {}, { callbacks: null, errbacks: null, chain: null, chord: null }];

t.test('registry', async (t) => {
  t.same(SERIALIZER_NAMES, ['json', 'msgpack']);
  t.match(json, { name: 'json', contentType: 'application/json', contentEncoding: 'utf-8' });
  t.match(msgpack, { name: 'msgpack', contentType: 'application/x-msgpack', contentEncoding: 'binary' });
  t.equal(serializerForContentType('Application/JSON; charset=utf-8'), json);
  t.equal(serializerForContentType('application/x-msgpack'), msgpack);
  t.equal(serializerForContentType('application/x-python-serialize'), undefined);
  t.equal(normalizeContentType(' Application/X-Msgpack ;q=1'), 'application/x-msgpack');
  t.equal(codeOf(() => getSerializer('pickle')), 'ERR_INVALID_ARGUMENT');
  t.match(String((() => { try { getSerializer('yaml'); } catch (e) { return e; } })()), /unknown serializer 'yaml' \(known: json, msgpack\)/);
});

t.test('json: the protocol example, byte for byte', async (t) => {
  const bytes = json.encode(EXAMPLE);
  t.equal(text(bytes), '[[2,2],{},{"callbacks":null,"errbacks":null,"chain":null,"chord":null}]');
  // The same body as Python's json.dumps writes it (with spaces) decodes to the same value.
  t.same(json.decode(utf8('[[2, 2], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]')), EXAMPLE);
});

t.test('json: kombu markers for bytes and datetimes', async (t) => {
  const value = { b: Buffer.from('hi'), u: new Uint8Array([0, 255, 1]), d: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 123)), n: [new Date(0)] };
  const encoded = text(json.encode(value));
  t.equal(encoded, '{"b":{"__type__":"base64","__value__":"aGk="},"u":{"__type__":"base64","__value__":"AP8B"},'
    + '"d":{"__type__":"datetime","__value__":"2024-01-02T03:04:05.123+00:00"},"n":[{"__type__":"datetime","__value__":"1970-01-01T00:00:00.000+00:00"}]}');
  const back = json.decode(utf8(encoded)) as Record<string, unknown>;
  t.ok(back.b instanceof Uint8Array);
  t.same([...(back.b as Uint8Array)], [...Buffer.from('hi')]);
  t.same([...(back.u as Uint8Array)], [0, 255, 1]);
  t.ok(back.d instanceof Date);
  t.equal((back.d as Date).toISOString(), '2024-01-02T03:04:05.123Z');
  t.equal(((back.n as Date[])[0]!).getTime(), 0);
  // A top-level Date / bytes too.
  t.equal(text(json.encode(new Date(0))), '{"__type__":"datetime","__value__":"1970-01-01T00:00:00.000+00:00"}');
});

t.test('json: markers a Python producer writes', async (t) => {
  const fromPython = '{"when": {"__type__": "datetime", "__value__": "2024-05-06T07:08:09.123456+02:00"},'
    + ' "naive": {"__type__": "datetime", "__value__": "2024-05-06T07:08:09"},'
    + ' "text": {"__type__": "bytes", "__value__": "h\\u00e9"},'
    + ' "raw": {"__type__": "base64", "__value__": "AAE="},'
    + ' "id": {"__type__": "uuid", "__value__": {"hex": "12345678123456781234567812345678", "version": 4}},'
    + ' "day": {"__type__": "date", "__value__": "2024-05-06"},'
    + ' "price": {"__type__": "decimal", "__value__": "1.10"},'
    + ' "other": {"__type__": "frozenset", "__value__": [1]},'
    + ' "plain": {"__type__": "x", "__value__": 1, "extra": true}}';
  const v = json.decode(utf8(fromPython)) as Record<string, unknown>;
  t.equal((v.when as Date).toISOString(), '2024-05-06T05:08:09.123Z', 'offset applied, microseconds truncated');
  t.equal((v.naive as Date).toISOString(), '2024-05-06T07:08:09.000Z', 'a naive time is UTC, not local');
  t.same([...(v.text as Uint8Array)], [...Buffer.from('hé', 'utf8')]);
  t.same([...(v.raw as Uint8Array)], [0, 1]);
  t.equal(v.id, '12345678-1234-5678-1234-567812345678');
  t.equal(v.day, '2024-05-06');
  t.equal(v.price, '1.10');
  t.same(v.other, { __type__: 'frozenset', __value__: [1] }, 'an unknown marker is kept as is');
  t.same(v.plain, { __type__: 'x', __value__: 1, extra: true }, 'three keys: not a marker');
  t.equal(codeOf(() => json.decode(utf8('{"__type__": "datetime", "__value__": "yesterday"}'))), 'ERR_INVALID_ARGUMENT');
  t.equal(codeOf(() => json.decode(utf8('{"__type__": "base64", "__value__": 5}'))), 'ERR_INVALID_ARGUMENT');
});

t.test('json: what JSON cannot carry is refused, not changed', async (t) => {
  for (const [name, value] of [
    ['bigint', { n: 1n }], ['top-level bigint', 5n], ['NaN', [NaN]], ['Infinity', { x: Infinity }],
    ['Map', { m: new Map([[1, 2]]) }], ['Set', [new Set([1])]], ['Float32Array', { f: new Float32Array(2) }],
    ['invalid Date', { d: new Date(NaN) }], ['bare undefined', undefined], ['a function', () => 1],
  ] as [string, unknown][]) {
    t.equal(codeOf(() => json.encode(value)), 'ERR_INVALID_ARGUMENT', name);
  }
  t.match(String((() => { try { json.encode({ big: 1n }); } catch (e) { return e; } })()), /'big' is a bigint/);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  t.equal(codeOf(() => json.encode(cyclic)), 'ERR_INVALID_ARGUMENT', 'a cycle');
  t.equal(text(json.encode({ a: undefined, b: [undefined] })), '{"b":[null]}', 'undefined as JSON.stringify treats it');
});

t.test('json: bad bytes', async (t) => {
  t.equal(codeOf(() => json.decode(new Uint8Array([0xff, 0xfe]))), 'ERR_INVALID_ARGUMENT', 'invalid UTF-8');
  t.equal(codeOf(() => json.decode(utf8('[1, 2'))), 'ERR_INVALID_ARGUMENT', 'truncated JSON');
  t.equal(codeOf(() => json.decode(utf8('NaN'))), 'ERR_INVALID_ARGUMENT', "Python's NaN literal");
  // __proto__ in a body stays an own property, never the prototype.
  const v = json.decode(utf8('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
  t.equal(({} as Record<string, unknown>).polluted, undefined);
  t.equal(Object.getPrototypeOf(v), Object.prototype);
});

t.test('msgpack: known bytes and types', async (t) => {
  // fixarray(3) [fixarray(2) 2 2] fixmap(0) fixmap(4) {"callbacks": nil, ...}
  const key = (k: string): string => (0xa0 + k.length).toString(16) + hex(utf8(k));
  t.equal(hex(msgpack.encode(EXAMPLE)), `9392020280 84${key('callbacks')}c0${key('errbacks')}c0${key('chain')}c0${key('chord')}c0`.replace(' ', ''));
  t.equal(hex(msgpack.encode([[2, 2], {}])), '9292020280');
  t.same(msgpack.decode(msgpack.encode(EXAMPLE)), EXAMPLE);
  const bytes = msgpack.encode({ b: Buffer.from([1, 2]), d: new Date(1234) });
  // bin 8 (c4) for bytes, as kombu writes with use_bin_type=True
  t.match(hex(bytes), /c4020102/);
  const back = msgpack.decode(bytes) as { b: Uint8Array; d: Date };
  t.same([...back.b], [1, 2]);
  t.equal(back.d.getTime(), 1234);
  t.same(msgpack.decode(msgpack.encode({ a: undefined, b: 1 })), { b: 1 }, 'undefined members dropped, as in JSON');
  t.equal(codeOf(() => msgpack.encode({ n: 10n })), 'ERR_INVALID_ARGUMENT', 'bigint refused');
  t.equal(codeOf(() => msgpack.decode(new Uint8Array([0xc1]))), 'ERR_INVALID_ARGUMENT', 'never-used byte 0xc1');
  t.equal(codeOf(() => msgpack.decode(new Uint8Array([0x93, 0x01]))), 'ERR_INVALID_ARGUMENT', 'truncated');
});
