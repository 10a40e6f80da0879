// Input checks of the beat requests, each an ERR_INVALID_ARGUMENT naming the field: what the codec
// cannot see (byte lengths, JSON text, ranges), checked before anything changes. Shared by every
// beat store (broker-server's engine, the Redis one in the client) so their limits cannot drift.
import { fail } from './errors.js';

/** Longest entry spec (JSON text), bytes. */
export const MAX_SPEC_BYTES = 64 * 1024;
/** Longest name of an entry, a lease or a holder, and of a source, bytes. */
export const MAX_NAME_BYTES = 255;
/** Shortest and longest lease a beat may take, ms. */
export const MIN_LEASE_TTL = 1_000;
export const MAX_LEASE_TTL = 60 * 60 * 1000;

/**
 * The fire log's bound, per entry: the newest FIRE_LOG_KEEP fires, none scheduled more than
 * FIRE_LOG_MAX_AGE_MS before the latest fire was recorded (the store's clock then). Only fires at
 * or before the entry's lastRunAt can be in it, and those are refused by that alone, so the log is
 * needed only after a reset of the entry's state; a bound keeps a fast schedule from growing it without end.
 */
export const FIRE_LOG_KEEP = 1_000;
export const FIRE_LOG_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/** A string of 1 to 255 bytes of UTF-8. */
export function checkName(what: string, v: unknown): asserts v is string {
  if (typeof v !== 'string' || v === '' || (v.length > MAX_NAME_BYTES / 3 && Buffer.byteLength(v) > MAX_NAME_BYTES)) {
    throw fail('ERR_INVALID_ARGUMENT', `${what} must be a string of 1 to ${MAX_NAME_BYTES} bytes`, { field: what });
  }
}

/** The entry as JSON text: at most 64 KiB, and JSON (the broker keeps it as given, but any client must be able to read it back). */
export function checkSpec(v: unknown): asserts v is string {
  if (typeof v !== 'string' || Buffer.byteLength(v) > MAX_SPEC_BYTES) {
    throw fail('ERR_INVALID_ARGUMENT', `a schedule spec must be JSON text of at most ${MAX_SPEC_BYTES} bytes`, { field: 'spec' });
  }
  try {
    JSON.parse(v);
  } catch (err) {
    throw fail('ERR_INVALID_ARGUMENT', `a schedule spec must be JSON text: ${(err as Error).message}`, { field: 'spec' });
  }
}

/** A time in epoch ms: a safe integer. */
export function checkTime(what: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw fail('ERR_INVALID_ARGUMENT', `${what} must be an integer time (epoch ms)`, { field: what });
}

/** A time in epoch ms, or null for none. */
export function checkOptionalTime(what: string, v: unknown): asserts v is number | null {
  if (v !== null) checkTime(what, v);
}

/** A counter the broker handed out (epoch, revision): a non-negative safe integer. */
export function checkCount(what: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw fail('ERR_INVALID_ARGUMENT', `${what} must be a non-negative integer`, { field: what });
}

/** A lease time to live: 1 s to 1 h. */
export function checkTtl(v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < MIN_LEASE_TTL || v > MAX_LEASE_TTL) {
    throw fail('ERR_INVALID_ARGUMENT', `a lease ttl must be an integer of ${MIN_LEASE_TTL} to ${MAX_LEASE_TTL} ms`, { field: 'ttl' });
  }
}
