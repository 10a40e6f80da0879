// Checks the properties of a published message that the broker itself acts on
// (priority, expiration, delay, persistent); the rest travel through untouched.
import { fail } from '../../shared/errors.js';
import type { MessageProperties } from '../../shared/frames.js';

function nonNegativeInt(props: MessageProperties, key: 'priority' | 'expiration' | 'delay' | 'timestamp', max = Number.MAX_SAFE_INTEGER): void {
  const v = props[key];
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw fail('ERR_INVALID_ARGUMENT', `message property '${key}' must be an integer from 0 to ${max}, got ${JSON.stringify(v)}`, { property: key });
  }
}

/** Throws ERR_INVALID_ARGUMENT when a property the broker uses has the wrong type. */
export function validateProperties(props: MessageProperties): void {
  nonNegativeInt(props, 'priority', 255);
  nonNegativeInt(props, 'expiration');
  nonNegativeInt(props, 'delay');
  if (props.persistent !== undefined && props.persistent !== null && typeof props.persistent !== 'boolean') {
    throw fail('ERR_INVALID_ARGUMENT', "message property 'persistent' must be a boolean", { property: 'persistent' });
  }
  const h = props.headers;
  if (h !== undefined && h !== null && (typeof h !== 'object' || Array.isArray(h))) {
    throw fail('ERR_INVALID_ARGUMENT', "message property 'headers' must be a map", { property: 'headers' });
  }
}
