// Which failures to connect mean "the broker is not there (yet)" — worth trying again — and which
// mean the settings are wrong (bad URL, credentials, not a broker), which no retry can fix.
import { CeleriacError } from '../shared/errors.js';

/** Socket errors of a broker that is down, starting, or out of reach for now. */
const UNREACHABLE: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN',
  'ENETUNREACH', 'ENETDOWN', 'EADDRNOTAVAIL', 'EAI_AGAIN',
  // A host name that does not resolve yet: a container whose broker service is not created yet.
  'ENOTFOUND',
]);

/**
 * True when connect() failed because the broker could not be reached: refused, unreachable, no
 * welcome in time, closed during the handshake, or shutting down. False for everything a retry
 * cannot fix: a malformed URL or option, refused credentials, an HTTP answer (not a broker),
 * a protocol mismatch.
 */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof CeleriacError)) return false;
  switch (err.code) {
    case 'ERR_TIMEOUT':
    case 'ERR_SERVER_SHUTDOWN':
      return true;
    case 'ERR_CONNECTION_CLOSED': {
      // An HTTP status means something answered that is not a broker endpoint.
      if (err.details?.['status'] !== undefined) return false;
      if (err.details?.['closeCode'] !== undefined) return true;
      const cause = err.cause as { code?: unknown } | undefined;
      return typeof cause?.code === 'string' && UNREACHABLE.has(cause.code);
    }
    default:
      return false;
  }
}
