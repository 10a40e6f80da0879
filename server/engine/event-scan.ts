// The few top-level fields of an event the broker needs when it stores it (type, task id, sender,
// task name), read by a scan of the JSON bytes instead of JSON.parse: the scan allocates only the
// strings it returns and skips nested values (a task's kwargs may hold a `type`), and costs a
// fraction of a parse. Anything unusual (escapes, non-ASCII, malformed JSON) answers null, and the
// caller parses the body instead, so the scan never decides what a parse would decide otherwise.

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

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipSpace(b: Uint8Array, i: number): number {
  while (i < b.length && isSpace(b[i]!)) i++;
  return i;
}

/** The index just past the string that starts at `i` (its opening quote), or -1 when it never ends. */
function skipString(b: Uint8Array, i: number): number {
  for (i++; i < b.length; i++) {
    const c = b[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

/** The index just past the value that starts at `i`, or -1 when it is cut short. Numbers and literals end at , } ] or a space. */
function skipValue(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c !== OPEN_BRACE && c !== OPEN_BRACKET) {
    const start = i;
    while (i < b.length && b[i] !== COMMA && b[i] !== CLOSE_BRACE && b[i] !== CLOSE_BRACKET && !isSpace(b[i]!)) i++;
    return i === start ? -1 : i;
  }
  let depth = 0;
  for (; i < b.length; i++) {
    const d = b[i];
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

/** Which wanted key the key string spanning [start, end) (quotes included) is, by its bytes; null for any other. */
function keyOf(b: Uint8Array, start: number, end: number): keyof EventFields | null {
  const n = end - start - 2;
  const c = b[start + 1];
  let want: keyof EventFields;
  if (n === 4 && c === 0x74) want = 'type';
  else if (n === 4 && c === 0x75) want = 'uuid';
  else if (n === 4 && c === 0x6e) want = 'name';
  else if (n === 8 && c === 0x68) want = 'hostname';
  else return null;
  for (let k = 1; k < n; k++) if (b[start + 1 + k] !== want.charCodeAt(k)) return null;
  return want;
}

/** Longer strings are not taken by the scan (the caller parses). */
const MAX_FIELD_LENGTH = 1024;

/** The ASCII string without escapes spanning [start, end) (quotes included), or undefined when it is anything else. */
function plainString(b: Uint8Array, start: number, end: number): string | undefined {
  if (end - start - 2 > MAX_FIELD_LENGTH) return undefined;
  let s = '';
  for (let k = start + 1; k < end - 1; k++) {
    const c = b[k]!;
    if (c === BACKSLASH || c >= 0x80) return undefined;
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * The top-level `type`, `uuid`, `hostname` and `name` of a JSON object body, or null when the scan
 * cannot tell them as JSON.parse would (not an object, malformed, a key or wanted value with
 * escapes or non-ASCII bytes, a key seen twice): the caller then parses. A wanted key whose value
 * is not a string is null, as it is absent.
 */
export function scanEventFields(body: Uint8Array): EventFields | null {
  const out: EventFields = { type: null, uuid: null, hostname: null, name: null };
  let i = skipSpace(body, 0);
  if (body[i] !== OPEN_BRACE) return null;
  i = skipSpace(body, i + 1);
  if (body[i] === CLOSE_BRACE) return skipSpace(body, i + 1) === body.length ? out : null;
  let seen = 0;
  for (;;) {
    if (body[i] !== QUOTE) return null;
    const keyEnd = skipString(body, i);
    if (keyEnd < 0) return null;
    const key = keyOf(body, i, keyEnd);
    if (key !== null) {
      // An escaped key could spell a wanted one: leave such bodies to JSON.parse.
      const bit = key === 'type' ? 1 : key === 'uuid' ? 2 : key === 'name' ? 4 : 8;
      if ((seen & bit) !== 0) return null; // JSON.parse keeps the last of a repeated key: leave it to it
      seen |= bit;
    } else {
      for (let k = i + 1; k < keyEnd - 1; k++) if (body[k] === BACKSLASH) return null;
    }
    i = skipSpace(body, keyEnd);
    if (body[i] !== COLON) return null;
    i = skipSpace(body, i + 1);
    const valueEnd = skipValue(body, i);
    if (valueEnd < 0) return null;
    if (key !== null && body[i] === QUOTE) {
      const s = plainString(body, i, valueEnd);
      if (s === undefined) return null;
      out[key] = s;
    }
    i = skipSpace(body, valueEnd);
    if (body[i] === CLOSE_BRACE) return skipSpace(body, i + 1) === body.length ? out : null;
    if (body[i] !== COMMA) return null;
    i = skipSpace(body, i + 1);
  }
}
