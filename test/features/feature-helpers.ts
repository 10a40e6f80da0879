// Shared bits of the end-to-end feature tests: a broker on port 0 per test, client connections
// closed at teardown, and bounded waits.
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type Broker, type BrokerOptions } from '../../server/index.js';
import { startTestBroker } from '../helpers/broker.js';
import { api } from '../helpers/http.js';
export { sleep, until, untilAsync } from '../helpers/wait.js';
import { connect, type Connection, type Message } from '../../client/index.js';

let counter = 0;
/** A queue or exchange name no other test uses. */
export const unique = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;

export async function brokerAndClient(t: Test, options: BrokerOptions = {}): Promise<{ broker: Broker; url: string; conn: Connection; open: () => Promise<Connection> }> {
  const broker = await startTestBroker(t, options);
  const conns: Connection[] = [];
  // Clients close at teardown too; one closing after its broker is harmless (allSettled).
  t.teardown(async () => {
    await Promise.allSettled(conns.map((c) => c.close()));
  });
  const open = async (): Promise<Connection> => {
    const c = await connect(broker.url, { reconnect: false });
    c.on('error', () => undefined);
    conns.push(c);
    return c;
  };
  return { broker, url: broker.url, conn: await open(), open };
}

/** Consumes a queue into an array (manual acks unless `ack` is false). */
export async function collect(conn: Connection, queue: string, opts: { prefetch?: number; ack?: boolean } = {}): Promise<{ msgs: Message[]; tag: string }> {
  const msgs: Message[] = [];
  const { consumerTag } = await conn.consume(queue, (m) => {
    msgs.push(m);
    if (opts.ack !== false) m.ack();
  }, { prefetch: opts.prefetch ?? 0 });
  return { msgs, tag: consumerTag };
}

export const bodies = (msgs: Message[]): string[] => msgs.map((m) => m.body.toString());

/**
 * The queue names the management API lists: a look that, unlike a passive declare, does not count
 * as a use of the queue (so it does not keep an `expires` queue alive).
 */
export async function listedQueues(broker: Broker): Promise<string[]> {
  return (await api<{ name: string }[]>(broker, '/api/queues')).body.map((q) => q.name);
}

/** Brokers started one after another on one data file (restart tests). */
export interface BrokersOnOneFile {
  readonly file: string;
  /** Starts a broker on the file. */
  start(): Promise<Broker>;
  /** A client of `broker` (no reconnect), closed at teardown. */
  open(broker: Broker): Promise<Connection>;
  /** start() then open(). */
  startAndOpen(): Promise<Connection>;
  /** Closes the clients so far and the last broker started (a clean stop before a restart). */
  stopLast(): Promise<void>;
}

/** Brokers on one temp file, with their clients; all closed and the file removed at teardown. */
export function brokersOnOneFile(t: Test, options: BrokerOptions = {}): BrokersOnOneFile {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-restart-'));
  const file = join(dir, 'broker.db');
  const brokers: Broker[] = [];
  const conns: Connection[] = [];
  t.teardown(async () => {
    await Promise.allSettled(conns.map((c) => c.close()));
    await Promise.allSettled(brokers.map((b) => b.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (): Promise<Broker> => {
    const broker = await startBroker({ ...options, port: 0, host: '127.0.0.1', dataFile: file });
    brokers.push(broker);
    return broker;
  };
  const open = async (broker: Broker): Promise<Connection> => {
    const conn = await connect(broker.url, { reconnect: false });
    conn.on('error', () => undefined);
    conns.push(conn);
    return conn;
  };
  return {
    file, start, open,
    startAndOpen: async () => open(await start()),
    stopLast: async () => {
      await Promise.allSettled(conns.map((c) => c.close()));
      await brokers[brokers.length - 1]?.close();
    },
  };
}
