// Walks msgpack bytes without building values: where one value ends, and that it nests no deeper
// than a bound. Lets the codec split a batch into its frames and refuse a nesting bomb (a few MB
// of 0x91 bytes costs the decoder seconds and gigabytes) before the decoder allocates anything.
import { fail } from './errors.js';

/** The bounds a scan enforces; either one exceeded is ERR_MALFORMED_FRAME. */
export interface ScanLimits {
  /** Most containers (arrays, maps) open at once, counting the scanned value itself. */
  readonly maxDepth: number;
  /** Most elements of one array, or entries of one map. */
  readonly maxLength: number;
}

function malformed(reason: string, offset: number): never {
  throw fail('ERR_MALFORMED_FRAME', `not a msgpack frame: ${reason} at byte ${offset}`, { offset });
}

/** The elements of the array whose header starts at `pos`: its length and the first element's offset; undefined when no array starts there. */
export function arrayHeader(bytes: Uint8Array, pos: number): { length: number; start: number } | undefined {
  const b = bytes[pos];
  if (b === undefined) return undefined;
  if (b >= 0x90 && b <= 0x9f) return { length: b & 0x0f, start: pos + 1 };
  if (b === 0xdc && pos + 3 <= bytes.length) return { length: (bytes[pos + 1]! << 8) | bytes[pos + 2]!, start: pos + 3 };
  if (b === 0xdd && pos + 5 <= bytes.length) return { length: readU32(bytes, pos + 1), start: pos + 5 };
  return undefined;
}

function readU32(bytes: Uint8Array, pos: number): number {
  return bytes[pos]! * 0x1000000 + ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
}

/** Throws unless `n` more bytes from `p` lie before `end`. A plain function, not a closure per call. */
function need(p: number, n: number, end: number): void {
  if (p + n > end) malformed('truncated value', p);
}

/** The counts of the containers around the innermost one, during a skipValue(). */
const scanStack: number[] = [];

/**
 * Returns the offset just past the msgpack value starting at `pos`. Throws ERR_MALFORMED_FRAME
 * for truncated bytes, the never-used byte 0xc1, an array or map longer than `maxLength`, or
 * nesting deeper than `maxDepth`. Iterative, so no input can overflow the call stack; strings,
 * binaries and extensions are skipped by their length, so the cost is one step per value.
 */
export function skipValue(bytes: Uint8Array, pos: number, limits: ScanLimits): number {
  const end = bytes.length;
  let p = pos;
  // Values still to skip in the innermost open container, and those of the containers around it.
  let pending = 1;
  // Shared by every call (a scan runs start to end without yielding): no array per frame.
  const outer = scanStack;
  outer.length = 0;
  for (;;) {
    if (pending === 0) {
      if (outer.length === 0) return p;
      pending = outer.pop()!;
      continue;
    }
    pending--;
    need(p, 1, end);
    const at = p;
    const b = bytes[p++]!;
    let items = 0;
    if (b <= 0x7f || b >= 0xe0) continue; // positive and negative fixint
    if (b <= 0x8f) items = (b & 0x0f) * 2; // fixmap: keys and values
    else if (b <= 0x9f) items = b & 0x0f; // fixarray
    else if (b <= 0xbf) p += b & 0x1f; // fixstr
    else {
      switch (b) {
        case 0xc0: case 0xc2: case 0xc3: break; // nil, false, true
        case 0xc4: case 0xd9: need(p, 1, end); p += 1 + bytes[p]!; break; // bin8, str8
        case 0xc5: case 0xda: need(p, 2, end); p += 2 + ((bytes[p]! << 8) | bytes[p + 1]!); break; // bin16, str16
        case 0xc6: case 0xdb: need(p, 4, end); p += 4 + readU32(bytes, p); break; // bin32, str32
        case 0xc7: need(p, 1, end); p += 2 + bytes[p]!; break; // ext8: length, type, data
        case 0xc8: need(p, 2, end); p += 3 + ((bytes[p]! << 8) | bytes[p + 1]!); break; // ext16
        case 0xc9: need(p, 4, end); p += 5 + readU32(bytes, p); break; // ext32
        case 0xcc: case 0xd0: p += 1; break;
        case 0xcd: case 0xd1: p += 2; break;
        case 0xca: case 0xce: case 0xd2: p += 4; break;
        case 0xcb: case 0xcf: case 0xd3: p += 8; break;
        case 0xd4: p += 2; break; // fixext 1, 2, 4, 8, 16: type + data
        case 0xd5: p += 3; break;
        case 0xd6: p += 5; break;
        case 0xd7: p += 9; break;
        case 0xd8: p += 17; break;
        case 0xdc: need(p, 2, end); items = (bytes[p]! << 8) | bytes[p + 1]!; p += 2; break; // array16
        case 0xdd: need(p, 4, end); items = readU32(bytes, p); p += 4; break; // array32
        case 0xde: need(p, 2, end); items = 2 * ((bytes[p]! << 8) | bytes[p + 1]!); p += 2; break; // map16
        case 0xdf: need(p, 4, end); items = 2 * readU32(bytes, p); p += 4; break; // map32
        default: malformed(`the never-used byte 0x${b.toString(16)}`, at);
      }
    }
    if (p > end) malformed('truncated value', at);
    if (items === 0) continue;
    const isMap = b <= 0x8f || b === 0xde || b === 0xdf;
    if ((isMap ? items / 2 : items) > limits.maxLength) malformed(`a collection of ${isMap ? items / 2 : items} elements (the limit is ${limits.maxLength})`, at);
    if (outer.length + 1 > limits.maxDepth) malformed(`nesting deeper than ${limits.maxDepth}`, at);
    outer.push(pending);
    pending = items;
  }
}
