// Task messages without sockets: the protocol v2 layout field by field, time limits in seconds,
// eta/expires as ISO 8601, chain order, round trips for every serializer × compression, a message
// as Celery 5 writes it, and malformed messages that must become coded errors.
import t from 'tap';
import type { CeleriacError } from '../../shared/errors.js';
import {
  buildTaskMessage, COMPRESSION_METHODS, getSerializer, parseTaskMessage, SERIALIZER_NAMES,
  type BuildTaskMessageInput, type CompressionMethod, type Signature,
} from '../../shared/messages/index.js';
import { errorOf } from './message-helpers.js';

const ID = '4d5bd5b4-7f5e-4a35-8c8f-2a1c1d2f0a11';
const NOW = Date.UTC(2024, 0, 2, 3, 4, 5, 0);
const ACCEPT = ['json', 'msgpack'];
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const sig = (task: string, args: unknown[] = [], extra: Partial<Signature> = {}): Signature =>
  ({ task, args, kwargs: {}, options: {}, subtask_type: null, immutable: false, ...extra });

t.test('the protocol v2 layout', async (t) => {
  const m = buildTaskMessage({ id: ID, task: 'tasks.add', args: [2, 2], now: NOW, origin: 'gen1@host' });
  t.same(Object.keys(m.headers), [
    'lang', 'task', 'id', 'shadow', 'eta', 'expires', 'group', 'group_index', 'retries', 'timelimit',
    'root_id', 'parent_id', 'argsrepr', 'kwargsrepr', 'origin', 'ignore_result',
  ], 'the header names of [Celery protocol v2], no compression header when not compressed');
  t.same(m.headers, {
    lang: 'ts', task: 'tasks.add', id: ID, shadow: null, eta: null, expires: null, group: null, group_index: null,
    retries: 0, timelimit: [null, null], root_id: ID, parent_id: null, argsrepr: '[2, 2]', kwargsrepr: '{}',
    origin: 'gen1@host', ignore_result: false,
  });
  t.same(m.properties, { correlationId: ID, contentType: 'application/json', contentEncoding: 'utf-8', persistent: true });
  t.equal(text(m.body), '[[2,2],{},{"callbacks":null,"errbacks":null,"chain":null,"chord":null}]', 'the reference example body');
});

t.test('default origin is gen<pid>@<hostname>', async (t) => {
  const m = buildTaskMessage({ id: ID, task: 'tasks.add' });
  t.match(m.headers.origin, new RegExp(`^gen${process.pid}@.+`));
});

t.test('a full message: the JSON body a Python Celery worker reads', async (t) => {
  const m = buildTaskMessage({
    id: ID, task: 'proj.tasks.add', args: [1, 'two'], kwargs: { z: true }, now: NOW, origin: 'gen1@host',
    shadow: 'add-shadow', group: 'g-1', groupIndex: 3, retries: 2, rootId: 'root-1', parentId: 'parent-1',
    ignoreResult: true, replyTo: 'reply-q', priority: 5, persistent: false,
    callbacks: [sig('tasks.log', [], { options: { queue: 'web_tasks' } })],
    errbacks: [sig('tasks.on_error', [], { immutable: true })],
    chord: sig('tasks.sum', [], { chord_size: 2 }),
    headers: { tenant: 'acme', trace: [1, 2] },
  });
  t.match(m.headers, {
    shadow: 'add-shadow', group: 'g-1', group_index: 3, retries: 2, root_id: 'root-1', parent_id: 'parent-1',
    ignore_result: true, tenant: 'acme', trace: [1, 2], argsrepr: '[1, "two"]', kwargsrepr: '{"z": true}',
  });
  t.same(m.properties, {
    correlationId: ID, contentType: 'application/json', contentEncoding: 'utf-8', persistent: false, replyTo: 'reply-q', priority: 5,
  });
  t.equal(text(m.body),
    '[[1,"two"],{"z":true},{'
    + '"callbacks":[{"task":"tasks.log","args":[],"kwargs":{},"options":{"queue":"web_tasks"},"subtask_type":null,"immutable":false}],'
    + '"errbacks":[{"task":"tasks.on_error","args":[],"kwargs":{},"options":{},"subtask_type":null,"immutable":true}],'
    + '"chain":null,'
    + '"chord":{"task":"tasks.sum","args":[],"kwargs":{},"options":{},"subtask_type":null,"immutable":false,"chord_size":2}}]');
});

