// Shared bits of the end-to-end feature tests: a broker on port 0 per test, client connections
// closed at teardown, and bounded waits.
import type { Test } from 'tap';
import { startBroker } from '../../server/index.js';
import { connect, type Connection, type Message } from '../../client/index.js';

let counter = 0;
/** A queue or exchange name no other test uses. */
export const unique = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;

export async function brokerAndClient(t: Test, options: Parameters<typeof startBroker>[0] = {}): Promise<{ url: string; conn: Connection; open: () => Promise<Connection> }> {
  const broker = await startBroker({ port: 0, host: '127.0.0.1', dataFile: ':memory:', ...options });
  const conns: Connection[] = [];
  t.teardown(async () => {
    await Promise.allSettled(conns.map((c) => c.close()));
    await broker.close();
  });
  const open = async (): Promise<Connection> => {
    const c = await connect(broker.url, { reconnect: false });
    c.on('error', () => undefined);
    conns.push(c);
    return c;
  };
  return { url: broker.url, conn: await open(), open };
}

export async function until(cond: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
