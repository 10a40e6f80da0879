// acceptContent: decided from properties alone, before any decoding. The refused-body tests hand
// parseTaskMessage a body that records every touch, and prove it was never read.
import t from 'tap';
import {
  buildTaskMessage, compileAccept, DEFAULT_ACCEPT_CONTENT, getSerializer, guardContent, parseTaskMessage,
} from '../../shared/messages/index.js';
import { errorOf } from './message-helpers.js';

/** A Uint8Array stand-in that counts any use at all: property reads, instanceof, native calls. */
function untouchable(): { body: Uint8Array; touched: () => number } {
  let touches = 0;
  const target = new Uint8Array([0x80, 0x04, 0x95]); // the start of a pickle: must never be decoded
  const count = <T>(v: T): T => { touches++; return v; };
  const body = new Proxy(target, {
    get: (o, k) => count(Reflect.get(o, k)),
    has: (o, k) => count(Reflect.has(o, k)),
    getPrototypeOf: (o) => count(Reflect.getPrototypeOf(o)),
    ownKeys: (o) => count(Reflect.ownKeys(o)),
    getOwnPropertyDescriptor: (o, k) => count(Reflect.getOwnPropertyDescriptor(o, k)),
  });
  return { body, touched: () => touches };
}

t.test('compileAccept', async (t) => {
  t.same(DEFAULT_ACCEPT_CONTENT, ['json'], "Celery's default");
  t.same([...compileAccept(['json', 'msgpack']).contentTypes], ['application/json', 'application/x-msgpack']);
  t.same([...compileAccept(['Application/JSON; charset=utf-8']).contentTypes], ['application/json']);
  t.same([...compileAccept([]).contentTypes], []);
  const typo = errorOf(() => compileAccept(['jsno']));
  t.equal(typo?.code, 'ERR_INVALID_ARGUMENT');
  t.match(typo?.message, /unknown serializer 'jsno' in acceptContent/);
  t.equal(errorOf(() => compileAccept([''] as string[]))?.code, 'ERR_INVALID_ARGUMENT');
  t.equal(errorOf(() => compileAccept('json' as unknown as string[]))?.code, 'ERR_INVALID_ARGUMENT');
});

t.test('guardContent verdicts', async (t) => {
  t.match(guardContent({ contentType: 'application/json', contentEncoding: 'utf-8' }, ['json']), { contentType: 'application/json', compression: null });
  t.match(guardContent({ contentType: 'application/x-msgpack', compression: 'application/x-gzip' }, ['msgpack']), { compression: 'zlib' });
  t.match(guardContent({ contentType: 'application/json' }, ['application/json']).serializer, { name: 'json' });

  const refused = errorOf(() => guardContent({ contentType: 'application/x-python-serialize' }, ['json', 'msgpack']));
  t.equal(refused?.code, 'ERR_ACCESS_DENIED');
  t.match(refused?.message, /content type 'application\/x-python-serialize': not in acceptContent \[json, msgpack\]; it was not decoded/);
  t.same(refused?.details, { contentType: 'application/x-python-serialize', accept: ['json', 'msgpack'] });

  t.equal(errorOf(() => guardContent({ contentType: 'application/x-msgpack' }, ['json']))?.code, 'ERR_ACCESS_DENIED', 'msgpack when only json is accepted');
  t.match(errorOf(() => guardContent({}, ['json']))?.message, /'application\/data'/, 'no content type counts as application/data');
  t.equal(errorOf(() => guardContent({ contentType: '' }, ['json']))?.code, 'ERR_ACCESS_DENIED');
  t.equal(errorOf(() => guardContent({ contentType: 'application/x-yaml' }, ['application/x-yaml']))?.code, 'ERR_INVALID_ARGUMENT', 'accepted but unreadable');
  t.equal(errorOf(() => guardContent({ contentType: 'application/json', compression: 'application/x-bz2' }, ['json']))?.code, 'ERR_INVALID_ARGUMENT');
  t.equal(errorOf(() => guardContent({ contentType: 'application/json', compression: 7 }, ['json']))?.code, 'ERR_INVALID_ARGUMENT');
  t.equal(errorOf(() => guardContent({ contentType: 'application/json', contentEncoding: 'latin-1' }, ['json']))?.code, 'ERR_INVALID_ARGUMENT');
});

t.test('a refused message is never decoded', async (t) => {
  const { body, touched } = untouchable();
  const err = errorOf(() => parseTaskMessage(
    { task: 'tasks.add', id: 'x', compression: 'application/x-gzip' },
    { contentType: 'application/x-python-serialize', contentEncoding: 'binary' },
    body,
    { accept: ['json', 'msgpack'] },
  ));
  t.equal(err?.code, 'ERR_ACCESS_DENIED');
  t.match(err?.message, /application\/x-python-serialize/);
  t.equal(touched(), 0, 'the body was not read at all');

  // The probe does notice use: an accepted message reads it (and then fails to decode it).
  const probe = untouchable();
  errorOf(() => parseTaskMessage({ task: 'tasks.add', id: 'x' }, { contentType: 'application/json' }, probe.body, { accept: ['json'] }));
  t.ok(probe.touched() > 0, 'an accepted body is read');
});

t.test('default accept is json only, as in Celery', async (t) => {
  const m = buildTaskMessage({ id: 'id-1', task: 'tasks.add', args: [1, 2], serializer: 'msgpack' });
  t.equal(errorOf(() => parseTaskMessage(m.headers, m.properties, m.body))?.code, 'ERR_ACCESS_DENIED');
  t.equal(parseTaskMessage(m.headers, m.properties, m.body, { accept: compileAccept(['msgpack']) }).task, 'tasks.add');
});

t.test('a verdict given again from the per-whitelist cache is the same, and refusals are never cached', async (t) => {
  const accept = compileAccept(['json']);
  const first = guardContent({ contentType: 'application/json', contentEncoding: 'utf-8' }, accept);
  const again = guardContent({ contentType: 'application/json', contentEncoding: 'utf-8' }, accept);
  t.equal(again, first, 'the cached plan');
  t.ok(Object.isFrozen(again), 'shared, so frozen');
  t.same(again, { contentType: 'application/json', serializer: getSerializer('json'), compression: null });
  // The same content type with what the cache does not cover still goes through every check.
  t.throws(() => guardContent({ contentType: 'application/json', contentEncoding: 'latin-1' }, accept), { code: 'ERR_INVALID_ARGUMENT' });
  t.throws(() => guardContent({ contentType: 'application/json', compression: 'lzma' }, accept), { code: 'ERR_INVALID_ARGUMENT' });
  t.not(guardContent({ contentType: 'application/json', compression: 'application/x-gzip' }, accept).compression, null, 'a compressed body is not taken for a plain one');
  for (let i = 0; i < 2; i++) {
    t.throws(() => guardContent({ contentType: 'application/x-msgpack' }, accept), { code: 'ERR_ACCESS_DENIED' }, 'a refused type stays refused');
  }
  // Another whitelist has its own verdicts.
  t.throws(() => guardContent({ contentType: 'application/json' }, compileAccept(['msgpack'])), { code: 'ERR_ACCESS_DENIED' });
});
