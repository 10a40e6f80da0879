// A TCP forwarder a test can shut: while shut, a client's (re)connection attempts are refused, so
// the test decides when that client gets back to the broker instead of racing its backoff.
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import type { Test } from 'tap';

export interface TcpGate {
  /** The port clients connect to (on 127.0.0.1). */
  readonly port: number;
  /** Forwards new connections (the default). */
  open(): void;
  /** Refuses new connections (closed at once); open ones are left alone. */
  shut(): void;
}

/** Forwards 127.0.0.1:<gate port> to 127.0.0.1:`targetPort`; stopped at teardown. */
export async function startTcpGate(t: Test, targetPort: number): Promise<TcpGate> {
  let isOpen = true;
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => { sockets.add(s); s.on('close', () => sockets.delete(s)); };
  const server = createServer((client) => {
    track(client);
    if (!isOpen) { client.destroy(); return; }
    const upstream = tcpConnect({ host: '127.0.0.1', port: targetPort });
    track(upstream);
    // Either side ending ends both, as a dropped connection would.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return {
    port: (server.address() as AddressInfo).port,
    open() { isOpen = true; },
    shut() { isOpen = false; },
  };
}