t.test('time limits: ms in, seconds on the wire [hard, soft], ms out', async (t) => {
  const m = buildTaskMessage({ id: ID, task: 't', timeLimit: 5_000, softTimeLimit: 1_500 });
  t.same(m.headers.timelimit, [5, 1.5], 'hard first, as the code writes it');
  t.same(parseTaskMessage(m.headers, m.properties, m.body).timeLimit, { hard: 5_000, soft: 1_500 });
  t.same(buildTaskMessage({ id: ID, task: 't', softTimeLimit: 250 }).headers.timelimit, [null, 0.25]);
  const read = (timelimit: unknown): unknown => parseTaskMessage({ task: 't', id: ID, timelimit }, { contentType: 'application/json' }, utf8('[[], {}, {}]')).timeLimit;
  t.same(read([null, null]), {});
  t.same(read(null), {});
  t.same(read([0, 30]), { soft: 30_000 }, '0 means no limit, as in Celery');
  t.same(read([300.5, 200]), { hard: 300_500, soft: 200_000 });
  t.equal(errorOf(() => buildTaskMessage({ id: ID, task: 't', timeLimit: -1 }))?.code, 'ERR_INVALID_ARGUMENT');
  t.equal(errorOf(() => buildTaskMessage({ id: ID, task: 't', timeLimit: NaN }))?.code, 'ERR_INVALID_ARGUMENT');
  t.equal(errorOf(() => read([5]))?.code, 'ERR_INVALID_ARGUMENT');
  t.equal(errorOf(() => read(['5', null]))?.code, 'ERR_INVALID_ARGUMENT');
});

t.test('eta, countdown and expires: ISO 8601 on the wire, Dates out, a broker delay', async (t) => {
  const m = buildTaskMessage({ id: ID, task: 't', now: NOW, countdown: 10_000, expires: 60_000 });
  t.equal(m.headers.eta, '2024-01-02T03:04:15.000+00:00');
  t.equal(m.headers.expires, '2024-01-02T03:05:05.000+00:00');
  t.equal(m.properties.delay, 10_000, 'the broker holds it until the eta');
  const r = parseTaskMessage(m.headers, m.properties, m.body);
  t.equal(r.eta?.getTime(), NOW + 10_000);
  t.equal(r.expires?.getTime(), NOW + 60_000);

  const at = buildTaskMessage({ id: ID, task: 't', now: NOW, eta: new Date(NOW + 1), expires: new Date(NOW + 2) });
  t.equal(at.headers.eta, '2024-01-02T03:04:05.001+00:00');
  t.equal(at.headers.expires, '2024-01-02T03:04:05.002+00:00');
  t.equal(at.properties.delay, 1);
  const past = buildTaskMessage({ id: ID, task: 't', now: NOW, eta: new Date(NOW - 1000) });
  t.equal(past.properties.delay, undefined, 'an eta in the past needs no delay');
  t.equal(buildTaskMessage({ id: ID, task: 't' }).headers.eta, null);

  t.equal(errorOf(() => buildTaskMessage({ id: ID, task: 't', countdown: 1, eta: new Date() }))?.code, 'ERR_INVALID_ARGUMENT');
  t.equal(errorOf(() => buildTaskMessage({ id: ID, task: 't', eta: new Date(NaN) }))?.code, 'ERR_INVALID_ARGUMENT');
  t.equal(errorOf(() => buildTaskMessage({ id: ID, task: 't', expires: Infinity }))?.code, 'ERR_INVALID_ARGUMENT');
});

