// Turns the user's broker URL plus connect() options into what the socket and the hello need.
// Pure: no sockets. Credentials and vhost may ride in the URL (ws://user:pass@host:port/vhost).
import { fail } from '../shared/errors.js';

/** Where to connect and who to say we are; options win over what the URL carries. */
export interface ConnectTarget {
  /** The WebSocket URL without credentials or vhost path (the vhost travels in the hello). */
  wsUrl: string;
  /** The URL as shown in messages: the password is masked. */
  displayUrl: string;
  user: string | undefined;
  password: string | undefined;
  vhost: string | undefined;
}

/** Overrides connect() accepts for what the URL may also carry. */
export interface TargetOverrides {
  user?: string | undefined;
  password?: string | undefined;
  vhost?: string | undefined;
}

function decode(part: string, what: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw fail('ERR_INVALID_ARGUMENT', `broker URL ${url}: the ${what} is not valid percent-encoding`);
  }
}

/**
 * Parses `ws://user:pass@host:port/vhost` (or wss://). The vhost is the whole path after the
 * first slash, percent-decoded, as in AMQP URIs (`%2F` is the vhost "/"); an empty path leaves
 * the vhost to the broker's default. Throws ERR_INVALID_ARGUMENT for anything else.
 */
export function parseBrokerUrl(url: string, overrides: TargetOverrides = {}): ConnectTarget {
  if (typeof url !== 'string' || url.length === 0) throw fail('ERR_INVALID_ARGUMENT', 'broker URL must be a non-empty string');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw fail('ERR_INVALID_ARGUMENT', `broker URL '${url}' is not a URL`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw fail('ERR_INVALID_ARGUMENT', `broker URL '${url}' must start with ws:// or wss://`, { protocol: parsed.protocol });
  }
  if (parsed.hostname === '') throw fail('ERR_INVALID_ARGUMENT', `broker URL '${url}' has no host`);
  if (parsed.search !== '' || parsed.hash !== '') {
    throw fail('ERR_INVALID_ARGUMENT', `broker URL '${url}' must not carry a query or fragment`);
  }
  const user = parsed.username === '' ? undefined : decode(parsed.username, 'user name', url);
  const password = parsed.password === '' ? undefined : decode(parsed.password, 'password', url);
  const path = parsed.pathname.slice(1);
  const vhost = path === '' ? undefined : decode(path, 'virtual host', url);
  const base = `${parsed.protocol}//${parsed.host}`;
  return {
    wsUrl: `${base}/`,
    displayUrl: user === undefined ? `${base}/` : `${parsed.protocol}//${parsed.username}${password === undefined ? '' : ':***'}@${parsed.host}/`,
    user: overrides.user ?? user,
    password: overrides.password ?? password,
    vhost: overrides.vhost ?? vhost,
  };
}
