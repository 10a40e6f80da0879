// The arguments themselves, beside their repr, in the task-received event: the broker keeps them in
// its task index so POST /api/tasks/{id}/retry can send a failed task again with the same values.
// Runs per task when task events are on, so plain JSON values are passed through uncopied.
import { jsonSerializer } from '../../shared/messages/json-serializer.js';
import { toWireTime } from '../../shared/messages/wire-time.js';

/**
 * Largest arguments carried, about this many bytes of JSON. Celery bounds argsrepr for the same
 * reason: every event is stored, so a task with large arguments keeps only their repr (and cannot
 * be retried over HTTP).
 */
export const MAX_EVENT_ARGS_BYTES = 16 * 1024;

/** Nesting past this goes the slow way (which also finds a cycle). */
const MAX_FAST_DEPTH = 32;

/** The `args_value` / `kwargs_value` fields of a task-received event. */
export interface ArgumentValues {
  args_value: unknown[];
  kwargs_value: Record<string, unknown>;
}

/** Thrown inside the walk: too large, or a value the fast walk leaves to the serializer. */
class TooLarge extends Error {}
class NotPlain extends Error {}

const mark = (type: string, value: unknown): { __type__: string; __value__: unknown } => ({ __type__: type, __value__: value });

/**
 * `v` in kombu's JSON form, as the json serializer writes it (Date and Uint8Array as markers), the
 * same object when nothing in it needed marking; `left` counts the budget down (approximately:
 * string lengths in UTF-16 units).
 */
function jsonForm(v: unknown, budget: { left: number }, depth: number): unknown {
  if (--budget.left < 0) throw new TooLarge();
  switch (typeof v) {
    case 'string':
      budget.left -= v.length + 2;
      return v;
    case 'number':
      if (!Number.isFinite(v)) throw new NotPlain();
      budget.left -= 8;
      return v;
    case 'boolean':
    case 'undefined':
      return v;
    case 'object': {
      if (v === null) return v;
      if (depth > MAX_FAST_DEPTH) throw new NotPlain();
      if (v instanceof Date) return mark('datetime', toWireTime(v));
      if (v instanceof Uint8Array) {
        budget.left -= Math.ceil(v.byteLength / 3) * 4;
        if (budget.left < 0) throw new TooLarge();
        return mark('base64', Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'));
      }
      if (Array.isArray(v)) {
        let out: unknown[] | undefined;
        for (let i = 0; i < v.length; i++) {
          const x = jsonForm(v[i], budget, depth + 1);
          if (x !== v[i]) (out ??= v.slice())[i] = x;
        }
        return out ?? v;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) throw new NotPlain();
      const obj = v as Record<string, unknown>;
      let out: Record<string, unknown> | undefined;
      for (const key of Object.keys(obj)) {
        budget.left -= key.length + 3;
        const x = jsonForm(obj[key], budget, depth + 1);
        if (x !== obj[key]) (out ??= { ...obj })[key] = x;
      }
      return out ?? v;
    }
    default:
      throw new NotPlain(); // bigint, symbol, function: the serializer refuses or drops them
  }
}

/** The slow way, for what the walk leaves: the json serializer itself, read back without its reviver. */
function viaSerializer(args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): ArgumentValues | undefined {
  let bytes: Uint8Array;
  try {
    bytes = jsonSerializer.encode([args, kwargs]);
  } catch {
    return undefined;
  }
  if (bytes.byteLength > MAX_EVENT_ARGS_BYTES) return undefined;
  const [a, k] = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as [unknown[], Record<string, unknown>];
  return { args_value: a, kwargs_value: k };
}

/**
 * `args` and `kwargs` in kombu's JSON form (bytes and dates as `{"__type__", "__value__"}` markers,
 * which a worker's JSON decoder turns back into Uint8Array and Date), or undefined when they are
 * over MAX_EVENT_ARGS_BYTES or hold what JSON cannot carry (a bigint, a Map).
 */
export function argumentValues(args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): ArgumentValues | undefined {
  const budget = { left: MAX_EVENT_ARGS_BYTES };
  try {
    return { args_value: jsonForm(args, budget, 0) as unknown[], kwargs_value: jsonForm(kwargs, budget, 0) as Record<string, unknown> };
  } catch (err) {
    if (err instanceof TooLarge) return undefined;
    return viaSerializer(args, kwargs);
  }
}
