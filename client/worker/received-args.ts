// The arguments themselves, beside their repr, in the task-received event: the broker keeps them in
// its task index so POST /api/tasks/{id}/retry can send a failed task again with the same values.
import { jsonSerializer } from '../../shared/messages/json-serializer.js';

/**
 * Largest encoded arguments carried (JSON bytes). Celery bounds argsrepr for the same reason: every
 * event is stored, so a task with large arguments keeps only their repr (and cannot be retried
 * over HTTP).
 */
export const MAX_EVENT_ARGS_BYTES = 16 * 1024;

/** The `args_value` / `kwargs_value` fields of a task-received event. */
export interface ArgumentValues {
  args_value: unknown[];
  kwargs_value: Record<string, unknown>;
}

/**
 * `args` and `kwargs` in kombu's JSON form (bytes and dates as `{"__type__", "__value__"}` markers,
 * which a worker's JSON decoder turns back into Uint8Array and Date), or undefined when they are
 * over MAX_EVENT_ARGS_BYTES or hold what JSON cannot carry (a bigint, a Map).
 */
export function argumentValues(args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): ArgumentValues | undefined {
  let bytes: Uint8Array;
  try {
    bytes = jsonSerializer.encode([args, kwargs]);
  } catch {
    return undefined;
  }
  if (bytes.byteLength > MAX_EVENT_ARGS_BYTES) return undefined;
  // Parsed without the reviver: the markers stay, so the event (JSON) carries them as they are.
  const [a, k] = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as [unknown[], Record<string, unknown>];
  return { args_value: a, kwargs_value: k };
}
