// A redis:// or rediss:// URL as Celery reads it (celery/backends/redis.py _params_from_url):
// user and password, host, port (6379), the database as the path (/0), and for rediss:// TLS with
// the query's ssl_cert_reqs / ssl_ca_certs / ssl_certfile / ssl_keyfile. Pure: the certificate
// files a rediss:// URL names are read when connecting (connect.ts).
import { fail } from '../../../shared/errors.js';

/** TLS of a rediss:// URL: whether the server's certificate is checked, and the files named. */
export interface RedisTls {
  /** False for ssl_cert_reqs=CERT_NONE. Default true. */
  rejectUnauthorized: boolean;
  /** Paths: ssl_ca_certs, ssl_certfile, ssl_keyfile. */
  ca?: string;
  cert?: string;
  key?: string;
}

/** Where and how to connect, as ioredis takes it. */
export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: RedisTls;
}

/** The URL with its password hidden, for messages. */
export function maskRedisUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

function bad(url: string, why: string, label: string): never {
  throw fail('ERR_INVALID_ARGUMENT', `setting ${label}: '${maskRedisUrl(url)}': ${why}`, { setting: label });
}

/** Celery's names of the certificate checks (ssl.CERT_*), and kombu's short ones. */
const CERT_REQS: Readonly<Record<string, boolean>> = {
  CERT_REQUIRED: true, required: true, CERT_OPTIONAL: true, optional: true, CERT_NONE: false, none: false,
};

/** Parses `url`; throws ERR_INVALID_ARGUMENT naming the setting `label`. */
export function parseRedisUrl(url: string, label = 'resultBackend'): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad(url, 'not a URL', label);
  }
  const scheme = u.protocol.toLowerCase();
  if (scheme !== 'redis:' && scheme !== 'rediss:') bad(url, 'not a redis:// or rediss:// URL', label);
  if (u.hostname === '') bad(url, 'no host', label);
  const port = u.port === '' ? 6379 : Number(u.port);
  const path = u.pathname.replace(/^\/+|\/+$/g, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isSafeInteger(db) || db < 0) bad(url, `the database '${path}' is not a number`, label);
  // IPv6 hosts come bracketed in a URL; the socket wants them bare.
  const target: RedisTarget = { host: u.hostname.replace(/^\[|\]$/g, ''), port, db };
  if (u.username !== '') target.username = decodeURIComponent(u.username);
  if (u.password !== '') target.password = decodeURIComponent(u.password);
  const q = u.searchParams;
  const sslKeys = ['ssl_cert_reqs', 'ssl_ca_certs', 'ssl_certfile', 'ssl_keyfile'].filter((k) => q.has(k));
  if (scheme === 'redis:') {
    // As Celery: TLS parameters on a plain URL are a mistake, not something to drop silently.
    if (sslKeys.length > 0) bad(url, `${sslKeys.join(', ')} given for redis://; a TLS connection is rediss://`, label);
    return target;
  }
  const tls: RedisTls = { rejectUnauthorized: true };
  const reqs = q.get('ssl_cert_reqs');
  if (reqs !== null) {
    const verify = CERT_REQS[reqs];
    if (verify === undefined) bad(url, `ssl_cert_reqs must be CERT_REQUIRED, CERT_OPTIONAL or CERT_NONE, got '${reqs}'`, label);
    tls.rejectUnauthorized = verify;
  }
  const ca = q.get('ssl_ca_certs');
  const cert = q.get('ssl_certfile');
  const key = q.get('ssl_keyfile');
  if (ca !== null) tls.ca = ca;
  if (cert !== null) tls.cert = cert;
  if (key !== null) tls.key = key;
  target.tls = tls;
  return target;
}
