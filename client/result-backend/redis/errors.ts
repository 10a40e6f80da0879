// ioredis' errors as celeriac's coded ones. Redis answers a refused command with an error reply
// whose first word is its kind (WRONGPASS, NOAUTH, OOM, READONLY...); ioredis reports a lost or
// refused socket as Node's error (ECONNREFUSED...) or "Connection is closed.", and a command past
// its commandTimeout as "Command timed out".
import { CeleriacError } from '../../../shared/errors.js';

/** Reply kinds that mean the credentials or their permissions are wrong. */
const ACCESS = /^(WRONGPASS|NOAUTH|NOPERM)\b|invalid password|invalid username-password/i;
/** Reply kinds that mean Redis cannot take writes now (memory, a replica, a disk error, loading). */
const REFUSED_WRITE = /^(OOM|READONLY|MISCONF|LOADING|MASTERDOWN|BUSY)\b/;

/**
 * A coded error for what ioredis threw while doing `what`. A CeleriacError passes through. Socket
 * failures become ERR_CONNECTION_CLOSED with the socket error (its `code`, e.g. ECONNREFUSED) as
 * `cause`, which is what isUnreachable() (client/unreachable.ts) reads to decide a retry may help.
 */
export function redisError(err: unknown, what: string): CeleriacError {
  if (err instanceof CeleriacError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; code?: unknown; message?: unknown };
  const text = typeof e.message === 'string' ? e.message : String(err);
  if (ACCESS.test(text)) {
    return new CeleriacError('ERR_ACCESS_REFUSED', `${what}: Redis refused the login (wrong user name or password, or a user without the permission): ${text}`, { cause: err });
  }
  if (/^Command timed out/i.test(text)) return new CeleriacError('ERR_TIMEOUT', `${what}: Redis did not answer in time`, { cause: err });
  if (REFUSED_WRITE.test(text)) return new CeleriacError('ERR_STORE_FAILED', `${what}: Redis refused it: ${text}`, { cause: err });
  if (e.name === 'ReplyError') return new CeleriacError('ERR_STORE_FAILED', `${what}: ${text}`, { cause: err });
  return new CeleriacError('ERR_CONNECTION_CLOSED', `${what}: the connection to Redis failed: ${text}`, { cause: err });
}
