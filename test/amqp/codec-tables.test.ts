// AMQP 0-9-1 field tables: RabbitMQ's known bytes for every tag, the tags where RabbitMQ and the spec
// disagree, seeded round trips of tables with every type, byte-for-byte preservation of what came
// in, the plain views, and malformed tables (unknown tag, truncation, nesting) as coded errors.
import t from 'tap';
import { FieldTable, type FieldEntry } from '../../server/amqp/codec/field-table.js';
import { rng } from '../helpers/rng.js';
import { ALL_TAGS, codeOf, comparable, int, randomBytes, randomEntries } from './codec-helpers.js';

/** The entry bytes of a table (its raw, without the 4-byte length). */
const bytes = (...xs: (number | string | Buffer)[]): Buffer => Buffer.concat(xs.map((x) => (typeof x === 'string' ? Buffer.from(x, 'latin1') : typeof x === 'number' ? Buffer.from([x]) : x)));
/** A key as a short string. */
const key = (k: string): Buffer => bytes(k.length, k);

t.test("known bytes: amqplib's codec tests, which RabbitMQ's rabbit_binary_generator produced", async (t) => {
  // Each row: the entry bytes from amqp-node/amqplib test/codec.test.js ("to generate the answers I
  // used RabbitMQ's binary generator module"), and the typed entry they decode to.
  const cases: [string, number[], FieldEntry][] = [
    ['byte', [4, 98, 121, 116, 101, 98, 112], ['byte', { type: 'b', value: 112 }]],
    ['byte min value', [4, 98, 121, 116, 101, 98, 128], ['byte', { type: 'b', value: -128 }]],
    ['signed short (RabbitMQ tag s)', [5, 115, 104, 111, 114, 116, 115, 255, 127], ['short', { type: 's', value: -129 }]],
    ['-2^15 still a short', [5, 115, 104, 111, 114, 116, 115, 128, 0], ['short', { type: 's', value: -0x8000 }]],
    ['int', [3, 105, 110, 116, 73, 0, 0, 128, 0], ['int', { type: 'I', value: 0x8000 }]],
    ['int min', [3, 105, 110, 116, 73, 128, 0, 0, 0], ['int', { type: 'I', value: -0x80000000 }]],
    ['long (RabbitMQ tag l: signed 64)', [4, 108, 111, 110, 103, 108, 255, 255, 255, 255, 127, 255, 255, 255], ['long', { type: 'l', value: -0x80000001 }]],
    ['double', [6, 100, 111, 117, 98, 108, 101, 100, 191, 224, 0, 0, 0, 0, 0, 0], ['double', { type: 'd', value: -0.5 }]],
    ['long string', [6, 115, 116, 114, 105, 110, 103, 83, 0, 0, 0, 4, 98, 111, 111, 112], ['string', { type: 'S', value: Buffer.from('boop') }]],
    ['byte array', [5, 98, 121, 116, 101, 115, 120, 0, 0, 0, 4, 1, 2, 3, 4], ['bytes', { type: 'x', value: Buffer.from([1, 2, 3, 4]) }]],
    ['true', [4, 98, 111, 111, 108, 116, 1], ['bool', { type: 't', value: true }]],
    ['false', [4, 98, 111, 111, 108, 116, 0], ['bool', { type: 't', value: false }]],
    ['void', [4, 118, 111, 105, 100, 86], ['void', { type: 'V' }]],
    ['timestamp', [9, 116, 105, 109, 101, 115, 116, 97, 109, 112, 84, 0, 0, 1, 60, 0, 39, 219, 23], ['timestamp', { type: 'T', value: 1357212277527 }]],
    ['decimal', [7, 100, 101, 99, 105, 109, 97, 108, 68, 2, 0, 0, 9, 41], ['decimal', { type: 'D', scale: 2, value: 2345 }]],
    ['float', [5, 102, 108, 111, 97, 116, 102, 61, 204, 204, 205], ['float', { type: 'f', value: Math.fround(0.1) }]],
    ['unsigned byte', [12, 117, 110, 115, 105, 103, 110, 101, 100, 98, 121, 116, 101, 66, 255], ['unsignedbyte', { type: 'B', value: 255 }]],
    ['unsigned short', [13, 117, 110, 115, 105, 103, 110, 101, 100, 115, 104, 111, 114, 116, 117, 255, 255], ['unsignedshort', { type: 'u', value: 65535 }]],
    ['unsigned int', [11, 117, 110, 115, 105, 103, 110, 101, 100, 105, 110, 116, 105, 255, 255, 255, 255], ['unsignedint', { type: 'i', value: 4294967295 }]],
  ];
  for (const [name, wire, entry] of cases) {
    const table = FieldTable.decode(Buffer.from(wire));
    t.strictSame(comparable(table.entries()), comparable([entry]), `${name}: decodes`);
    t.equal(FieldTable.fromEntries([entry]).raw.toString('hex'), Buffer.from(wire).toString('hex'), `${name}: encodes to the same bytes`);
  }
  // Nested: { array: [6, true, 'foo'] } and { object: { foo: 'bar', baz: 12 } }, same source.
  const array = FieldTable.decode(Buffer.from([5, 97, 114, 114, 97, 121, 65, 0, 0, 0, 12, 98, 6, 116, 1, 83, 0, 0, 0, 3, 102, 111, 111]));
  t.strictSame(array.toObject(), { array: [6, true, 'foo'] });
  const object = FieldTable.decode(Buffer.from([6, 111, 98, 106, 101, 99, 116, 70, 0, 0, 0, 18, 3, 102, 111, 111, 83, 0, 0, 0, 3, 98, 97, 114, 3, 98, 97, 122, 98, 12]));
  t.strictSame(object.toObject(), { object: { foo: 'bar', baz: 12 } });
  t.equal(FieldTable.fromEntries(object.entries()).raw.toString('hex'), object.raw.toString('hex'), 'nested table re-encodes to the same bytes');
});

