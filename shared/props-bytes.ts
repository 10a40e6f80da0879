// The msgpack bytes a message's properties arrived as, kept beside the decoded object so the broker
// stores and forwards them as the publisher encoded them instead of encoding them again per message
// (once for the store's row, once per deliver frame).
import type { MessageProperties } from './frames.js';

// Keyed by the decoded object: whatever builds new properties (dead-lettering, the event log's id
// header, an AMQP publish) makes a new object without bytes, which is then encoded as before.
const bytesOf = new WeakMap<MessageProperties, Uint8Array>();

/**
 * Records that `props` was decoded from `bytes` (one whole msgpack map). The object is frozen: the
 * bytes stay true to it only while nobody changes it, and a change must fail loudly, not silently
 * send the old bytes.
 */
export function rememberPropsBytes(props: MessageProperties, bytes: Uint8Array): void {
  Object.freeze(props);
  bytesOf.set(props, bytes);
}

/** The msgpack bytes `props` was decoded from, or undefined when it was built in memory. */
export function propsBytes(props: MessageProperties): Uint8Array | undefined {
  return bytesOf.get(props);
}
