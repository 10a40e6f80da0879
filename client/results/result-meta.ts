// A task result as stored in the broker: Celery's result meta ({status, result, traceback,
// children, date_done, task_id}), serialized with the result serializer. Encode and decode only.
import { fail } from '../../shared/errors.js';
import type { ResultRecord } from '../../shared/frames.js';
import { isTaskState, type TaskState } from '../../shared/task-states.js';
import { guardContent, type CompiledAccept } from '../../shared/messages/content-guard.js';
import { compress, compressionHeaderOf, decompress, type CompressionMethod } from '../../shared/messages/compression.js';
import { encodePlainJson } from '../../shared/messages/json-serializer.js';
import { getSerializer, type SerializerName } from '../../shared/messages/serializers.js';
import type { SerializedError } from '../worker/pool-types.js';

/** Celery's encoding of an exception in result meta (exc_type / exc_message / exc_module). */
export interface ExceptionInfo {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string;
  /** celeriac extras: the error's code, when it has one. */
  exc_code?: string;
}

/** The stored meta, field names as Celery writes them. */
export interface ResultMeta {
  task_id: string;
  status: TaskState;
  /** The return value (SUCCESS), the exception (FAILURE, RETRY, REVOKED) or progress info. */
  result: unknown;
  traceback: string | null;
  children: unknown[];
  date_done: string | null;
  /** celeriac: the task's name and retries, for inspect and the CLI. */
  name?: string;
  retries?: number;
}

/** An error as Celery's result meta holds it. */
export function exceptionInfo(e: SerializedError): ExceptionInfo {
  const info: ExceptionInfo = { exc_type: e.name, exc_message: [e.message], exc_module: 'builtins' };
  if (e.code !== undefined) info.exc_code = e.code;
  return info;
}

/** Reads an ExceptionInfo (or anything else a Celery worker stored) back as a SerializedError. */
export function errorOfMeta(meta: ResultMeta): SerializedError {
  const r = meta.result as Partial<ExceptionInfo> | null;
  const name = typeof r?.exc_type === 'string' ? r.exc_type : 'Error';
  const msgs = Array.isArray(r?.exc_message) ? r.exc_message : r?.exc_message === undefined ? [] : [r.exc_message];
  const message = msgs.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(', ');
  const out: SerializedError = { name, message, stack: meta.traceback ?? `${name}: ${message}` };
  if (typeof r?.exc_code === 'string') out.code = r.exc_code;
  return out;
}

/** How results are written. */
export interface ResultCodec {
  serializer: SerializerName;
  compression: CompressionMethod | null;
}

/**
 * Serializes meta; the content type goes with it in the record (compression as `+method` suffix).
 * `plain`: the caller's findUnencodable walk of the result saw no markers (EncodableOptions.report),
 * so JSON is written without the replacer (same bytes, less work per result).
 */
export function encodeMeta(meta: ResultMeta, codec: ResultCodec, plain = false): { body: Uint8Array; contentType: string } {
  const s = getSerializer(codec.serializer);
  const raw = plain && codec.serializer === 'json' ? encodePlainJson(meta) : s.encode(meta);
  if (codec.compression === null) return { body: raw, contentType: s.contentType };
  return { body: compress(codec.compression, raw), contentType: `${s.contentType};compression=${compressionHeaderOf(codec.compression)}` };
}

/**
 * Reads a stored record. A record without body (PENDING, or REVOKED by the broker) gets meta
 * with a null result. The content type must be accepted (resultAcceptContent) before decoding.
 */
export function decodeRecord(rec: ResultRecord, accept: CompiledAccept): ResultMeta {
  if (!isTaskState(rec.state)) throw fail('ERR_INVALID_ARGUMENT', `stored state '${rec.state}' of task ${rec.taskId} is not a task state`);
  if (rec.body === undefined || rec.body.length === 0) {
    const doneAt = rec.dateDone === undefined ? null : new Date(rec.dateDone).toISOString();
    return { task_id: rec.taskId, status: rec.state, result: null, traceback: null, children: [], date_done: doneAt };
  }
  const [type, ...params] = (rec.contentType ?? 'application/json').split(';').map((p) => p.trim());
  const compression = params.find((p) => p.startsWith('compression='))?.slice('compression='.length);
  const plan = guardContent({ contentType: type, compression }, accept);
  const bytes = plan.compression === null ? rec.body : decompress(compressionHeaderOf(plan.compression), rec.body);
  const meta = plan.serializer.decode(bytes) as Partial<ResultMeta> | null;
  if (meta === null || typeof meta !== 'object') throw fail('ERR_INVALID_ARGUMENT', `the stored result of task ${rec.taskId} is not result meta`);
  return {
    task_id: rec.taskId, status: rec.state, result: meta.result ?? null, traceback: meta.traceback ?? null,
    children: Array.isArray(meta.children) ? meta.children : [], date_done: meta.date_done ?? null,
    ...(typeof meta.name === 'string' ? { name: meta.name } : {}),
    ...(typeof meta.retries === 'number' ? { retries: meta.retries } : {}),
  };
}