t.test("the tags RabbitMQ reads differently from the 0-9-1 spec's table", async (t) => {
  // rabbit_binary_parser.erl: 's' is a signed 16-bit integer (the spec: a short string), 'l' and 'L'
  // are both signed 64-bit (the spec: 'l' unsigned), 'U' (the spec's signed 16-bit) is read too.
  const table = FieldTable.decode(bytes(key('s'), 's', 0xff, 0xfe, key('U'), 'U', 0x80, 0x00, key('l'), 'l', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, key('L'), 'L', 0x80, 0, 0, 0, 0, 0, 0, 0));
  t.strictSame(comparable(table.entries()), comparable([
    ['s', { type: 's', value: -2 }], ['U', { type: 'U', value: -32768 }], ['l', { type: 'l', value: -1 }], ['L', { type: 'L', value: -(2n ** 63n) }],
  ]));
});

t.test('seeded round trips: tables with every type, nested, keys repeated', async (t) => {
  const r = rng(0xa3b1);
  for (let i = 0; i < 400; i++) {
    const entries = randomEntries(r, ALL_TAGS, 3, int(r, 0, 8));
    const table = FieldTable.fromEntries(entries);
    const decoded = FieldTable.decode(table.raw);
    if (!t.strictSame(comparable(decoded.entries()), comparable(entries), `case ${i}: decoded entries`)) break;
    if (!t.ok(FieldTable.fromEntries(decoded.entries()).equals(table), `case ${i}: re-encoded from its entries, the same bytes`)) break;
  }
  t.ok(ALL_TAGS.length === 19, 'every tag of the errata table and the spec is drawn');
});

