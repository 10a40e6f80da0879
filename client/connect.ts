// connect(): validates the URL and options, makes the first connection (whose failure rejects)
// and hands the Connection a dialer for the reconnects that follow.
import { Connection } from './connection.js';
import { normalizeOptions, type ConnectOptions, type Settings } from './options.js';
import { Transport, type HelloParams } from './transport.js';
import { parseBrokerUrl, type ConnectTarget } from './url.js';

/**
 * Connects to a broker: `ws://[user:password@]host:port[/vhost]`. Rejects when this first
 * connection cannot be made — ERR_INVALID_ARGUMENT for a bad URL or option, the broker's coded
 * error (ERR_ACCESS_REFUSED, ...), ERR_CONNECTION_CLOSED (with the socket error as `cause`) when
 * refused or unreachable, ERR_TIMEOUT when no welcome arrives. Afterwards the connection
 * reconnects on its own unless `reconnect: false`.
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Connection> {
  const settings = normalizeOptions(options);
  const target = parseBrokerUrl(url, options);
  const hello = helloOf(target, settings);
  const dial = (): Promise<Transport> => Transport.open(target.wsUrl, target.displayUrl, hello, settings.requestTimeout);
  const transport = await dial();
  return new Connection(settings, dial, transport);
}

function helloOf(target: ConnectTarget, settings: Settings): HelloParams {
  return { user: target.user, password: target.password, vhost: target.vhost, client: settings.clientName, heartbeat: settings.heartbeat };
}