t.test('chain: execution order in, reverse order on the wire, execution order out', async (t) => {
  const m = buildTaskMessage({ id: ID, task: 'step1', chain: [sig('step2'), sig('step3'), sig('step4')] });
  const wire = JSON.parse(text(m.body)) as [unknown, unknown, { chain: { task: string }[] }];
  t.same(wire[2].chain.map((s) => s.task), ['step4', 'step3', 'step2'], 'the next step is popped off the end');
  t.same(parseTaskMessage(m.headers, m.properties, m.body).embed.chain.map((s) => s.task), ['step2', 'step3', 'step4']);
  t.equal(JSON.parse(text(buildTaskMessage({ id: ID, task: 't', chain: [] }).body))[2].chain, null, 'an empty chain is null, as Celery writes');
});

t.test('round trips: every serializer × no compression, zlib, gzip, brotli', async (t) => {
  const input: BuildTaskMessageInput = {
    id: ID, task: 'tasks.mix', now: NOW,
    args: [1, -2.5, 'héllo ✓', null, true, [1, [2, { a: 3 }]], new Uint8Array([0, 1, 255]), new Date(NOW)],
    kwargs: { big: 'x'.repeat(10_000), nested: { list: [1, 2, 3] } },
    callbacks: [sig('cb', [1])], errbacks: [sig('eb')], chain: [sig('c1'), sig('c2')], chord: sig('ch'),
    timeLimit: 2_000, countdown: 500, retries: 1, group: 'g', groupIndex: 0,
  };
  for (const serializer of SERIALIZER_NAMES) {
    for (const compression of [null, ...COMPRESSION_METHODS] as (CompressionMethod | null)[]) {
      const name = `${serializer} + ${compression ?? 'none'}`;
      const m = buildTaskMessage({ ...input, serializer, compression });
      t.equal(m.properties.contentType, getSerializer(serializer).contentType, name);
      if (compression !== null) t.ok(m.body.length < 5_000, `${name}: compressed (${m.body.length} bytes)`);
      const r = parseTaskMessage(m.headers, m.properties, m.body, { accept: ACCEPT });
      t.same(r.args, input.args, `${name}: args`);
      t.ok(r.args[6] instanceof Uint8Array && r.args[7] instanceof Date, `${name}: bytes and Date types kept`);
      t.same(r.kwargs, input.kwargs, `${name}: kwargs`);
      t.same(r.embed, { callbacks: [sig('cb', [1])], errbacks: [sig('eb')], chain: [sig('c1'), sig('c2')], chord: sig('ch') }, `${name}: embed`);
      t.match(r, {
        id: ID, task: 'tasks.mix', retries: 1, group: 'g', groupIndex: 0, timeLimit: { hard: 2_000 }, rootId: ID,
        compression, lang: 'ts', correlationId: ID,
      }, `${name}: headers`);
      t.equal(r.eta?.getTime(), NOW + 500, `${name}: eta`);
    }
  }
});

t.test('a message as Celery 5 (Python) writes it', async (t) => {
  // Headers and body as celery/app/amqp.py as_task_v2 produces them, JSON as json.dumps writes it.
  const headers = {
    lang: 'py', task: 'proj.tasks.add', id: ID, shadow: null, eta: '2024-01-02T03:04:15.123456+00:00',
    expires: null, group: null, group_index: null, retries: 0, timelimit: [null, null], root_id: ID,
    parent_id: null, argsrepr: '(2, 2)', kwargsrepr: '{}', origin: 'gen4242@worker-1', ignore_result: false,
    replaced_task_nesting: 0, stamped_headers: null, stamps: {},
  };
  const body = utf8('[[2, 2], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]');
  const r = parseTaskMessage(headers, { contentType: 'application/json', contentEncoding: 'utf-8', correlationId: ID, replyTo: '' }, body);
  t.match(r, {
    id: ID, task: 'proj.tasks.add', args: [2, 2], kwargs: {}, retries: 0, timeLimit: {}, rootId: ID, parentId: null,
    lang: 'py', argsrepr: '(2, 2)', origin: 'gen4242@worker-1', replyTo: null, ignoreResult: false,
  });
  t.same(r.embed, { callbacks: [], errbacks: [], chain: [], chord: null });
  t.equal(r.eta?.toISOString(), '2024-01-02T03:04:15.123Z');
  t.equal(r.headers.stamps !== undefined, true, 'unknown headers are kept');
  // Signatures as Celery writes them: tuples as arrays, extra keys such as chord_size.
  const withLinks = utf8('[[1], {}, {"callbacks": [{"task": "t.cb", "args": [], "kwargs": {}, "options": {}, "subtask_type": null, "immutable": false, "chord_size": null}],'
    + ' "errbacks": null, "chain": [{"task": "t.last", "args": [], "kwargs": {}, "options": {}, "subtask_type": null, "immutable": false},'
    + ' {"task": "t.next", "args": [], "kwargs": {}, "options": {}, "subtask_type": null, "immutable": false}], "chord": null}]');
  const r2 = parseTaskMessage(headers, { contentType: 'application/json' }, withLinks);
  t.same(r2.embed.chain.map((s) => s.task), ['t.next', 't.last']);
  t.same(r2.embed.callbacks[0], { ...sig('t.cb'), chord_size: null });
});

