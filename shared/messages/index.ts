// The public surface of the task message layer: serializers, compression, acceptContent and the
// Celery protocol v2 task message. Modules behind it may change; these names are the API.
export { buildTaskMessage, LANG, PROTOCOL_HEADERS } from './task-message.js';
export { parseTaskMessage } from './task-request.js';
export { DEFAULT_RESULT_EXPIRES, pendingTrack, taskPublishProperties } from './task-publish.js';
export { newTaskId } from './task-id.js';
export { compileAccept, DEFAULT_ACCEPT_CONTENT, guardContent } from './content-guard.js';
export type { CompiledAccept, ContentMeta, ContentPlan } from './content-guard.js';
export {
  getSerializer, isSerializerName, normalizeContentType, SERIALIZER_NAMES, SERIALIZERS, serializerForContentType,
} from './serializers.js';
export type { Serializer, SerializerName } from './serializers.js';
export {
  COMPRESSION_METHODS, COMPRESSIONS, compress, compressionHeaderOf, compressionMethodOf, decompress,
  DEFAULT_MAX_DECOMPRESSED_SIZE, isCompressionMethod,
} from './compression.js';
export type { CompressionMethod, DecompressOptions } from './compression.js';
export { readSignature } from './signature.js';
export { encodeError, findUnencodable, MSGPACK_MAX_DEPTH } from './encodable.js';
export type { EncodableOptions, Unencodable } from './encodable.js';
export { DEFAULT_REPR_MAX_LENGTH, safeRepr } from './repr.js';
export { parseWireTime, toWireTime } from './wire-time.js';
export type {
  BuildTaskMessageInput, ParseTaskMessageOptions, ReceivedProperties, Signature, TaskEmbed, TaskHeaders, TaskMessage,
  TaskProperties, TaskRequest, WireBody, WireEmbed,
} from './types.js';
