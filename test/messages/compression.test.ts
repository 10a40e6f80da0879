// Compression without sockets: header values as kombu writes them, round trips, the zip-bomb
// cap (the output is never built past it), corrupt and unsupported input.
import t from 'tap';
import { deflateSync, gzipSync } from 'node:zlib';
import {
  COMPRESSION_METHODS, compress, compressionHeaderOf, compressionMethodOf, decompress, isCompressionMethod,
  type CompressionMethod,
} from '../../shared/messages/index.js';
import { errorOf } from './message-helpers.js';

t.test('header values', async (t) => {
  t.same(COMPRESSION_METHODS, ['zlib', 'gzip', 'brotli']);
  t.equal(compressionHeaderOf('zlib'), 'application/x-gzip', "kombu's content type for zlib");
  t.equal(compressionHeaderOf('gzip'), 'application/gzip');
  t.equal(compressionHeaderOf('brotli'), 'application/x-brotli');
  t.equal(compressionMethodOf('application/x-gzip'), 'zlib');
  t.equal(compressionMethodOf('Application/GZIP'), 'gzip');
  t.equal(compressionMethodOf('application/x-brotli'), 'brotli');
  t.equal(compressionMethodOf('zlib'), 'zlib', 'kombu alias');
  t.equal(compressionMethodOf('application/x-bz2'), undefined);
  t.ok(isCompressionMethod('brotli'));
  t.notOk(isCompressionMethod('bzip2'));
  t.equal(errorOf(() => compressionHeaderOf('lz4' as CompressionMethod))?.code, 'ERR_INVALID_ARGUMENT');
  t.equal(errorOf(() => compress('lz4' as CompressionMethod, new Uint8Array(1)))?.code, 'ERR_INVALID_ARGUMENT');
});

t.test('round trips', async (t) => {
  const inputs = [new Uint8Array(0), new TextEncoder().encode('[[2, 2], {}, {}]'), new Uint8Array(100_000).map((_, i) => (i * 7) % 251)];
  for (const method of COMPRESSION_METHODS) {
    for (const input of inputs) {
      const packed = compress(method, input);
      t.same([...decompress(compressionHeaderOf(method), packed)], [...input], `${method} ${input.length} bytes`);
    }
  }
  // zlib writes a zlib stream (78 9c): what Python's zlib.decompress reads.
  t.equal(Buffer.from(compress('zlib', new Uint8Array([1]))).subarray(0, 2).toString('hex'), '789c');
  // gzip writes gzip framing (1f 8b).
  t.equal(Buffer.from(compress('gzip', new Uint8Array([1]))).subarray(0, 2).toString('hex'), '1f8b');
});

t.test("'application/x-gzip' reads zlib and gzip framing alike", async (t) => {
  const input = new TextEncoder().encode('hello');
  t.equal(Buffer.from(decompress('application/x-gzip', deflateSync(input))).toString(), 'hello');
  t.equal(Buffer.from(decompress('application/x-gzip', gzipSync(input))).toString(), 'hello');
});

t.test('zip bomb: capped, and the output is never built past the cap', async (t) => {
  const zeros = new Uint8Array(8 * 1024 * 1024);
  for (const method of COMPRESSION_METHODS) {
    const bomb = compress(method, zeros);
    t.ok(bomb.length < 64 * 1024, `${method}: 8 MiB of zeros packs into ${bomb.length} bytes`);
    const err = errorOf(() => decompress(compressionHeaderOf(method), bomb, { maxOutputLength: 1024 * 1024 }));
    t.equal(err?.code, 'ERR_MESSAGE_TOO_LARGE', method);
    t.match(err?.message, /exceeds 1048576 bytes/);
    t.equal(err?.details?.maxOutputLength, 1024 * 1024);
    // Exactly at the cap is fine.
    t.equal(decompress(compressionHeaderOf(method), bomb, { maxOutputLength: zeros.length }).length, zeros.length);
  }
  t.equal(errorOf(() => decompress('zlib', new Uint8Array(0), { maxOutputLength: 0 }))?.code, 'ERR_INVALID_ARGUMENT');
});

t.test('corrupt and unsupported', async (t) => {
  const garbage = new TextEncoder().encode('definitely not compressed');
  for (const method of COMPRESSION_METHODS) {
    t.equal(errorOf(() => decompress(method, garbage))?.code, 'ERR_INVALID_ARGUMENT', `${method}: garbage`);
  }
  const bz2 = errorOf(() => decompress('application/x-bz2', garbage));
  t.equal(bz2?.code, 'ERR_INVALID_ARGUMENT');
  t.match(bz2?.message, /bzip2 compression is not supported 'application\/x-bz2'/);
  t.match(errorOf(() => decompress('application/x-snappy', garbage))?.message, /unknown compression 'application\/x-snappy'/);
});