t.test('argsrepr and kwargsrepr are short', async (t) => {
  const m = buildTaskMessage({ id: ID, task: 't', args: ['a'.repeat(5_000)], kwargs: { k: 'b'.repeat(5_000) } });
  t.equal(m.headers.argsrepr.length, 1024, "Celery's argsrepr_maxsize");
  t.ok(m.headers.argsrepr.endsWith('...'));
  t.equal(m.headers.kwargsrepr.length, 1024);
  const small = buildTaskMessage({ id: ID, task: 't', args: [[1, 2, 3]], reprMaxLength: 8 });
  t.equal(small.headers.argsrepr, '[[1, ...');
  const own = buildTaskMessage({ id: ID, task: 't', args: ['secret'], argsrepr: '<redacted>', kwargsrepr: '' });
  t.equal(own.headers.argsrepr, '<redacted>');
  t.equal(own.headers.kwargsrepr, '');
});

t.test('user headers sit beside protocol headers and cannot replace them', async (t) => {
  const m = buildTaskMessage({ id: ID, task: 't', headers: { 'x-tenant': 'acme' } });
  t.equal(m.headers['x-tenant'], 'acme');
  t.equal(parseTaskMessage(m.headers, m.properties, m.body).headers['x-tenant'], 'acme');
  for (const name of ['id', 'task', 'retries', 'compression']) {
    const err = errorOf(() => buildTaskMessage({ id: ID, task: 't', headers: { [name]: 'x' } }));
    t.equal(err?.code, 'ERR_INVALID_ARGUMENT', name);
    t.match(err?.message, new RegExp(`'${name}' is a protocol header`));
  }
  t.equal(errorOf(() => buildTaskMessage({ id: ID, task: 't', headers: JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown> }))?.code, 'ERR_INVALID_ARGUMENT');
});

t.test('bad build input', async (t) => {
  const bad: [string, Partial<BuildTaskMessageInput>][] = [
    ['no id', { id: '' }], ['no task', { task: undefined as unknown as string }], ['args not an array', { args: { 0: 1 } as unknown as unknown[] }],
    ['kwargs an array', { kwargs: [] as unknown as Record<string, unknown> }], ['priority 256', { priority: 256 }],
    ['priority 1.5', { priority: 1.5 }], ['retries -1', { retries: -1 }], ['unknown serializer', { serializer: 'pickle' as 'json' }],
    ['unknown compression', { compression: 'lz4' as 'zlib' }], ['a signature without task', { callbacks: [{} as Signature] }],
    ['chord with args not an array', { chord: { task: 'x', args: 'no' } as unknown as Signature }],
    ['persistent not a boolean', { persistent: 'yes' as unknown as boolean }],
  ];
  for (const [name, patch] of bad) {
    t.equal(errorOf(() => buildTaskMessage({ id: ID, task: 't', ...patch }))?.code, 'ERR_INVALID_ARGUMENT', name);
  }
  // A value the serializer cannot carry is an encode error (test/messages/encodable.test.ts).
  t.equal(errorOf(() => buildTaskMessage({ id: ID, task: 't', args: [1n] }))?.code, 'ERR_ENCODE', 'a bigint argument');
});

