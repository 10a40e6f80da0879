// What the Redis backend stores under Celery's keys and how it reads it back: the result meta
// bytes as the worker encoded them (JSON or msgpack, never compressed, as Celery's Redis backend
// keeps them), the meta it writes itself for a state without a body (REVOKED by a revoke), and
// Celery's saved-group document. Pure: bytes in, bytes or records out.
//
// Redis keeps bytes only, no content type. The type is read back by sniffing, not taken from the
// app's result serializer: a result meta is a map, and a JSON map starts with `{` while a msgpack
// map starts with 0x80-0x8f, 0xde or 0xdf, so the two never collide; a producer with json results
// then reads a msgpack result a Python worker (or another celeriac app) stored, as long as its
// resultAcceptContent takes it. Bytes that are neither (pickle, yaml from Python Celery) are given
// the app's result content type, which is what Celery itself assumes for every key.
import { decode as decodeMsgpack } from '@msgpack/msgpack';
import { fail } from '../../../shared/errors.js';
import type { ResultRecord } from '../../../shared/frames.js';
import { decompress } from '../../../shared/messages/compression.js';
import { getSerializer, serializerForContentType, type SerializerName } from '../../../shared/messages/serializers.js';

export const JSON_TYPE = 'application/json';
export const MSGPACK_TYPE = 'application/x-msgpack';

/** The content type of stored meta bytes: JSON or msgpack by their first byte, else `fallback`. */
export function sniffContentType(bytes: Uint8Array, fallback: string): string {
  for (const b of bytes) {
    // JSON may start with white space (RFC 8259 §2).
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    if (b === 0x7b) return JSON_TYPE;
    if ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf) return MSGPACK_TYPE;
    return fallback;
  }
  return fallback;
}

/**
 * The bytes to store for a result body: as given, or decompressed when the worker compressed them
 * (resultCompression). Celery's Redis backend stores the serializer's bytes uncompressed and reads
 * every key with its serializer, and the backend's scripts read a stored result's state; both need
 * the plain meta. Throws ERR_INVALID_ARGUMENT for a body that does not decompress.
 */
export function plainBody(body: Uint8Array, contentType: string | undefined): Uint8Array {
  const compression = contentType?.split(';').map((p) => p.trim()).find((p) => p.startsWith('compression='));
  if (compression === undefined) return body;
  return decompress(compression.slice('compression='.length), body);
}

/** A date_done as Celery writes it (ISO 8601; naive means UTC) in epoch ms, or undefined. */
function dateDoneOf(v: unknown): number | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const naive = !/(Z|[+-]\d\d:?\d\d)$/i.test(v);
  const ms = Date.parse(naive ? `${v}Z` : v);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Decodes stored meta far enough to read it: a map, or undefined when it is not JSON/msgpack meta. */
function decodeMap(bytes: Uint8Array, contentType: string): Record<string, unknown> | undefined {
  try {
    const v = contentType === JSON_TYPE ? JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
      : contentType === MSGPACK_TYPE ? decodeMsgpack(bytes) : undefined;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The record of stored meta bytes. `pttl` is Redis' remaining time to live (ms; negative: none).
 * Meta the backend cannot read (another serializer) is reported as the state its key implies to
 * Celery: a stored result whose status is unknown, so PENDING-like, never final.
 */
export function recordOf(taskId: string, bytes: Uint8Array, fallbackType: string, pttl?: number, now = Date.now()): ResultRecord {
  const contentType = sniffContentType(bytes, fallbackType);
  const meta = decodeMap(bytes, contentType);
  const status = meta?.['status'];
  const rec: ResultRecord = { taskId, state: typeof status === 'string' ? status : 'PENDING', body: bytes, contentType };
  const done = dateDoneOf(meta?.['date_done']);
  if (done !== undefined) rec.dateDone = done;
  if (pttl !== undefined && pttl >= 0) rec.expiresAt = now + pttl;
  return rec;
}

/** Celery's exception info of a task revoked (celery.exceptions.TaskRevokedError), as a Python reader expects it. */
const REVOKED_INFO = { exc_type: 'TaskRevokedError', exc_message: ['revoked'], exc_module: 'celery.exceptions' };

/**
 * Meta for a state stored without a body (REVOKED stored by a revoke), encoded with the app's
 * result serializer so a Python Celery app configured alike reads it. (PENDING is never written
 * as meta: see keys.ts PENDING_PREFIX.)
 */
export function stateMeta(taskId: string, state: string, serializer: SerializerName, now = Date.now()): Uint8Array {
  const final = state === 'SUCCESS' || state === 'FAILURE' || state === 'REVOKED';
  return getSerializer(serializer).encode({
    status: state, result: state === 'REVOKED' ? REVOKED_INFO : null, traceback: null, children: [],
    date_done: final ? new Date(now).toISOString() : null, task_id: taskId,
  });
}

/**
 * Celery's saved group (`_save_group`): `{"result": GroupResult.as_tuple()}`, that is
 * `[[group id, parent], [[[member id, parent], None], ...]]` with no parents here.
 */
export function groupMeta(groupId: string, members: readonly string[], serializer: SerializerName): Uint8Array {
  return getSerializer(serializer).encode({ result: [[groupId, null], members.map((id) => [[id, null], null])] });
}

/** The member ids of a saved group (Celery's or ours); throws ERR_INVALID_ARGUMENT for another shape. */
export function groupMembersOf(groupId: string, bytes: Uint8Array, fallbackType: string): string[] {
  const type = sniffContentType(bytes, fallbackType);
  const serializer = serializerForContentType(type);
  const meta = serializer === undefined ? undefined : decodeMap(bytes, serializer.contentType);
  const tuple = meta?.['result'];
  const list = Array.isArray(tuple) ? tuple[1] : undefined;
  if (!Array.isArray(list)) throw fail('ERR_INVALID_ARGUMENT', `the saved group ${groupId} is not a Celery group result`, { groupId });
  return list.map((m: unknown) => {
    // A member is ((id, parent), None); a nested group would be ((id, parent), [members]).
    const id = Array.isArray(m) && Array.isArray(m[0]) ? m[0][0] : undefined;
    if (typeof id !== 'string') throw fail('ERR_INVALID_ARGUMENT', `the saved group ${groupId} holds a member that is not a task result`, { groupId });
    return id;
  });
}
