// The 'json' serializer (application/json, utf-8), with kombu's markers for what JSON lacks:
// {"__type__": ..., "__value__": ...} objects, so a Python worker gets bytes and datetimes back.
import { CeleriacError, fail } from '../errors.js';
import type { Serializer } from './serializers.js';
import { parseWireTime, toWireTime } from './wire-time.js';

const utf8Encoder = new TextEncoder();
// fatal: invalid UTF-8 is an error, not a silent U+FFFD that changes the payload.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** kombu's marker object (kombu/utils/json.py `_as`). */
interface Marker { __type__: string; __value__: unknown }
const mark = (type: string, value: unknown): Marker => ({ __type__: type, __value__: value });

/**
 * JSON as kombu (5.3+) writes and reads it.
 *
 * Encoding — values JSON cannot carry as such:
 * - `Uint8Array` / `Buffer` → `{"__type__": "base64", "__value__": "<base64>"}` (kombu decodes it
 *   to `bytes`; kombu's other bytes marker, `"bytes"`, holds UTF-8 text and is read too).
 * - `Date` → `{"__type__": "datetime", "__value__": "2024-01-02T03:04:05.123+00:00"}` (kombu
 *   decodes it to an aware `datetime`; we decode it back to a Date).
 * - `bigint`, NaN/±Infinity, `Map`, `Set` and typed arrays other than Uint8Array are refused with
 *   ERR_INVALID_ARGUMENT: JSON would silently turn them into something else (or throw a TypeError).
 * - `undefined` members are dropped and `undefined` array items become null, as JSON.stringify does.
 *
 * Decoding — kombu's markers from Python producers: datetime → Date, base64/bytes → Uint8Array,
 * uuid → its canonical string, date/time/decimal → their text (JavaScript has no exact type for
 * them). An object with a `__type__` we do not know is returned untouched rather than refused.
 * Like kombu, an ordinary object whose only keys are `__type__` and `__value__` is read as a marker.
 */
export const jsonSerializer: Serializer = Object.freeze({
  name: 'json',
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  encode(value: unknown): Uint8Array {
    let text: string | undefined;
    try {
      text = JSON.stringify(value, replacer);
    } catch (err) {
      if (err instanceof CeleriacError) throw err;
      throw new CeleriacError('ERR_INVALID_ARGUMENT', `value cannot be serialized as JSON: ${messageOf(err)}`, { cause: err });
    }
    // JSON.stringify returns undefined for a bare undefined, function or symbol.
    if (text === undefined) throw fail('ERR_INVALID_ARGUMENT', `value cannot be serialized as JSON: ${typeof value}`);
    return utf8Encoder.encode(text);
  },
  decode(bytes: Uint8Array): unknown {
    let text: string;
    try {
      text = utf8Decoder.decode(bytes);
    } catch (err) {
      throw new CeleriacError('ERR_INVALID_ARGUMENT', 'body is not valid UTF-8', { cause: err });
    }
    try {
      // The reviver costs a call per value; skip it when no marker can be present.
      return text.includes('"__type__"') ? JSON.parse(text, reviver) : JSON.parse(text);
    } catch (err) {
      if (err instanceof CeleriacError) throw err;
      throw new CeleriacError('ERR_INVALID_ARGUMENT', `body is not valid JSON: ${messageOf(err)}`, { cause: err });
    }
  },
});

/**
 * The JSON serializer's bytes for a value findUnencodable passed for 'json' with no markers (its
 * `report.markers` false): nothing in it needs the replacer (no bytes, dates, toJSON, and no
 * value the replacer refuses), so JSON.stringify alone writes the same text without a call per
 * value. Any other value must go through jsonSerializer.encode.
 */
export function encodePlainJson(value: unknown): Uint8Array {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw fail('ERR_INVALID_ARGUMENT', `value cannot be serialized as JSON: ${typeof value}`);
  return utf8Encoder.encode(text);
}

// `this[key]` is the value before JSON.stringify applied toJSON (Date and Buffer have one), so
// the marker sees the real Date/Uint8Array rather than its default JSON form.
function replacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) return mark('base64', Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64'));
  if (raw instanceof Date) return mark('datetime', toWireTime(raw));
  switch (typeof value) {
    case 'bigint':
      throw refuse(key, 'a bigint', 'send it as a string or a number');
    case 'number':
      if (!Number.isFinite(value)) throw refuse(key, String(value), 'JSON has no such number');
      return value;
    case 'object':
      if (raw instanceof Map || raw instanceof Set) throw refuse(key, `a ${raw instanceof Map ? 'Map' : 'Set'}`, 'convert it to an object or array');
      if (ArrayBuffer.isView(raw) || raw instanceof ArrayBuffer) throw refuse(key, 'a typed array other than Uint8Array', 'pass a Uint8Array');
      return value;
    default:
      return value;
  }
}

function refuse(key: string, what: string, hint: string): CeleriacError {
  const where = key === '' ? 'the value' : `'${key}'`;
  return fail('ERR_INVALID_ARGUMENT', `value cannot be serialized as JSON: ${where} is ${what} (${hint})`, { key });
}

function reviver(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length !== 2 || !('__type__' in obj) || !('__value__' in obj) || typeof obj.__type__ !== 'string') return value;
  return fromMarker(obj.__type__, obj.__value__, value);
}

function fromMarker(type: string, v: unknown, original: unknown): unknown {
  switch (type) {
    case 'datetime': {
      const date = typeof v === 'string' ? parseWireTime(v) : undefined;
      if (date === undefined) throw fail('ERR_INVALID_ARGUMENT', `body is not valid JSON: datetime marker with an invalid time ${JSON.stringify(v)}`);
      return date;
    }
    case 'base64':
      if (typeof v !== 'string') break;
      return new Uint8Array(Buffer.from(v, 'base64'));
    case 'bytes':
      if (typeof v !== 'string') break;
      return utf8Encoder.encode(v);
    case 'date':
    case 'time':
    case 'decimal':
      return typeof v === 'string' ? v : original;
    case 'uuid': {
      const hex = v !== null && typeof v === 'object' ? (v as Record<string, unknown>).hex : undefined;
      if (typeof hex !== 'string' || !/^[0-9a-f]{32}$/i.test(hex)) break;
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`.toLowerCase();
    }
    default:
      return original;
  }
  throw fail('ERR_INVALID_ARGUMENT', `body is not valid JSON: malformed '${type}' marker`);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
