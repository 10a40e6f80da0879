// The one place that turns the broker and resultBackend URLs into implementations of the
// transport and result-backend contracts (with backend-schemes.ts, its table of URL schemes).
// Only broker-server (ws://, wss://) is built in so far.
import type { BeatBackend } from '../beat/types.js';
import { connect } from '../connect.js';
import type { Connection } from '../connection.js';
import type { ConnectOptions } from '../options.js';
import { BrokerServerResults } from '../result-backend/broker-server.js';
import { pairLink } from '../result-backend/link.js';
import type { TaskLink } from '../result-backend/result-backend.js';
import { BrokerServerTransport } from '../transport/broker-server.js';
import { checkBrokerScheme, checkResultBackendScheme } from './backend-schemes.js';

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
  // Settings resolve resultBackend to the broker's URL: the only pair built in is broker-server's.
  const conn = await connect(target.broker, target.options);
  const results = new BrokerServerResults(conn);
  const link = pairLink(new BrokerServerTransport(conn), results, { atomic: results, close: () => conn.close() });
  return { link, connection: conn, beatStore: conn };
}
