// Which URL schemes name a transport or result backend, and which of them are built in: the
// table openBackends (backends.ts) and the setting parsers share. Pure, no connections.
// Built in: broker-server (ws://, wss://) as transport and result backend; AMQP (amqp://, amqps://)
// as transport only, so it needs a separate result backend; Redis (redis://, rediss://) as result
// backend only (Redis as a broker is not built in), paired with either transport.
import { maskUrlPassword } from '../../shared/mask-url.js';
import { fail } from '../../shared/errors.js';

/** The transports built in. */
export type TransportKind = 'broker-server' | 'amqp';

/** Transports by URL scheme: what is built in, and what is known but not built in this version. */
const TRANSPORTS: Readonly<Record<string, TransportKind | null>> = {
  'ws:': 'broker-server', 'wss:': 'broker-server', 'amqp:': 'amqp', 'amqps:': 'amqp', 'redis:': null, 'rediss:': null,
};

/** The result backends built in. */
export type ResultBackendKind = 'broker-server' | 'redis';

/** Result backends by URL scheme (besides the broker itself, the default). */
const RESULT_BACKENDS: Readonly<Record<string, ResultBackendKind | null>> = {
  'ws:': 'broker-server', 'wss:': 'broker-server', 'redis:': 'redis', 'rediss:': 'redis',
};

/** The built-in transport a broker URL names (by its scheme), or undefined. */
export function transportOf(url: string): TransportKind | undefined {
  const scheme = schemeOf(url);
  return scheme === undefined ? undefined : TRANSPORTS[scheme] ?? undefined;
}

/** The built-in result backend a resultBackend URL names (by its scheme), or undefined. */
export function resultBackendOf(url: string): ResultBackendKind | undefined {
  const scheme = schemeOf(url);
  return scheme === undefined ? undefined : RESULT_BACKENDS[scheme] ?? undefined;
}

/**
 * Throws ERR_TRANSPORT_UNAVAILABLE when the broker keeps no results and `resultBackend` (null: the
 * broker) names no separate result backend: an AMQP broker needs one (redis://). `label` names the
 * setting to blame.
 */
export function checkResultsKept(broker: string, resultBackend: string | null, label: string): void {
  if (transportOf(broker) !== 'amqp') return;
  // broker-server's result backend is the broker-server link itself: it cannot pair with RabbitMQ.
  if (resultBackend !== null && resultBackendOf(resultBackend) === 'redis') return;
  throw fail('ERR_TRANSPORT_UNAVAILABLE', `setting ${label}: the broker '${masked(broker)}' is RabbitMQ, which keeps no task results; set resultBackend to a separate result backend (redis:// or rediss://)`, { setting: label, scheme: schemeOf(broker) });
}

function schemeOf(url: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url);
  return m?.[1]?.toLowerCase();
}

/** The URL (or each URL of a `;`-separated failover list) with its password hidden, for error messages. */
export const masked = maskUrlPassword;

/**
 * The URLs of a broker setting: one URL, or several separated by `;` (kombu's failover form,
 * `'amqp://h1//;amqp://h2//'`), tried in order on connect and reconnect. Only the AMQP transport
 * takes more than one; the setting's parser refuses a list for any other.
 */
export function brokerUrls(url: string): string[] {
  return url.split(';').map((u) => u.trim()).filter((u) => u !== '');
}

function builtIn(table: Readonly<Record<string, string | null>>): string {
  return Object.keys(table).filter((k) => table[k] !== null).map((k) => `${k}//`).join(', ');
}

/**
 * Throws ERR_TRANSPORT_UNAVAILABLE when `url` names a known transport that is not built in
 * (amqp://, redis://); anything else is left to the URL's own parser. `label` names the setting.
 */
export function checkBrokerScheme(url: string, label: string): void {
  const scheme = schemeOf(url);
  if (scheme !== undefined && TRANSPORTS[scheme] === null) {
    throw fail('ERR_TRANSPORT_UNAVAILABLE', `setting ${label}: '${masked(url)}' needs the ${scheme}// transport, which is not built into this version of celeriac (built in: ${builtIn(TRANSPORTS)})`, { setting: label, scheme });
  }
}

/** As checkBrokerScheme, for a resultBackend URL (redis://). */
export function checkResultBackendScheme(url: string, label: string): void {
  const scheme = schemeOf(url);
  if (scheme !== undefined && RESULT_BACKENDS[scheme] === null) {
    throw fail('ERR_TRANSPORT_UNAVAILABLE', `setting ${label}: '${masked(url)}' needs the ${scheme}// result backend, which is not built into this version of celeriac (built in: the broker itself, ${builtIn(RESULT_BACKENDS)})`, { setting: label, scheme });
  }
}

