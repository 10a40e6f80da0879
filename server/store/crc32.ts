// CRC-32 (IEEE, as zlib's) of bytes: node's own when it has one (zlib.crc32, Node >= 20.15), else
// a table-driven one in JavaScript with the same result. The event segments check each record with it.
import zlib from 'node:zlib';

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** CRC-32 in JavaScript (exported for the test that checks it against zlib's). */
export function crc32Js(bytes: Uint8Array): number {
  table ??= crcTable();
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** CRC-32 of `bytes`. */
export const crc32: (bytes: Uint8Array) => number = typeof native === 'function' ? (bytes) => native(bytes) >>> 0 : crc32Js;