t.test('what came in is kept byte for byte, even bytes the typed view cannot tell apart', async (t) => {
  // A boolean octet of 2 is true, as RabbitMQ reads it; its bytes are still what was sent.
  const odd = bytes(key('flag'), 't', 2, key('nan'), 'd', 0x7f, 0xf8, 0, 0, 0, 0, 0, 0x01);
  const table = FieldTable.decode(odd);
  t.equal(table.raw, odd, 'raw is the very input (a view, no copy)');
  t.strictSame(table.get('flag'), { type: 't', value: true });
  t.strictSame(table.toObject().flag, true);
  t.equal(table.get('missing'), undefined);
  t.ok(Number.isNaN(table.toObject().nan as number));
});

t.test('64-bit values: numbers while exact, bigints past 2^53, both ways', async (t) => {
  const cases: [FieldEntry, string][] = [
    [['a', { type: 'l', value: 2n ** 62n }], 'bigint past 2^53'],
    [['b', { type: 'l', value: Number.MIN_SAFE_INTEGER }], 'the smallest safe integer stays a number'],
    [['c', { type: 'T', value: 2n ** 64n - 1n }], 'the largest timestamp'],
    [['d', { type: 'L', value: -(2n ** 53n) }], '-2^53 is not safe: a bigint'],
  ];
  for (const [entry, name] of cases) {
    const back = FieldTable.decode(FieldTable.fromEntries([entry]).raw).entries()[0]!;
    t.strictSame(back, entry, name);
  }
});

t.test('the plain view and tables built from plain values', async (t) => {
  const table = FieldTable.fromObject({
    str: 'héllo', yes: true, small: 5, negative: -70000, big: 2 ** 40, frac: 0.25, huge: 2n ** 60n, none: null, skipped: undefined,
    bytes: Buffer.from([0, 255]), list: [1, 'two', [false]], nested: { ttl: 60000, inner: { deep: 'x' } }, table: FieldTable.fromObject({ k: 'v' }),
  });
  // Tags every client reads alike: py-amqp reads 'b' unsigned, and amqplib cannot read 'U' or 'L'.
  t.strictSame(table.entries().map(([k, v]) => [k, v.type]), [
    ['str', 'S'], ['yes', 't'], ['small', 'I'], ['negative', 'I'], ['big', 'l'], ['frac', 'd'], ['huge', 'l'], ['none', 'V'],
    ['bytes', 'x'], ['list', 'A'], ['nested', 'F'], ['table', 'F'],
  ]);
  t.strictSame(table.toObject(), {
    str: 'héllo', yes: true, small: 5, negative: -70000, big: 2 ** 40, frac: 0.25, huge: 2n ** 60n, none: null,
    bytes: Buffer.from([0, 255]), list: [1, 'two', [false]], nested: { ttl: 60000, inner: { deep: 'x' } }, table: { k: 'v' },
  });
  t.strictSame(FieldTable.decode(Buffer.from([7, 100, 101, 99, 105, 109, 97, 108, 68, 2, 0, 0, 9, 41])).toObject(), { decimal: 23.45 }, 'a decimal is value / 10^scale');
  t.ok(FieldTable.fromObject({}).isEmpty);
  t.equal(FieldTable.decode(Buffer.alloc(0)), FieldTable.EMPTY);
});

t.test('values that cannot be encoded are ERR_INVALID_ARGUMENT', async (t) => {
  t.equal(codeOf(() => FieldTable.fromObject({ m: new Map() as never })), 'ERR_INVALID_ARGUMENT', 'a Map');
  t.equal(codeOf(() => FieldTable.fromObject({ d: new Date() as never })), 'ERR_INVALID_ARGUMENT', 'a Date');
  const loop: Record<string, unknown> = {};
  loop.self = loop;
  t.equal(codeOf(() => FieldTable.fromObject(loop as never)), 'ERR_INVALID_ARGUMENT', 'a circular object');
  t.equal(codeOf(() => FieldTable.fromObject({ ['k'.repeat(256)]: 1 })), 'ERR_INVALID_ARGUMENT', 'a key longer than 255 bytes');
  t.equal(codeOf(() => FieldTable.fromEntries([['b', { type: 'b', value: 128 }]])), 'ERR_INVALID_ARGUMENT', "'b' out of range");
  t.equal(codeOf(() => FieldTable.fromEntries([['i', { type: 'i', value: -1 }]])), 'ERR_INVALID_ARGUMENT', "'i' negative");
  t.equal(codeOf(() => FieldTable.fromEntries([['l', { type: 'l', value: 2 ** 60 }]])), 'ERR_INVALID_ARGUMENT', "'l' number past 2^53");
  t.equal(codeOf(() => FieldTable.fromEntries([['l', { type: 'l', value: 2n ** 63n }]])), 'ERR_INVALID_ARGUMENT', "'l' bigint past int64");
  t.equal(codeOf(() => FieldTable.fromEntries([['D', { type: 'D', scale: 256, value: 1 }]])), 'ERR_INVALID_ARGUMENT', 'decimal scale past an octet');
});