t.test('malformed messages become coded errors with clear messages', async (t) => {
  const props = { contentType: 'application/json' };
  const good = utf8('[[], {}, {}]');
  const parse = (headers: Record<string, unknown>, body: Uint8Array = good): CeleriacError | undefined =>
    errorOf(() => parseTaskMessage(headers, props, body));

  const v1 = parse({ id: ID }, utf8('{"task": "tasks.add", "id": "x", "args": [], "kwargs": {}}'));
  t.equal(v1?.code, 'ERR_INVALID_ARGUMENT');
  t.match(v1?.message, /not a Celery protocol v2 task message: the 'task' header is missing \(protocol v1.*not supported\)/);
  t.match(parse({ task: '', id: ID })?.message, /'task' header must be a non-empty string/);
  t.match(parse({ task: 't' })?.message, /'id' header must be a non-empty string/);

  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['body an object', {}, '{"args": []}', /3-element array \[args, kwargs, embed\], got an object/],
    ['body of 2', {}, '[[], {}]', /got an array of 2/],
    ['args an object', {}, '[{}, {}, {}]', /args \(body\[0\]\) must be an array/],
    ['kwargs an array', {}, '[[], [], {}]', /kwargs \(body\[1\]\) must be an object/],
    ['embed a string', {}, '[[], {}, "x"]', /embed \(body\[2\]\) must be an object/],
    ['callbacks an object', {}, '[[], {}, {"callbacks": {}}]', /embed.callbacks must be an array of signatures/],
    ['chain step without task', {}, '[[], {}, {"chain": [{"args": []}]}]', /embed.chain\[0\].task must be a non-empty string/],
    ['chord kwargs an array', {}, '[[], {}, {"chord": {"task": "x", "kwargs": []}}]', /embed.chord.kwargs must be an object/],
    ['not JSON', {}, '[[], {}', /body is not valid JSON/],
    ['eta not a time', { eta: 'tomorrow' }, '[[], {}, {}]', /'eta' header must be an ISO 8601 time or null, got "tomorrow"/],
    ['expires a number', { expires: 5 }, '[[], {}, {}]', /'expires' header must be an ISO 8601 time/],
    ['retries a string', { retries: '1' }, '[[], {}, {}]', /'retries' header must be a non-negative integer/],
    ['group_index negative', { group_index: -1 }, '[[], {}, {}]', /'group_index'/],
    ['ignore_result a string', { ignore_result: 'no' }, '[[], {}, {}]', /'ignore_result' header must be a boolean/],
    ['root_id a number', { root_id: 5 }, '[[], {}, {}]', /'root_id' header must be a string/],
  ];
  for (const [name, headers, body, message] of cases) {
    const err = parse({ task: 'tasks.add', id: ID, ...headers }, utf8(body));
    t.equal(err?.code, 'ERR_INVALID_ARGUMENT', name);
    t.match(err?.message, message, name);
    if (!/^(not JSON)$/.test(name)) t.match(err?.message, /task 'tasks.add'/, `${name}: names the task`);
  }
  t.equal(errorOf(() => parseTaskMessage(null, props, good))?.code, 'ERR_INVALID_ARGUMENT', 'no headers at all');
  t.equal(errorOf(() => parseTaskMessage({ task: 't', id: ID }, props, 'text' as unknown as Uint8Array))?.code, 'ERR_INVALID_ARGUMENT', 'body not bytes');
});

t.test('a compressed bomb is capped before decoding', async (t) => {
  const m = buildTaskMessage({ id: ID, task: 't', args: ['x'.repeat(2_000_000)], compression: 'zlib' });
  t.ok(m.body.length < 20_000);
  const err = errorOf(() => parseTaskMessage(m.headers, m.properties, m.body, { maxBodySize: 1_000_000 }));
  t.equal(err?.code, 'ERR_MESSAGE_TOO_LARGE');
  t.equal(parseTaskMessage(m.headers, m.properties, m.body, { maxBodySize: 3_000_000 }).args.length, 1);
  const corrupt = errorOf(() => parseTaskMessage(m.headers, m.properties, m.body.subarray(0, 100)));
  t.equal(corrupt?.code, 'ERR_INVALID_ARGUMENT', 'truncated zlib data');
});
