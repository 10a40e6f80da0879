// Calls to a broker's management API over real HTTP (fetch), with the built-in guest user's Basic
// credentials unless a test says otherwise, and a timeout on every request.
import type { Broker } from '../../server/index.js';

const WAIT_MS = 10_000;

/** `Authorization` header value for HTTP Basic. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/** The built-in user (administrator, loopback only): what a test broker without `users` has. */
export const GUEST = basic('guest', 'guest');

/** Options of {@link api}. */
export interface ApiOptions {
  method?: string;
  /** A JSON body (sent with content-type application/json). */
  json?: unknown;
  /** The Authorization header; default GUEST; null sends none. */
  auth?: string | null;
  headers?: Record<string, string>;
}

/** An answer: status, headers, and the body parsed as JSON when it is JSON (else the text). */
export interface ApiAnswer<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** One request to `broker`'s HTTP port. */
export async function api<T = unknown>(broker: Pick<Broker, 'httpUrl'>, path: string, options: ApiOptions = {}): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  const auth = options.auth === undefined ? GUEST : options.auth;
  if (auth !== null) headers.authorization = auth;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${broker.httpUrl}${path}`, {
    method: options.method ?? 'GET',
    headers,
    ...(options.json === undefined ? {} : { body: JSON.stringify(options.json) }),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  const text = await res.text();
  const body = (res.headers.get('content-type') ?? '').startsWith('application/json') && text !== '' ? JSON.parse(text) : text;
  return { status: res.status, headers: res.headers, body: body as T };
}

/** The path of one queue: /api/queues/{vhost}/{name}, both URL-encoded ('/' is %2F). */
export function queuePath(name: string, vhost = '/'): string {
  return `/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(name)}`;
}

/** A coded error body. */
export interface ErrorJson {
  error: { code: string; message: string; wire: number; details?: Record<string, unknown> };
}
