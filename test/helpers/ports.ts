// Free TCP ports for services the tests start as separate programs (RabbitMQ, Redis, epmd), which,
// unlike our own broker, cannot be given port 0 and asked afterwards which port they took.
import { connect, createServer } from 'node:net';

/**
 * A TCP port that was free on 127.0.0.1 a moment ago: the kernel picks it (listen on port 0), the
 * listener is closed and the number handed on. Another process could take it in between; the
 * ports come from the kernel's ephemeral range, so that is rare, and a start-up then fails loudly.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('listen on port 0 gave no TCP address'));
        return;
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}

/** `n` distinct free ports (each from `freePort`, duplicates drawn again). */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/**
 * Resolves once something accepts TCP connections on 127.0.0.1:`port` (tried every 100 ms); rejects
 * after `ms`, or as soon as `alive()` says the program that should listen there has exited.
 */
export async function untilListening(port: number, ms: number, what: string, alive: () => boolean = () => true): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await accepts(port)) return;
    if (!alive()) throw new Error(`${what} exited before it listened on port ${port}`);
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} to listen on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One try: does something accept a TCP connection on 127.0.0.1:`port` (within 1 s)? */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok); };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
