// safeRepr (argsrepr/kwargsrepr) and wire times: printable forms never throw and stay short;
// ISO 8601 text as Celery writes and reads it.
import t from 'tap';
import { parseWireTime, safeRepr, toWireTime } from '../../shared/messages/index.js';

t.test('safeRepr', async (t) => {
  t.equal(safeRepr([2, 2]), '[2, 2]');
  t.equal(safeRepr({ a: 'x', b: [null, undefined, true] }), '{"a": "x", "b": [null, undefined, true]}');
  t.equal(safeRepr([new Uint8Array(5), new Date(0), 10n, Symbol('s'), function named() {}]),
    '[<5 bytes>, 1970-01-01T00:00:00.000Z, 10n, Symbol(s), [Function: named]]');
  const cyclic: unknown[] = [1];
  cyclic.push(cyclic);
  t.equal(safeRepr(cyclic), '[1, [Circular]]');
  const shared = { s: 1 };
  t.equal(safeRepr([shared, shared]), '[{"s": 1}, {"s": 1}]', 'a repeated object is not a cycle');
  let deep: unknown = 'bottom';
  for (let i = 0; i < 20; i++) deep = [deep];
  t.equal(safeRepr(deep), '[[[[[[[[[...]]]]]]]]]');
  const long = safeRepr(['x'.repeat(1_000_000)], 50);
  t.equal(long.length, 50);
  t.ok(long.endsWith('...'));
  t.equal(safeRepr(new Array(1_000_000).fill(7), 20), '[7, 7, 7, 7, 7, 7...', 'stops early on a long array');
  const hostile = { get boom(): never { throw new Error('no'); } };
  t.equal(safeRepr(hostile), '<unprintable>');
});

t.test('wire times', async (t) => {
  t.equal(toWireTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))), '2024-01-02T03:04:05.006+00:00');
  t.throws(() => toWireTime(new Date(NaN)), { code: 'ERR_INVALID_ARGUMENT' });
  const cases: [string, string | undefined][] = [
    ['2024-01-02T03:04:05.123456+00:00', '2024-01-02T03:04:05.123Z'],
    ['2024-01-02T03:04:05+02:00', '2024-01-02T01:04:05.000Z'],
    ['2024-01-02T03:04:05-0130', '2024-01-02T04:34:05.000Z'],
    ['2024-01-02 03:04:05Z', '2024-01-02T03:04:05.000Z'],
    ['2024-01-02T03:04', '2024-01-02T03:04:00.000Z'],
    ['2024-01-02T03:04:05.5', '2024-01-02T03:04:05.500Z'],
    ['2024-01-02', undefined], ['tomorrow', undefined], ['2024-13-45T99:99:99Z', undefined], ['', undefined],
  ];
  for (const [input, expected] of cases) t.equal(parseWireTime(input)?.toISOString(), expected, input);
});
