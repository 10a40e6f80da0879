// The one place that turns the broker and resultBackend URLs into implementations of the
// transport and result-backend contracts (with backend-schemes.ts, its table of URL schemes).
// Built in: broker-server (ws://, wss://) for both; AMQP (amqp://, amqps://) as a transport,
// which needs a separate result backend (none built in yet: refused, see checkResultsKept).
import type { BeatBackend } from '../beat/types.js';
import { connect } from '../connect.js';
import type { Connection } from '../connection.js';
import type { ConnectOptions } from '../options.js';
import { BrokerServerResults } from '../result-backend/broker-server.js';
import { pairLink } from '../result-backend/link.js';
import type { TaskLink } from '../result-backend/result-backend.js';
import { openAmqpTransport, type AmqpTransportOptions } from '../transport/amqp/transport.js';
import { BrokerServerTransport } from '../transport/broker-server.js';
import type { Transport } from '../transport/transport.js';
import { checkBrokerScheme, checkResultBackendScheme, checkResultsKept, transportOf } from './backend-schemes.js';

/** What opening the app's backends gives. */
export interface OpenedBackends {
  /** The transport and result backend, paired, for the task layer. */
  link: TaskLink;
  /** The broker-server Connection underneath, when the broker is broker-server (its broker-level API). */
  connection: Connection | undefined;
  /** Where beat keeps its entries and lease, when the pair has a beat store. */
  beatStore: BeatBackend | undefined;
}

/** The URLs to open and the connect options of the role opening them. */
export interface BackendTarget {
  broker: string;
  resultBackend: string;
  options: ConnectOptions;
}

/**
 * Opens a transport and a result backend for `target`. broker-server serves both over ONE
 * connection with its one-transaction finish. Rejects as connect() does.
 */
export async function openBackends(target: BackendTarget): Promise<OpenedBackends> {
  checkBrokerScheme(target.broker, 'broker');
  checkResultBackendScheme(target.resultBackend, 'resultBackend');
  checkResultsKept(target.broker, target.resultBackend === target.broker ? null : target.resultBackend, 'resultBackend');
  // Settings resolve resultBackend to the broker's URL: the only pair built in is broker-server's.
  const conn = await connect(target.broker, target.options);
  const results = new BrokerServerResults(conn);
  const link = pairLink(new BrokerServerTransport(conn), results, { atomic: results, close: () => conn.close() });
  return { link, connection: conn, beatStore: conn };
}

/**
 * Opens the transport `url` names, alone: broker-server's over its own Connection, or AMQP
 * (RabbitMQ) with the role's connect options (heartbeat, reconnect and its backoff, client name,
 * request timeout; user, password and vhost given here replace the URL's). Rejects as connect()
 * does: ERR_ACCESS_REFUSED for refused credentials, ERR_CONNECTION_CLOSED when unreachable.
 */
export async function openTransport(url: string, options: ConnectOptions = {}): Promise<Transport> {
  checkBrokerScheme(url, 'broker');
  if (transportOf(url) === 'amqp') return openAmqpTransport(amqpUrl(url, options), amqpOptions(options));
  return new BrokerServerTransport(await connect(url, options));
}

/** `url` with the credentials and vhost of `options` in it (they win over the URL's, as for connect()). */
function amqpUrl(url: string, options: ConnectOptions): string {
  if (options.user === undefined && options.password === undefined && options.vhost === undefined) return url;
  const u = new URL(url);
  if (options.user !== undefined) u.username = encodeURIComponent(options.user);
  if (options.password !== undefined) u.password = encodeURIComponent(options.password);
  // AMQP URLs name the vhost in the path, percent-encoded ('/' is '%2F').
  if (options.vhost !== undefined) u.pathname = `/${encodeURIComponent(options.vhost)}`;
  return u.toString();
}

function amqpOptions(options: ConnectOptions): AmqpTransportOptions {
  const out: AmqpTransportOptions = {};
  if (options.heartbeat !== undefined) out.heartbeat = options.heartbeat;
  if (options.reconnect !== undefined) out.reconnect = options.reconnect;
  if (options.reconnectBackoff !== undefined) out.reconnectBackoff = options.reconnectBackoff;
  if (options.clientName !== undefined) out.clientName = options.clientName;
  if (options.requestTimeout !== undefined) out.requestTimeout = options.requestTimeout;
  return out;
}
