// The WebSocket endpoint of one broker: takes upgrades from the broker's HTTP server (ws and http
// share one port), starts a Session per socket, and closes them all on shutdown.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { FrameCodec } from '../../shared/codec.js';
import { fail } from '../../shared/errors.js';
import type { Limits } from '../../shared/limits.js';
import type { UserRegistry } from '../auth/users.js';
import type { EngineApi } from '../engine/types.js';
import { receiveCap, Session } from './session.js';

/** What the endpoint shares with every session it starts. */
export interface EndpointDeps {
  engine: EngineApi;
  users: UserRegistry;
  limits: Readonly<Limits>;
  vhosts: ReadonlySet<string>;
  server: string;
  sendBufferHighWater?: number;
  /** Ms left of an upgraded socket's handshake deadline, counted from its TCP accept (ConnectionGuard.handOver). */
  handshakeLeft: (socket: Duplex) => number;
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

// Shutdown gives connections this long to finish the close handshake, then cuts them.
const SHUTDOWN_GRACE_MS = 1_000;

interface ReceiverInternals { _receiver?: { _maxPayload?: number } }

export class WsEndpoint {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<Session>();
  private readonly codec: FrameCodec;
  /** Distinguishes connection ids of brokers in one process. */
  private readonly prefix = randomBytes(3).toString('hex');
  private seq = 0;
  private accepting = true;

  constructor(private readonly deps: EndpointDeps) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: receiveCap(deps.limits.maxMessageSize), perMessageDeflate: false, clientTracking: false });
    // Bodies may be as large as a whole message; the publish handler then answers ERR_MESSAGE_TOO_LARGE
    // for one over maxBodySize, which a decoder limit would turn into a connection error.
    // Publishes' props are kept as their bytes too: stored and delivered as the publisher encoded them.
    this.codec = new FrameCodec({ ...deps.limits, maxBodySize: Math.max(deps.limits.maxBodySize, deps.limits.maxMessageSize) }, { keepPropsBytes: true });
  }

  /** Open WebSocket connections, authenticated or not. */
  get size(): number {
    return this.sessions.size;
  }

  /** Routes the HTTP server's upgrade requests to this endpoint. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!this.accepting) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      // The hello must arrive within what is left of the deadline that began at the TCP accept,
      // so trickling the upgrade request does not buy a second full timeout.
      const handshakeLeft = this.deps.handshakeLeft(socket);
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, handshakeLeft));
    });
  }

  private accept(ws: WebSocket, req: IncomingMessage, handshakeLeft: number): void {
    if (!this.accepting) {
      ws.close(1001, 'ERR_SERVER_SHUTDOWN');
      return;
    }
    const session = new Session(ws, {
      ...this.deps,
      codec: this.codec,
      connectionId: `${this.prefix}.${++this.seq}`,
      peerAddress: req.socket.remoteAddress,
      peerPort: req.socket.remotePort,
      handshakeLeft,
      onClosed: (s) => this.sessions.delete(s),
    }, (bytes) => {
      // ws keeps one maxPayload per server; its receiver's copy is lowered per socket so an
      // unauthenticated peer cannot make us buffer a full-size message. Best effort: private field.
      const receiver = (ws as unknown as ReceiverInternals)._receiver;
      if (receiver !== undefined && typeof receiver._maxPayload === 'number') receiver._maxPayload = bytes;
    });
    this.sessions.add(session);
  }

  /** Stops accepting, closes every connection with ERR_SERVER_SHUTDOWN, waits (bounded) for them. */
  async close(): Promise<void> {
    this.accepting = false;
    const all = [...this.sessions];
    for (const s of all) s.close(fail('ERR_SERVER_SHUTDOWN', 'the broker is shutting down'));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => { timer = setTimeout(resolve, SHUTDOWN_GRACE_MS); });
    await Promise.race([Promise.all(all.map((s) => s.whenClosed())), grace]);
    clearTimeout(timer);
    for (const s of this.sessions) s.terminate();
    await Promise.all([...this.sessions].map((s) => s.whenClosed()));
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
