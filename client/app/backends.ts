// The one place that turns the broker and resultBackend URLs into implementations of the
// transport and result-backend contracts (with backend-schemes.ts, its table of URL schemes).
// Built in: broker-server (ws://, wss://) for both; AMQP (amqp://, amqps://) as a transport, which
// needs a separate result backend; Redis (redis://, rediss://) as a result backend, paired with
// either transport (finishing tasks in ordered steps: link.ts). Beat's store comes with the pair:
// broker-server's when the broker is broker-server, else Redis' (result-backend/redis/beat-store.ts).
import type { BeatBackend } from '../beat/types.js';
import type { SerializerName } from '../../shared/messages/serializers.js';
import { connect } from '../connect.js';
import type { Connection } from '../connection.js';
import type { ConnectOptions } from '../options.js';
import { BrokerServerResults } from '../result-backend/broker-server.js';
import { pairLink } from '../result-backend/link.js';
import { openRedisResults, type RedisResults } from '../result-backend/redis/backend.js';
import type { RedisConnectOptions } from '../result-backend/redis/connect.js';
import type { TaskLink } from '../result-backend/result-backend.js';
import { openAmqpTransport, type AmqpTransportOptions } from '../transport/amqp/transport.js';
import { BrokerServerTransport } from '../transport/broker-server.js';
import type { Transport } from '../transport/transport.js';
import { brokerUrls, checkBrokerScheme, checkResultBackendScheme, checkResultsKept, resultBackendOf, transportOf } from './backend-schemes.js';

/** What opening the app's backends gives. */
export interface OpenedBackends {
  /** The transport and result backend, paired, for the task layer. */
  link: TaskLink;
  /** The broker-server Connection underneath, when the broker is broker-server (its broker-level API). */
  connection: Connection | undefined;
  /**
   * Where beat keeps its entries, lease and fires: broker-server's when the broker is broker-server
   * (with either result backend), else the Redis result backend's (an amqp:// broker keeps none),
   * whose fires publish through this link.
   */
  beatStore: BeatBackend;
}

/** The URLs to open and the connect options of the role opening them. */
export interface BackendTarget {
  broker: string;
  /** The broker's own URL (broker-server keeps the results), or a redis:// / rediss:// URL. */
  resultBackend: string;
  options: ConnectOptions;
  /** The app's result serializer (the Redis backend writes its own meta with it). Default json. */
  resultSerializer?: SerializerName;
  /** How long a call to a Redis result backend waits for Redis, ms (redisSocketTimeout). Default options.requestTimeout, else 30,000. */
  redisTimeout?: number;
}

/**
 * Opens a transport and a result backend for `target`. broker-server serves both over ONE
 * connection with its one-transaction finish; a Redis result backend pairs with either transport,
 * finishing in ordered steps, and publishes chord callbacks through that transport. Rejects as
 * connect() does (ERR_ACCESS_REFUSED, ERR_CONNECTION_CLOSED when a server cannot be reached).
 */
export async function openBackends(target: BackendTarget): Promise<OpenedBackends> {
  checkBrokerScheme(target.broker, 'broker');
  checkResultBackendScheme(target.resultBackend, 'resultBackend');
  checkResultsKept(target.broker, target.resultBackend === target.broker ? null : target.resultBackend, 'resultBackend');
  if (resultBackendOf(target.resultBackend) === 'redis') return openWithRedis(target);
  // Otherwise the settings resolved resultBackend to the broker's URL: broker-server keeps both.
  const conn = await connect(target.broker, target.options);
  const results = new BrokerServerResults(conn);
  const link = pairLink(new BrokerServerTransport(conn), results, { atomic: results, close: () => conn.close() });
  return { link, connection: conn, beatStore: conn };
}

/**
 * The broker's transport and the Redis result backend, opened side by side (one failing closes
 * the other). The backend gets the transport's publish, nothing else, for chord callbacks.
 */
async function openWithRedis(target: BackendTarget): Promise<OpenedBackends> {
  const { options } = target;
  let transport: Transport | undefined;
  const opening = openTransport(target.broker, options).then((t) => (transport = t));
  const [t, r] = await Promise.allSettled([
    opening,
    openRedisResults(target.resultBackend, {
      serializer: target.resultSerializer ?? 'json',
      publish: async (m) => {
        const to = transport ?? await opening;
        await to.publish(m.exchange, m.routingKey, m.body, m.props ?? {});
      },
      ...redisOptions(options, target.redisTimeout),
    }),
  ]);
  if (t.status === 'rejected' || r.status === 'rejected') {
    if (t.status === 'fulfilled') await t.value.close().catch(() => undefined);
    if (r.status === 'fulfilled') await r.value.close().catch(() => undefined);
    throw t.status === 'rejected' ? t.reason : (r as PromiseRejectedResult).reason;
  }
  const results: RedisResults = r.value;
  const tr = t.value;
  const link = pairLink(tr, results, {
    close: async () => {
      await Promise.allSettled([tr.close(), results.close()]);
    },
  });
  const connection = tr instanceof BrokerServerTransport ? tr.connection : undefined;
  // A fire's message goes out as a task sent by the app does: PENDING in Redis, then the message.
  return { link, connection, beatStore: connection ?? results.beatStore((m) => link.publishTracked(m)) };
}

/** The role's connect options that apply to Redis. */
function redisOptions(options: ConnectOptions, timeout: number | undefined): RedisConnectOptions {
  const out: RedisConnectOptions = {};
  if (options.clientName !== undefined) out.clientName = options.clientName;
  if (options.reconnect !== undefined) out.reconnect = options.reconnect;
  if (options.reconnectBackoff !== undefined) out.reconnectBackoff = options.reconnectBackoff;
  const requestTimeout = timeout ?? options.requestTimeout;
  if (requestTimeout !== undefined) out.requestTimeout = requestTimeout;
  return out;
}

/**
 * Opens the transport `url` names, alone: broker-server's over its own Connection, or AMQP
 * (RabbitMQ; `url` may list several nodes separated by `;`, tried in order) with the role's connect options (heartbeat, reconnect and its backoff, client name,
 * request timeout; user, password and vhost given here replace the URL's). Rejects as connect()
 * does: ERR_ACCESS_REFUSED for refused credentials, ERR_CONNECTION_CLOSED when unreachable.
 */
export async function openTransport(url: string, options: ConnectOptions = {}): Promise<Transport> {
  checkBrokerScheme(url, 'broker');
  if (transportOf(url) === 'amqp') return openAmqpTransport(brokerUrls(url).map((u) => amqpUrl(u, options)), amqpOptions(options));
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
