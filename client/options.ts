// connect() options: their types, defaults and validation, in one place.
// Durations are milliseconds, as everywhere in celeriac.
import { fail } from '../shared/errors.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';

/** Options of connect(). Credentials and vhost given here win over those in the URL. */
export interface ConnectOptions {
  user?: string;
  password?: string;
  /** Virtual host; also the URL path (`ws://host:port/my-vhost`). Default: the broker's default. */
  vhost?: string;
  /** Name shown in the broker's connection list. Default: `celeriac-client`. */
  clientName?: string;
  /**
   * Reconnect on its own after a drop (the first connection must succeed). Default true. Attempts
   * go on until close(), each failure reported by 'reconnecting'; false makes a drop final.
   */
  reconnect?: boolean;
  /**
   * Heartbeat interval to propose, ms. The broker uses the smaller of its own and this one
   * (0 or absent: the broker's); a broker silent for two intervals counts as dead.
   */
  heartbeat?: number;
  /**
   * How long a request (declare, bind, get, ...) waits for its reply, the handshake waits for the
   * welcome, a written publish waits for its confirm, and close() waits for pending confirms; ms.
   * Default 30,000. Publishes held while offline or blocked are not timed.
   */
  requestTimeout?: number;
  /** Reconnect delays: exponential from `initial` up to `max` ms, with jitter. Default 100 / 10,000. */
  reconnectBackoff?: Partial<BackoffOptions>;
  /**
   * How long a publish may wait for the connection to come back while it is down (reconnecting),
   * ms: a publish made while down, or written but not confirmed when the socket dropped. Past it
   * the publish rejects with ERR_PUBLISH_FAILED and is never sent again. Default null: it waits
   * for the reconnect, however long. Publishes held by the broker's flow control are not timed.
   */
  offlinePublishTimeout?: number | null;
}

/** Options after defaults and validation. */
export interface Settings {
  clientName: string;
  reconnect: boolean;
  heartbeat: number | undefined;
  requestTimeout: number;
  backoff: BackoffOptions;
  /** null = no limit. */
  offlinePublishTimeout: number | null;
}

function duration(name: string, v: unknown, min: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw fail('ERR_INVALID_ARGUMENT', `option ${name} must be a number of milliseconds >= ${min}`, { option: name });
  }
}

function text(name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'string') throw fail('ERR_INVALID_ARGUMENT', `option ${name} must be a string`, { option: name });
}

/** Applies defaults; throws ERR_INVALID_ARGUMENT on a mistyped or out-of-range option. */
export function normalizeOptions(options: ConnectOptions = {}): Settings {
  if (options === null || typeof options !== 'object') throw fail('ERR_INVALID_ARGUMENT', 'connect() options must be an object');
  text('user', options.user);
  text('password', options.password);
  text('vhost', options.vhost);
  text('clientName', options.clientName);
  if (options.reconnect !== undefined && typeof options.reconnect !== 'boolean') throw fail('ERR_INVALID_ARGUMENT', 'option reconnect must be a boolean');
  duration('heartbeat', options.heartbeat, 0);
  duration('requestTimeout', options.requestTimeout, 1);
  const backoff = options.reconnectBackoff ?? {};
  duration('reconnectBackoff.initial', backoff.initial, 1);
  duration('reconnectBackoff.max', backoff.max, 1);
  if (options.offlinePublishTimeout !== null) duration('offlinePublishTimeout', options.offlinePublishTimeout, 0);
  return {
    clientName: options.clientName ?? 'celeriac-client',
    reconnect: options.reconnect ?? true,
    heartbeat: options.heartbeat,
    requestTimeout: options.requestTimeout ?? 30_000,
    backoff: { initial: backoff.initial ?? DEFAULT_BACKOFF.initial, max: backoff.max ?? Math.max(DEFAULT_BACKOFF.max, backoff.initial ?? 0) },
    offlinePublishTimeout: options.offlinePublishTimeout ?? null,
  };
}
