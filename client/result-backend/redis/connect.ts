// Opening the backend's Redis connections with the role's connect options. ioredis reconnects by
// itself (with celeriac's backoff here) and holds commands made while down in its offline queue;
// each call is bounded by requestTimeout (calls.ts), so none hangs on a Redis that stays away.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { fail } from '../../../shared/errors.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from '../../backoff.js';
import { redisError } from './errors.js';
import { maskRedisUrl, parseRedisUrl, type RedisTls } from './url.js';

/** Connection options of the Redis backend (a subset of connect()'s, same meanings). */
export interface RedisConnectOptions {
  /** Name shown by CLIENT LIST. Default `celeriac-results`. */
  clientName?: string;
  /** Reconnect by itself after a drop. Default true. */
  reconnect?: boolean;
  /** Reconnect delays, ms. Default 100 / 10,000. */
  reconnectBackoff?: Partial<BackoffOptions>;
  /** How long a command waits for its reply, queued while Redis is away included, ms. Default 30,000. */
  requestTimeout?: number;
}

/** requestTimeout when none is given, ms (as connect()'s). */
export const DEFAULT_REQUEST_TIMEOUT = 30_000;

/** The ioredis options of `url` with `options`, not connecting yet. */
export function redisOptions(url: string, options: RedisConnectOptions): RedisOptions {
  const target = parseRedisUrl(url);
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.reconnectBackoff };
  const out: RedisOptions = {
    host: target.host,
    port: target.port,
    db: target.db,
    connectionName: options.clientName ?? 'celeriac-results',
    lazyConnect: true,
    // Commands wait in the offline queue while Redis is away, bounded by requestTimeout (calls.ts), not by a count of attempts.
    maxRetriesPerRequest: null,
    retryStrategy: options.reconnect === false ? () => null : (times: number) => backoffDelay(times - 1, backoff),
    // Channels are subscribed again by the Subscriber itself, which then reads what it missed.
    autoResubscribe: false,
  };
  if (target.username !== undefined) out.username = target.username;
  if (target.password !== undefined) out.password = target.password;
  if (target.tls !== undefined) out.tls = tlsOptions(url, target.host, target.tls);
  return out;
}

/** Node's TLS options for a rediss:// URL, with the certificate files it names read. */
function tlsOptions(url: string, host: string, tls: RedisTls): ConnectionOptions {
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw fail('ERR_INVALID_ARGUMENT', `setting resultBackend: '${maskRedisUrl(url)}': ${what} '${path}' cannot be read: ${(err as Error).message}`, { setting: 'resultBackend' });
    }
  };
  const out: ConnectionOptions = { servername: host, rejectUnauthorized: tls.rejectUnauthorized };
  if (tls.ca !== undefined) out.ca = read('ssl_ca_certs', tls.ca);
  if (tls.cert !== undefined) out.cert = read('ssl_certfile', tls.cert);
  if (tls.key !== undefined) out.key = read('ssl_keyfile', tls.key);
  return out;
}

/**
 * A connected client for `url`. Rejects with ERR_ACCESS_REFUSED for refused credentials and
 * ERR_CONNECTION_CLOSED (isUnreachable() true, the socket error as cause) when Redis cannot be
 * reached: the first connection is tried once, the caller decides about retrying it.
 */
export async function connectRedis(url: string, options: RedisOptions, timeout: number): Promise<Redis> {
  const client = new Redis(options);
  // connect() rejects with a bare "Connection is closed."; the reason came as an 'error' first.
  let reason: unknown;
  const onError = (err: unknown): void => { reason = err; };
  client.on('error', onError);
  try {
    // connectTimeout bounds the TCP connect; the handshake and PING are bounded here.
    await Promise.race([client.connect().then(() => client.ping()), new Promise((_, reject) => {
      setTimeout(() => reject(new Error('Command timed out')), timeout).unref();
    })]);
  } catch (err) {
    client.disconnect();
    throw redisError(reason ?? err, `connect to Redis at ${maskRedisUrl(url)}`);
  } finally {
    client.off('error', onError);
  }
  // Later errors reach the calls that wait on them; this keeps ioredis from printing each one.
  client.on('error', () => undefined);
  return client;
}
