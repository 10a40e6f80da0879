// What the management API needs of the running broker, and the coded JSON error it answers with.
// Actions go through the engine's own operations (the ones the WebSocket protocol uses).
import type { UserRegistry } from '../auth/users.js';
import type { EngineApi } from '../engine/types.js';
import type { BrokerStore } from '../store/store.js';
import { CeleriacError, ERRORS, type ErrorCode } from '../../shared/errors.js';

/** Where the broker is in its life: the readiness probe answers 200 only in 'ready'. */
export type BrokerState = 'starting' | 'ready' | 'closing';

/** Everything buildHttpServer needs; the broker owns the listening and the sockets. */
export interface HttpDeps {
  engine: EngineApi;
  store: Pick<BrokerStore, 'location' | 'sizeBytes' | 'fileSizes' | 'isOpen'>;
  /** The broker's users: the same logins (throttle, hashing slots, loopback rule) as the WebSocket side. */
  users: Pick<UserRegistry, 'identify' | 'list'>;
  /** Virtual hosts that exist. */
  vhosts: readonly string[];
  /** Largest message body a publish may carry (the protocol's maxBodySize). */
  maxBodySize: number;
  /** Serve /metrics without credentials (--metrics-open). */
  metricsOpen: boolean;
  /** The broker's state, for /readyz. */
  state: () => BrokerState;
  /** Epoch ms when the broker started (for uptime). */
  startedAt: number;
  /** The broker's version, as in welcome. */
  version: string;
  /** Open WebSocket and AMQP connections, authenticated or not. */
  connections: () => number;
  /** Refused and throttled peers since start. */
  peers: () => PeerCounts;
}

/** Counts of what the broker refused to peers, for /metrics. */
export interface PeerCounts {
  /** Logins with a wrong user name or password. */
  loginFailures: number;
  /** Logins made to wait because their address had failed recently. */
  loginsDelayed: number;
  /** Logins refused unchecked: their address had too many waiting already. */
  loginsRefused: number;
  /** TCP connections refused over maxConnections or maxConnectionsPerAddress. */
  connectionsRefused: number;
  /** TCP connections closed for sending no request headers within the handshake timeout. */
  handshakeTimeouts: number;
}

/** The body of every error answer: `{ error: { code, message } }`, the code from shared/errors.ts. */
export interface HttpErrorBody {
  error: { code: ErrorCode; message: string; wire: number; details?: Readonly<Record<string, unknown>> };
}

// HTTP status per error code: the wire codes are AMQP's, not HTTP's, so a few map by hand.
const STATUS: Partial<Record<ErrorCode, number>> = {
  ERR_NOT_FOUND: 404,
  ERR_NO_ROUTE: 404,
  ERR_INVALID_ARGUMENT: 400,
  ERR_PRECONDITION_FAILED: 412,
  ERR_ACCESS_REFUSED: 401,
  ERR_ACCESS_DENIED: 403,
  ERR_RESOURCE_LOCKED: 423,
  ERR_TIMEOUT: 504,
  ERR_MESSAGE_TOO_LARGE: 413,
  ERR_QUEUE_FULL: 409,
  ERR_SERVER_SHUTDOWN: 503,
  ERR_TOO_MANY_CONNECTIONS: 503,
};

/** The HTTP status that goes with an error code (500 for anything without a better one). */
export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** The JSON body for a coded error. */
export function errorBody(err: CeleriacError): HttpErrorBody {
  const body: HttpErrorBody = { error: { code: err.code, message: err.message, wire: ERRORS[err.code].wire } };
  if (err.details !== undefined) body.error.details = err.details;
  return body;
}
