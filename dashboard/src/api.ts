// Calls to the broker's API from the page: the session's CSRF token on every action, and a marker
// header so a 401 never pops the browser's Basic dialog over the page (the gate's challenge rule).

/** A refusal of the API, with its code (docs/errors.md). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let csrfToken: string | undefined;

/** The token POST /api/login gave this session (GET /api/whoami repeats it). */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** One call; resolves with the parsed JSON (undefined for 204), rejects with ApiError. */
export async function api<T>(path: string, init: { method?: string; json?: unknown } = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json', 'x-requested-with': 'celeriac-dashboard' };
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  if (csrfToken !== undefined && method !== 'GET') headers['x-celeriac-csrf'] = csrfToken;
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin',
    ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
  });
  if (res.status === 204) return undefined as T;
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (!res.ok) {
    // The session ended (logout elsewhere, broker restart): the root answers the login page.
    if (res.status === 401) location.assign('/');
    throw new ApiError(res.status, body?.error?.code ?? `HTTP ${res.status}`, body?.error?.message ?? res.statusText);
  }
  return body as T;
}

/** A path segment, URL-encoded ('/' is %2F), as the API's {vhost} and {name} want. */
export const seg = (s: string): string => encodeURIComponent(s);
