// The limits and option checks of a revoke, shared by every store that keeps revocations
// (broker-server's engine, the Redis result backend), so both refuse the same calls in the same words.
import { fail } from './errors.js';
import type { RevokeOptions } from './frames.js';

/** How long a revocation is remembered when the revoke does not say (Celery keeps them as long). */
export const DEFAULT_REVOKE_EXPIRES = 86_400_000;
/** Task ids one revoke or revoked-ids check may name. */
export const MAX_REVOKE_IDS = 10_000;
/** Longest signal name passed through (they are names such as 'SIGTERM'). */
const MAX_SIGNAL_LENGTH = 32;

/** A revoke's options, defaults applied; ERR_INVALID_ARGUMENT for a bad one. */
export function checkRevokeOptions(o: RevokeOptions): { terminate: boolean; signal: string | undefined; expires: number } {
  if (o.terminate !== undefined && typeof o.terminate !== 'boolean') throw fail('ERR_INVALID_ARGUMENT', "revoke: 'terminate' must be a boolean");
  if (o.signal !== undefined && (typeof o.signal !== 'string' || o.signal === '' || o.signal.length > MAX_SIGNAL_LENGTH)) {
    throw fail('ERR_INVALID_ARGUMENT', `revoke: 'signal' must be a signal name of 1 to ${MAX_SIGNAL_LENGTH} characters`);
  }
  const expires = o.expires ?? DEFAULT_REVOKE_EXPIRES;
  if (!Number.isSafeInteger(expires) || expires < 0) throw fail('ERR_INVALID_ARGUMENT', "revoke: 'expires' must be a non-negative integer (ms; 0 = forever)");
  return { terminate: o.terminate === true, signal: o.signal, expires };
}
