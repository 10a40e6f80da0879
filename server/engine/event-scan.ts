// The few top-level fields of an event the broker needs when it stores it (type, task id, sender,
// task name), found by a scan of the JSON bytes instead of JSON.parse: the scan allocates nothing
// (it writes where each value's bytes are) and skips nested values (a task's kwargs may hold a
// `type`). Anything unusual (escapes, non-ASCII, malformed JSON) answers false, and the caller
// parses the body instead, so the scan never decides what a parse would decide otherwise.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** The top-level string fields an event is stored and indexed by; null when absent or not a string. */
export interface EventFields {
  type: string | null;
  uuid: string | null;
  hostname: string | null;
  name: string | null;
}

/**
 * Where each wanted field's value lies in `out` of {@link scanEventOffsets}: `out[F]` is the first
 * byte of the string (after its opening quote), `out[F + 1]` the byte after its last; both -1 when
 * the field is absent or not a string.
 */
export const FIELD_TYPE = 0;
export const FIELD_UUID = 2;
export const FIELD_HOSTNAME = 4;
export const FIELD_NAME = 6;
/** Length of the offsets array {@link scanEventOffsets} fills. */
export const FIELD_OFFSETS = 8;

/** Longer wanted values are not taken by the scan (the caller parses). */
const MAX_FIELD_LENGTH = 1024;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipSpace(b: Uint8Array, i: number): number {
  while (i < b.length && isSpace(b[i]!)) i++;
  return i;
}

/** The index just past the string that starts at `i` (its opening quote), or -1 when it never ends. */
function skipString(b: Uint8Array, i: number): number {
  const n = b.length;
  for (i++; i < n; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) i++;
  }
  return -1;
}

/** The index just past the value that starts at `i`, or -1 when it is cut short. Numbers and literals end at , } ] or a space. */
function skipValue(b: Uint8Array, i: number): number {
  const n = b.length;
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c !== OPEN_BRACE && c !== OPEN_BRACKET) {
    const start = i;
    for (; i < n; i++) {
      const d = b[i]!;
      if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || isSpace(d)) break;
    }
    return i === start ? -1 : i;
  }
  let depth = 0;
  for (; i < n; i++) {
    const d = b[i]!;
    if (d === QUOTE) {
      i = skipString(b, i) - 1;
      if (i < 0) return -1;
    } else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
    else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

/** Which wanted field the key string spanning [start, end) (quotes included) is, by its bytes: its slot in the offsets, or -1. */
function fieldOf(b: Uint8Array, start: number, end: number): number {
  const n = end - start - 2;
  if (n === 4) {
    const c0 = b[start + 1];
    const c1 = b[start + 2];
    const c2 = b[start + 3];
    const c3 = b[start + 4];
    // "type", "uuid", "name"
    if (c0 === 0x74 && c1 === 0x79 && c2 === 0x70 && c3 === 0x65) return FIELD_TYPE;
    if (c0 === 0x75 && c1 === 0x75 && c2 === 0x69 && c3 === 0x64) return FIELD_UUID;
    if (c0 === 0x6e && c1 === 0x61 && c2 === 0x6d && c3 === 0x65) return FIELD_NAME;
    return -1;
  }
  if (n === 8 && b[start + 1] === 0x68) {
    const want = 'hostname';
    for (let k = 1; k < 8; k++) if (b[start + 1 + k] !== want.charCodeAt(k)) return -1;
    return FIELD_HOSTNAME;
  }
  return -1;
}

/** The index just past the key string that starts at `i`, or -1 when it never ends or holds an escape (an escaped key could spell a wanted one). */
function skipKey(b: Uint8Array, i: number): number {
  const n = b.length;
  for (i++; i < n; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) return -1;
  }
  return -1;
}

/**
 * The index of the closing quote of the wanted value string that starts at `i`, or -1 when it is
 * not printable ASCII without escapes, or too long (JSON.parse refuses control characters in a
 * string: so does the scan).
 */
function plainValueEnd(b: Uint8Array, i: number): number {
  const n = b.length;
  const limit = Math.min(n, i + 2 + MAX_FIELD_LENGTH);
  for (let k = i + 1; k < limit; k++) {
    const c = b[k]!;
    if (c === QUOTE) return k;
    if (c === BACKSLASH || c >= 0x80 || c < 0x20) return -1;
  }
  return -1;
}

/**
 * Finds the top-level `type`, `uuid`, `hostname` and `name` of a JSON object body and writes where
 * their string values lie into `out` (see FIELD_TYPE; -1 for a field that is absent or not a
 * string). False when the scan cannot tell them as JSON.parse would (not an object, malformed, a
 * key or wanted value with escapes or non-ASCII bytes, a wanted key seen twice): the caller then parses.
 */
export function scanEventOffsets(body: Uint8Array, out: Int32Array): boolean {
  out.fill(-1);
  const n = body.length;
  let i = skipSpace(body, 0);
  if (body[i] !== OPEN_BRACE) return false;
  i = skipSpace(body, i + 1);
  if (body[i] === CLOSE_BRACE) return skipSpace(body, i + 1) === n;
  let seen = 0;
  for (;;) {
    if (body[i] !== QUOTE) return false;
    const keyEnd = skipKey(body, i);
    if (keyEnd < 0) return false;
    const field = fieldOf(body, i, keyEnd);
    if (field >= 0) {
      // JSON.parse keeps the last of a repeated key: leave such bodies to it.
      const bit = 1 << field;
      if ((seen & bit) !== 0) return false;
      seen |= bit;
    }
    i = skipSpace(body, keyEnd);
    if (body[i] !== COLON) return false;
    i = skipSpace(body, i + 1);
    let valueEnd: number;
    if (field >= 0 && body[i] === QUOTE) {
      const close = plainValueEnd(body, i);
      if (close < 0) return false;
      out[field] = i + 1;
      out[field + 1] = close;
      valueEnd = close + 1;
    } else {
      valueEnd = skipValue(body, i);
      if (valueEnd < 0) return false;
    }
    i = skipSpace(body, valueEnd);
    if (i >= n) return false;
    const c = body[i];
    if (c === CLOSE_BRACE) return skipSpace(body, i + 1) === n;
    if (c !== COMMA) return false;
    i = skipSpace(body, i + 1);
  }
}

/** The ASCII bytes [start, end) as a string. */
export function asciiString(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let k = start; k < end; k++) s += String.fromCharCode(b[k]!);
  return s;
}

const scratch = new Int32Array(FIELD_OFFSETS);

/** The four fields as strings (what {@link scanEventOffsets} finds), or null when the scan leaves the body to a parse. */
export function scanEventFields(body: Uint8Array): EventFields | null {
  if (!scanEventOffsets(body, scratch)) return null;
  const text = (f: number): string | null => (scratch[f]! < 0 ? null : asciiString(body, scratch[f]!, scratch[f + 1]!));
  return { type: text(FIELD_TYPE), uuid: text(FIELD_UUID), hostname: text(FIELD_HOSTNAME), name: text(FIELD_NAME) };
}
