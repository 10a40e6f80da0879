// The AMQP 0-9-1 listener of one broker: a TCP server (or a TLS one, for amqps://) that starts an
// AmqpConnection per socket onto the broker's engine, users and limits, and closes them all
// (320 connection-forced) on shutdown.
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Limits } from '../../shared/limits.js';
import type { UserRegistry } from '../auth/users.js';
import { AmqpConnection } from './connection.js';
import type { AmqpEngine } from './context.js';
import { PropertyMapping } from './message-properties.js';

/** What the listener shares with every connection. */
export interface AmqpListenerDeps {
  engine: AmqpEngine;
  users: Pick<UserRegistry, 'identify'>;
  limits: Readonly<Limits>;
  vhosts: ReadonlySet<string>;
  /** The broker's version (connection.start's server-properties). */
  version: string;
  /** Refuses a new socket over the broker's connection caps (returns the reason), or admits it. */
  admit?: (socket: Socket) => string | undefined;
  /** Serve AMQP over TLS (amqps://) with this certificate chain and private key (PEM). */
  tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

// Shutdown gives connections this long to answer connection.close, then cuts them.
const SHUTDOWN_GRACE_MS = 1_000;

export class AmqpListener {
  private readonly server: Server;
  private readonly connections = new Set<AmqpConnection>();
  private readonly properties = new PropertyMapping();
  /** Distinguishes connection ids of brokers in one process (and from WebSocket ones). */
  private readonly prefix: string = `amqp.${randomBytes(3).toString('hex')}`;
  private seq = 0;
  private accepting = true;

  constructor(private readonly deps: AmqpListenerDeps) {
    if (deps.tls === undefined) {
      this.server = createServer((socket) => this.accept(socket));
      return;
    }
    this.prefix = `amqps.${randomBytes(3).toString('hex')}`;
    // The TLS handshake counts against the handshake timeout too; the AMQP one starts after it.
    const server = createTlsServer({ cert: deps.tls.cert, key: deps.tls.key, handshakeTimeout: deps.limits.handshakeTimeout }, (socket) => this.accept(socket));
    server.on('tlsClientError', (err, socket) => {
      deps.log('info', `amqps connection from ${socket.remoteAddress ?? 'unknown'} failed its TLS handshake: ${err.message}`);
    });
    this.server = server;
  }

  /** Open AMQP connections, in the handshake or open. */
  get size(): number {
    return this.connections.size;
  }

  /** Listens; resolves with the port bound (port 0 picks a free one). */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.deps.log('error', `amqp listener: ${err.message}`));
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  private accept(socket: Socket): void {
    socket.on('error', () => undefined); // the connection logs its own; a refused socket has nothing to say
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    const refusal = this.deps.admit?.(socket);
    if (refusal !== undefined) {
      // Before the protocol header nothing can carry a reason: RabbitMQ too just closes the socket.
      this.deps.log('info', `amqp connection from ${socket.remoteAddress ?? 'unknown'} refused: ${refusal}`);
      socket.destroy();
      return;
    }
    const connection = new AmqpConnection(socket, {
      engine: this.deps.engine,
      users: this.deps.users,
      limits: this.deps.limits,
      vhosts: this.deps.vhosts,
      version: this.deps.version,
      properties: this.properties,
      connectionId: `${this.prefix}.${++this.seq}`,
      log: this.deps.log,
      onClosed: (c) => this.connections.delete(c),
    });
    this.connections.add(connection);
  }

  /** Stops accepting, closes every connection with 320 connection-forced, waits (bounded) for them. */
  async close(): Promise<void> {
    this.accepting = false;
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const all = [...this.connections];
    for (const c of all) c.shutdown();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => { timer = setTimeout(resolve, SHUTDOWN_GRACE_MS); });
    await Promise.race([Promise.all(all.map((c) => c.whenClosed())), grace]);
    clearTimeout(timer);
    for (const c of this.connections) c.destroy();
    await Promise.all([...this.connections].map((c) => c.whenClosed()));
    await serverClosed;
  }
}
