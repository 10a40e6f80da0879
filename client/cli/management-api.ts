// The CLI's client of broker-server's management HTTP API (docs/http-api.md): the HTTP address is
// the ws:// broker URL's host and port (http://; https:// for wss://), its user and password go
// as HTTP Basic, and a refusal becomes one coded line for stderr.
import { parseBrokerUrl } from '../url.js';
import { CliError } from './errors.js';

/** The built-in user the WebSocket side also logs in as when the URL names none (loopback only). */
const DEFAULT_CREDENTIALS = { user: 'guest', password: 'guest' } as const;

/** A refusal from the API (`{ error: { code, message } }`): printed as `CODE: message`, exit 1. */
export class ApiRefusal extends CliError {
  constructor(readonly status: number, readonly code: string, readonly apiMessage: string) {
    super(`${code}: ${apiMessage}`, 1);
  }
}

/** A queue as `GET /api/queues` lists it (the fields the CLI reads; the JSON output keeps them all). */
export interface QueueInfo {
  vhost: string;
  name: string;
  messages: number;
  ready: number;
  unacked: number;
  delayed: number;
  consumers: number;
  rates?: { publish: number; deliver: number; ack: number };
  [field: string]: unknown;
}

/** Requests to one broker's management API. */
export interface ManagementApi {
  /** `http://host:port`, without credentials (for messages). */
  readonly baseUrl: string;
  /** The vhost the broker URL names (its path), undefined when it names none. */
  readonly vhost: string | undefined;
  /**
   * One request; resolves with the parsed JSON body (undefined for 204). Rejects with ApiRefusal
   * for a coded error answer, CliError when the broker cannot be reached or did not answer
   * within `timeoutMs`.
   */
  request<T>(method: 'GET' | 'DELETE', path: string, timeoutMs: number): Promise<T | undefined>;
}

/** `/api/queues/%2F/jobs`-style path segments: each part URL-encoded, '/' included. */
export function apiPath(...parts: readonly string[]): string {
  return parts.map((p) => `/${encodeURIComponent(p)}`).join('');
}

/**
 * The management API of the broker at `brokerUrl` (ws:// or wss://).
 * @throws CliError (exit 2) for a broker URL of another scheme (amqp:// has RabbitMQ's own API).
 */
export function managementApi(brokerUrl: string): ManagementApi {
  if (!/^wss?:\/\//i.test(brokerUrl.trim())) {
    throw new CliError(`the management API is broker-server's: it needs a ws:// or wss:// broker URL, got ${brokerUrl.replace(/\/\/[^@/]*@/, '//***@')}`, 2);
  }
  const target = parseBrokerUrl(brokerUrl.trim());
  const ws = new URL(target.wsUrl);
  const baseUrl = `${ws.protocol === 'wss:' ? 'https:' : 'http:'}//${ws.host}`;
  const user = target.user ?? DEFAULT_CREDENTIALS.user;
  const password = target.password ?? (target.user === undefined ? DEFAULT_CREDENTIALS.password : '');
  const authorization = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
  return {
    baseUrl,
    vhost: target.vhost,
    async request<T>(method: 'GET' | 'DELETE', path: string, timeoutMs: number): Promise<T | undefined> {
      const url = `${baseUrl}${path}`;
      let res: Response;
      try {
        res = await fetch(url, { method, headers: { authorization, accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
          throw new CliError(`the broker did not answer in time: ${method} ${url} took over ${timeoutMs} ms`, 1, { cause: err });
        }
        // fetch says "fetch failed"; the socket's reason (ECONNREFUSED...) is its cause.
        const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
        const why = typeof cause?.code === 'string' ? cause.code : String(cause?.message ?? (err as Error).message);
        throw new CliError(`broker unreachable: cannot reach ${url}: ${why}`, 1, { cause: err });
      }
      const body = await res.text();
      if (res.ok) return res.status === 204 || body === '' ? undefined : (JSON.parse(body) as T);
      let error: { code?: unknown; message?: unknown } | undefined;
      try {
        error = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
      } catch {
        error = undefined;
      }
      if (typeof error?.code === 'string' && typeof error.message === 'string') throw new ApiRefusal(res.status, error.code, error.message);
      throw new ApiRefusal(res.status, `HTTP ${res.status}`, `${method} ${url} answered ${res.statusText || 'an error'}${body === '' ? '' : `: ${body.slice(0, 200)}`}`);
    },
  };
}
