// Body compression: zlib, gzip and brotli with node:zlib's sync APIs, the `compression` header
// value each is written with, and a cap on decompressed size so a zip bomb cannot exhaust memory.
import {
  brotliCompressSync, brotliDecompressSync, constants as zc, deflateSync, gzipSync, unzipSync, type BrotliOptions, type ZlibOptions,
} from 'node:zlib';
import { CeleriacError, fail } from '../errors.js';

/**
 * The compression methods and their `compression` header values.
 *
 * - `zlib` writes `application/x-gzip`, exactly as kombu does for zlib (`kombu/compression.py`
 *   registers `zlib.compress` under that content type, with the aliases 'zlib' and 'gzip'), so a
 *   Python Celery worker reads it.
 * - `gzip` writes real gzip framing under `application/gzip` (RFC 6713). kombu has no decoder
 *   for that type: use `zlib` when Python workers must read the messages.
 * - `brotli` writes `application/x-brotli`, kombu's type for brotli (the worker needs the
 *   Python `brotli` package).
 */
export const COMPRESSIONS = {
  zlib: { header: 'application/x-gzip' },
  gzip: { header: 'application/gzip' },
  brotli: { header: 'application/x-brotli' },
} as const;

/** A compression method celeriac can write and read. */
export type CompressionMethod = keyof typeof COMPRESSIONS;

/** The known methods, for validation messages and settings checks. */
export const COMPRESSION_METHODS = Object.freeze(Object.keys(COMPRESSIONS)) as readonly CompressionMethod[];

/** Default cap on a decompressed body: 64 MiB, the broker's largest WebSocket message. */
export const DEFAULT_MAX_DECOMPRESSED_SIZE = 64 * 1024 * 1024;

/** Options of decompress(). */
export interface DecompressOptions {
  /** Largest decompressed size in bytes; more is ERR_MESSAGE_TOO_LARGE. Default DEFAULT_MAX_DECOMPRESSED_SIZE. */
  maxOutputLength?: number;
}

// Header values (and kombu's aliases) we read → method. 'application/x-gzip' may hold zlib or
// gzip framing in the wild; unzipSync detects which, so both read the same.
const BY_HEADER: ReadonlyMap<string, CompressionMethod> = new Map<string, CompressionMethod>([
  ['application/x-gzip', 'zlib'], ['zlib', 'zlib'],
  ['application/gzip', 'gzip'], ['gzip', 'gzip'],
  ['application/x-brotli', 'brotli'], ['brotli', 'brotli'],
]);

// kombu's other methods: known, so the error can say what they are, but node:zlib lacks them.
const UNSUPPORTED: ReadonlyMap<string, string> = new Map([
  ['application/x-bz2', 'bzip2'], ['application/x-lzma', 'lzma'], ['application/zstd', 'zstd'],
]);

/** True when `name` is a compression method celeriac writes. */
export function isCompressionMethod(name: unknown): name is CompressionMethod {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(COMPRESSIONS, name);
}

/** The `compression` header value written for `method`. */
export function compressionHeaderOf(method: CompressionMethod): string {
  return checkMethod(method) && COMPRESSIONS[method].header;
}

/**
 * The method that reads a `compression` header value (or kombu alias), case-insensitively;
 * undefined when celeriac cannot decompress it.
 */
export function compressionMethodOf(header: string): CompressionMethod | undefined {
  return BY_HEADER.get(header.trim().toLowerCase());
}

/** Compresses `bytes` with `method`; an unknown method throws ERR_INVALID_ARGUMENT. */
export function compress(method: CompressionMethod, bytes: Uint8Array): Uint8Array {
  checkMethod(method);
  switch (method) {
    case 'zlib': return deflateSync(bytes);
    case 'gzip': return gzipSync(bytes);
    case 'brotli': {
      // Quality 4: brotli's default (11) is far too slow for per-message use; 4 still beats zlib.
      const options: BrotliOptions = { params: { [zc.BROTLI_PARAM_QUALITY]: 4, [zc.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength } };
      return brotliCompressSync(bytes, options);
    }
  }
}

/**
 * Decompresses a body whose `compression` header is `header` (a header value or method name).
 * Throws ERR_INVALID_ARGUMENT for an unknown/unsupported method or corrupt data, and
 * ERR_MESSAGE_TOO_LARGE as soon as the output would pass `maxOutputLength` — the output is never
 * built past the cap.
 */
export function decompress(header: string, bytes: Uint8Array, options: DecompressOptions = {}): Uint8Array {
  const method = requireMethod(header);
  const max = options.maxOutputLength ?? DEFAULT_MAX_DECOMPRESSED_SIZE;
  if (!Number.isSafeInteger(max) || max < 1) throw fail('ERR_INVALID_ARGUMENT', `maxOutputLength must be a positive integer, got ${String(max)}`);
  try {
    if (method === 'brotli') return brotliDecompressSync(bytes, { maxOutputLength: max });
    const zopts: ZlibOptions = { maxOutputLength: max };
    return unzipSync(bytes, zopts);
  } catch (err) {
    // node:zlib stops inflating at maxOutputLength and throws this RangeError.
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new CeleriacError('ERR_MESSAGE_TOO_LARGE', `decompressed body exceeds ${max} bytes (${method})`, { cause: err, details: { maxOutputLength: max } });
    }
    throw new CeleriacError('ERR_INVALID_ARGUMENT', `body is not valid ${method} data: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Like compressionMethodOf, but an unreadable header is an error that says why. */
export function requireMethod(header: string): CompressionMethod {
  const method = typeof header === 'string' ? compressionMethodOf(header) : undefined;
  if (method !== undefined) return method;
  const known = typeof header === 'string' ? UNSUPPORTED.get(header.trim().toLowerCase()) : undefined;
  const why = known === undefined ? 'unknown compression' : `${known} compression is not supported`;
  throw fail('ERR_INVALID_ARGUMENT', `${why} '${String(header)}' (readable: ${[...new Set(BY_HEADER.keys())].filter((h) => h.includes('/')).join(', ')})`, { compression: header });
}

function checkMethod(method: string): true {
  if (isCompressionMethod(method)) return true;
  throw fail('ERR_INVALID_ARGUMENT', `unknown compression '${String(method)}' (known: ${COMPRESSION_METHODS.join(', ')})`, { compression: method });
}