t.test('malformed tables are coded errors, never a RangeError', async (t) => {
  t.equal(codeOf(() => FieldTable.decode(bytes(key('q'), 'Q', 1))), 'ERR_AMQP_SYNTAX', 'unknown tag Q: 502');
  t.equal(codeOf(() => FieldTable.decode(bytes(key('q'), 0xc3, 1))), 'ERR_AMQP_SYNTAX', 'a tag past ASCII: 502');
  t.equal(codeOf(() => FieldTable.decode(bytes(key('i'), 'I', 0, 0))), 'ERR_AMQP_FRAME', 'an int cut short: 501');
  t.equal(codeOf(() => FieldTable.decode(bytes(key('s'), 'S', 0, 0, 0, 9, 'abc'))), 'ERR_AMQP_FRAME', 'a long string longer than the table: 501');
  t.equal(codeOf(() => FieldTable.decode(bytes(9, 'abc'))), 'ERR_AMQP_FRAME', 'a key longer than the table: 501');
  t.equal(codeOf(() => FieldTable.decode(bytes(key('k')))), 'ERR_AMQP_FRAME', 'a key with no value: 501');
  t.equal(codeOf(() => FieldTable.decode(bytes(key('a'), 'A', 0, 0, 0, 2, 'I', 0))), 'ERR_AMQP_FRAME', 'an array whose value runs past it: 501');
  // Nesting: 40 arrays deep is refused (limit 32), 10 deep is fine.
  const nest = (levels: number): Buffer => {
    let inner = bytes('V');
    for (let i = 0; i < levels; i++) inner = Buffer.concat([bytes('A'), Buffer.from([0, 0, 0, inner.length]), inner]);
    return Buffer.concat([key('n'), inner]);
  };
  t.equal(codeOf(() => FieldTable.decode(nest(10))), 'none', '10 levels');
  t.equal(codeOf(() => FieldTable.decode(nest(40))), 'ERR_AMQP_SYNTAX', '40 levels: 502');
  t.equal(codeOf(() => FieldTable.decode(nest(40), 64)), 'none', 'a higher limit allows them');

  const r = rng(77);
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    // Random bytes, and valid tables with a byte flipped or cut.
    let input = randomBytes(r, 60);
    if (i % 2 === 0) {
      const valid = FieldTable.fromEntries(randomEntries(r, ALL_TAGS, 2)).raw;
      input = Buffer.from(valid.subarray(0, int(r, 0, valid.length)));
      if (input.length > 0 && r() < 0.5) input[int(r, 0, input.length - 1)] = int(r, 0, 255);
    }
    const code = codeOf(() => FieldTable.decode(input).toObject());
    seen.add(code);
    if (!['none', 'ERR_AMQP_FRAME', 'ERR_AMQP_SYNTAX'].includes(code)) { t.fail(`input ${input.toString('hex')}: ${code}`); break; }
  }
  t.strictSame([...seen].sort(), ['ERR_AMQP_FRAME', 'ERR_AMQP_SYNTAX', 'none'], 'every outcome seen, nothing else');
});
