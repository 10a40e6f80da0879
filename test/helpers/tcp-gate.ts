// A TCP forwarder a test can shut: while shut, a client's (re)connection attempts are refused, so
// the test decides when that client gets back to the broker instead of racing its backoff. It can
// also hold new connections (accepted, not forwarded: a peer that never answers) and cut open ones.
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import type { Test } from 'tap';

export interface TcpGate {
  /** The port clients connect to (on 127.0.0.1). */
  readonly port: number;
  /** Forwards new connections (the default), and the held ones now. */
  open(): void;
  /** Refuses new connections (closed at once); open ones are left alone. */
  shut(): void;
  /** Accepts new connections and holds them, silent, until open() (or shut(), which closes them). */
  hold(): void;
  /** Closes every connection, forwarded or held: a dropped link for each client. */
  cut(): void;
  /** Connections held now. */
  held(): number;
  /** Connections forwarded and still open now. */
  forwarded(): number;
}

/**
 * Forwards 127.0.0.1:<gate port> to 127.0.0.1:`targetPort`; stopped at teardown. `observe` is
 * called once per forwarded connection; the function it returns sees every chunk that client sends.
 */
export async function startTcpGate(t: Test, targetPort: number, observe?: () => (chunk: Buffer) => void): Promise<TcpGate> {
  let state: 'open' | 'shut' | 'hold' = 'open';
  const sockets = new Set<Socket>();
  const waiting = new Set<Socket>();
  const pairs = new Set<Socket>();
  const track = (s: Socket): void => { sockets.add(s); s.on('close', () => sockets.delete(s)); };
  const forward = (client: Socket): void => {
    const upstream = tcpConnect({ host: '127.0.0.1', port: targetPort });
    track(upstream);
    pairs.add(client);
    client.on('close', () => pairs.delete(client));
    // Either side ending ends both, as a dropped connection would.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    if (observe !== undefined) client.on('data', observe());
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const server = createServer((client) => {
    track(client);
    if (state === 'shut') { client.destroy(); return; }
    if (state === 'hold') {
      // Not read meanwhile: what the client sends waits in the socket for the forward.
      client.pause();
      waiting.add(client);
      client.on('close', () => waiting.delete(client));
      return;
    }
    forward(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return {
    port: (server.address() as AddressInfo).port,
    open() {
      state = 'open';
      for (const client of [...waiting]) {
        waiting.delete(client);
        forward(client);
      }
    },
    shut() {
      state = 'shut';
      for (const client of waiting) client.destroy();
    },
    hold() { state = 'hold'; },
    cut() {
      for (const client of [...waiting, ...pairs]) client.destroy();
    },
    held: () => waiting.size,
    forwarded: () => pairs.size,
  };
}
