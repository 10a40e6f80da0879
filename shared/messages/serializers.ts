// The serializer registry: name ('json', 'msgpack') and content type to the encoder/decoder pair.
// Every other module asks here, so adding a serializer is one entry in SERIALIZERS.
import { fail } from '../errors.js';
import { jsonSerializer } from './json-serializer.js';
import { msgpackSerializer } from './msgpack-serializer.js';

/** One serializer: what goes into the content-type/encoding properties and how to (de)serialize. */
export interface Serializer {
  /** Short name, as in Celery's `task_serializer` / `accept_content` ('json', 'msgpack'). */
  readonly name: string;
  /** The `contentType` property written with it (kombu's content type). */
  readonly contentType: string;
  /** The `contentEncoding` property written with it ('utf-8' for text, 'binary' otherwise). */
  readonly contentEncoding: string;
  /** Value → bytes. Throws CeleriacError ERR_INVALID_ARGUMENT for a value it cannot carry. */
  encode(value: unknown): Uint8Array;
  /** Bytes → value. Throws CeleriacError ERR_INVALID_ARGUMENT for bytes that do not decode. */
  decode(bytes: Uint8Array): unknown;
}

/** The serializers celeriac ships, by name. */
export const SERIALIZERS = {
  json: jsonSerializer,
  msgpack: msgpackSerializer,
} as const satisfies Record<string, Serializer>;

/** A serializer name celeriac knows. */
export type SerializerName = keyof typeof SERIALIZERS;

/** The known names, for validation messages and settings checks. */
export const SERIALIZER_NAMES = Object.freeze(Object.keys(SERIALIZERS)) as readonly SerializerName[];

/** True when `name` names a serializer of the registry. */
export function isSerializerName(name: unknown): name is SerializerName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(SERIALIZERS, name);
}

/** The serializer called `name`; an unknown name throws ERR_INVALID_ARGUMENT naming the known ones. */
export function getSerializer(name: string): Serializer {
  if (isSerializerName(name)) return SERIALIZERS[name];
  throw fail('ERR_INVALID_ARGUMENT', `unknown serializer '${String(name)}' (known: ${SERIALIZER_NAMES.join(', ')})`, { serializer: name });
}

/**
 * The serializer that reads `contentType` (compared without parameters such as `; charset=...`
 * and without case), or undefined when none does.
 */
export function serializerForContentType(contentType: string): Serializer | undefined {
  const wanted = normalizeContentType(contentType);
  for (const s of Object.values(SERIALIZERS)) if (s.contentType === wanted) return s;
  return undefined;
}

/** `'Application/JSON; charset=utf-8'` → `'application/json'`: the form content types are compared in. */
export function normalizeContentType(contentType: string): string {
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}
