// The 'msgpack' serializer (application/x-msgpack, binary), interoperable with kombu's msgpack.
// Bytes travel as msgpack bin, Dates as the msgpack timestamp extension; bigint is refused.
import { Decoder, Encoder } from '@msgpack/msgpack';
import { CeleriacError } from '../errors.js';
import type { Serializer } from './serializers.js';

// Reused instances: building an Encoder per call allocates its buffer every time.
// ignoreUndefined: an undefined object member is dropped, as JSON.stringify drops it, so the
// two serializers carry the same values.
const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

/**
 * msgpack as kombu writes and reads it (`use_bin_type=True`, `raw=False`): strings are UTF-8 str,
 * Uint8Array/Buffer become bin and decode as Uint8Array, Date becomes the timestamp extension
 * (-1) and decodes as Date. bigint is refused with ERR_INVALID_ARGUMENT (as in the JSON
 * serializer) rather than silently becoming a number; integers beyond 2^53 from another producer
 * decode as (imprecise) numbers.
 */
export const msgpackSerializer: Serializer = Object.freeze({
  name: 'msgpack',
  contentType: 'application/x-msgpack',
  contentEncoding: 'binary',
  encode(value: unknown): Uint8Array {
    try {
      return encoder.encode(value);
    } catch (err) {
      throw wrap(err, 'value cannot be serialized as msgpack');
    }
  },
  decode(bytes: Uint8Array): unknown {
    try {
      return decoder.decode(bytes);
    } catch (err) {
      throw wrap(err, 'body is not valid msgpack');
    }
  },
});

function wrap(err: unknown, what: string): CeleriacError {
  if (err instanceof CeleriacError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  const hint = /BigInt/i.test(reason) ? ' (bigint is not supported: send it as a string or a number)' : '';
  return new CeleriacError('ERR_INVALID_ARGUMENT', `${what}: ${reason}${hint}`, { cause: err });
}
