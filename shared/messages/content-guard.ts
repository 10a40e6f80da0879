// acceptContent: decides from the properties alone whether a message may be decoded, and how.
// It runs before any decompression or decoding, so a refused message's body is never touched.
import { fail } from '../errors.js';
import { requireMethod, type CompressionMethod } from './compression.js';
import { isSerializerName, normalizeContentType, serializerForContentType, SERIALIZERS, type Serializer } from './serializers.js';

/** Celery's default `accept_content`. */
export const DEFAULT_ACCEPT_CONTENT: readonly string[] = Object.freeze(['json']);

// kombu's content type for a message without one (kombu.serialization.loads); it is refused
// unless whitelisted, and no serializer reads it.
const NO_CONTENT_TYPE = 'application/data';

/** A whitelist compiled once: normalized content types, plus the list as given (for messages). */
export interface CompiledAccept {
  readonly contentTypes: ReadonlySet<string>;
  readonly source: readonly string[];
}

/** What the guard looks at: the message's properties and its `compression` header. */
export interface ContentMeta {
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
  /** The `compression` header, when the body is compressed. */
  compression?: unknown;
}

/** The guard's verdict for an accepted message: how to read its body. */
export interface ContentPlan {
  /** The normalized content type that was accepted. */
  contentType: string;
  serializer: Serializer;
  /** The method to decompress with first, or null when the body is not compressed. */
  compression: CompressionMethod | null;
}

/**
 * Compiles an `acceptContent` list: serializer names ('json', 'msgpack') become their content
 * types, entries with a '/' are content types taken as written (without parameters or case).
 * An unknown name throws ERR_INVALID_ARGUMENT, so a typo fails at start-up, not per message.
 */
export function compileAccept(accept: readonly string[]): CompiledAccept {
  if (!Array.isArray(accept)) throw fail('ERR_INVALID_ARGUMENT', 'acceptContent must be an array of serializer names or content types');
  const types = new Set<string>();
  for (const entry of accept) {
    if (typeof entry !== 'string' || entry.trim() === '') {
      throw fail('ERR_INVALID_ARGUMENT', `acceptContent entries must be non-empty strings, got ${JSON.stringify(entry) ?? String(entry)}`);
    }
    if (isSerializerName(entry)) types.add(SERIALIZERS[entry].contentType);
    else if (entry.includes('/')) types.add(normalizeContentType(entry));
    else throw fail('ERR_INVALID_ARGUMENT', `unknown serializer '${entry}' in acceptContent (names: ${Object.keys(SERIALIZERS).join(', ')}; or a content type such as 'application/json')`, { accept: entry });
  }
  return Object.freeze({ contentTypes: types, source: Object.freeze([...accept]) });
}

/**
 * Checks a message against the whitelist and returns how to decode it, or throws:
 * - ERR_ACCESS_DENIED when the content type is not accepted (kombu's ContentDisallowed); the
 *   message names the content type. A message without one counts as 'application/data'.
 * - ERR_INVALID_ARGUMENT when it is accepted but unreadable: no serializer for it, an unknown or
 *   unsupported `compression` header, or a content encoding other than utf-8/binary.
 * Reads properties only: the body is not an argument, so it cannot be decoded here.
 */
export function guardContent(meta: ContentMeta, accept: readonly string[] | CompiledAccept): ContentPlan {
  const compiled = Array.isArray(accept) ? compileAccept(accept) : (accept as CompiledAccept);
  // The common message (no compression, utf-8/binary or no encoding) gets the verdict its content
  // type got before: the same properties always get the same plan, and this runs per message.
  const cacheable = meta.compression == null && typeof meta.contentType === 'string' && PLAIN_ENCODINGS.has(meta.contentEncoding ?? '');
  const plans = cacheable ? plansOf(compiled) : undefined;
  const known = plans?.get(meta.contentType!);
  if (known !== undefined) return known;
  const plan = decide(meta, compiled);
  if (plans !== undefined && plans.size < MAX_CACHED_PLANS) plans.set(meta.contentType!, Object.freeze(plan));
  return plan;
}

/** Content encodings that need no work and leave the verdict to the content type alone. */
const PLAIN_ENCODINGS: ReadonlySet<string> = new Set(['', 'utf-8', 'utf8', 'binary']);
/** Distinct content types remembered per whitelist: a few in practice; a bound against odd producers. */
const MAX_CACHED_PLANS = 64;
const cachedPlans = new WeakMap<CompiledAccept, Map<string, ContentPlan>>();

function plansOf(compiled: CompiledAccept): Map<string, ContentPlan> {
  let plans = cachedPlans.get(compiled);
  if (plans === undefined) {
    plans = new Map();
    cachedPlans.set(compiled, plans);
  }
  return plans;
}

function decide(meta: ContentMeta, compiled: CompiledAccept): ContentPlan {
  const raw = typeof meta.contentType === 'string' && meta.contentType.trim() !== '' ? meta.contentType : NO_CONTENT_TYPE;
  const contentType = normalizeContentType(raw);
  if (!compiled.contentTypes.has(contentType)) {
    throw fail(
      'ERR_ACCESS_DENIED',
      `refusing a message of content type '${contentType}': not in acceptContent [${compiled.source.join(', ')}]; it was not decoded`,
      { contentType, accept: [...compiled.source] },
    );
  }
  const serializer = serializerForContentType(contentType);
  if (serializer === undefined) {
    throw fail('ERR_INVALID_ARGUMENT', `no serializer reads content type '${contentType}' (readable: ${Object.values(SERIALIZERS).map((s) => s.contentType).join(', ')})`, { contentType });
  }
  const encoding = meta.contentEncoding;
  if (encoding !== undefined && encoding !== null && encoding !== '' && !/^(utf-?8|binary)$/i.test(String(encoding))) {
    throw fail('ERR_INVALID_ARGUMENT', `content encoding '${String(encoding)}' is not supported (utf-8 or binary)`, { contentEncoding: encoding });
  }
  let compression: CompressionMethod | null = null;
  if (meta.compression !== undefined && meta.compression !== null) {
    if (typeof meta.compression !== 'string') throw fail('ERR_INVALID_ARGUMENT', `the compression header must be a string, got ${typeof meta.compression}`);
    compression = requireMethod(meta.compression);
  }
  return { contentType, serializer, compression };
}
