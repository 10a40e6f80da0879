// Every TCP connection of the broker's port, before HTTP or WebSocket code sees it: refused over
// the caps (in total, per peer address), and closed when its handshake misses the deadline. The
// AMQP listener's sockets count against the same caps (admitOther).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { fail, type CeleriacError } from '../../shared/errors.js';
import { peerKey } from '../auth/peer-key.js';
import { errorBody } from '../http/http-deps.js';

/** What the guard enforces; a cap of 0 means none. */
export interface GuardSettings {
  /** From TCP accept to request headers (HTTP) or to the welcome (WebSocket), in ms. */
  handshakeTimeout: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

/** Counts for /metrics. */
export interface GuardCounts {
  /** Connections refused over a cap since start. */
  refused: number;
  /** Connections closed for missing the handshake deadline (before a WebSocket session took over). */
  handshakeTimeouts: number;
}

// A flood must not become a flood of log lines: one line, then at most one summary per interval.
const LOG_INTERVAL_MS = 10_000;

/** Logs the first event of a kind as is, then counts, and logs the count at most once per interval. */
class SummarizedLog {
  private lastAt = -Infinity;
  private unlogged = 0;

  constructor(private readonly log: GuardSettings['log'], private readonly what: string) {}

  note(line: string): void {
    const now = Date.now();
    if (now - this.lastAt < LOG_INTERVAL_MS) {
      this.unlogged++;
      return;
    }
    this.lastAt = now;
    const more = this.unlogged;
    this.unlogged = 0;
    this.log('info', more === 0 ? line : `${line} (and ${more} more ${this.what} since the last such line)`);
  }
}

// A refused socket is kept this long so the peer can read the 503 (its request bytes are read and
// dropped meanwhile: closing with unread input would send a reset that can destroy the answer).
const REFUSAL_LINGER_MS = 1_000;
/** Refused sockets lingering at once; beyond, they are cut without an answer (open-files.ts reserves room). */
export const MAX_LINGERING_REFUSALS = 32;

interface Tracked {
  readonly address: string;
  readonly deadline: number;
  timer: NodeJS.Timeout | null;
  /** HTTP requests whose response has not finished. */
  inFlight: number;
  /** Upgraded: the WebSocket session owns the rest of the handshake. */
  handedOver: boolean;
}

/**
 * One per broker. Counts admitted sockets per peer key until they close, arms a handshake timer at
 * accept (re-armed after each HTTP response on a keep-alive socket), and hands an upgraded socket's
 * remaining time to its WebSocket session.
 */
export class ConnectionGuard {
  private readonly sockets = new Map<Socket, Tracked>();
  private readonly perAddress = new Map<string, number>();
  private lingering = 0;
  readonly counts: GuardCounts = { refused: 0, handshakeTimeouts: 0 };
  private readonly refusalLog: SummarizedLog;
  private readonly timeoutLog: SummarizedLog;

  constructor(private readonly settings: Readonly<GuardSettings>) {
    this.refusalLog = new SummarizedLog(settings.log, 'connections refused over a cap');
    this.timeoutLog = new SummarizedLog(settings.log, 'connections closed at the handshake timeout');
  }

  /**
   * Puts the guard in front of `server`: its own 'connection' listeners (node's HTTP parser) run
   * only for admitted sockets, so a refused one costs no parser and never reaches fastify.
   * Call before listen().
   */
  attach(server: Server): void {
    const inner = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      if (!this.admit(socket)) return;
      for (const listener of inner) listener.call(server, socket);
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req.socket, res));
  }

  /**
   * An upgrade request's headers are in: the WebSocket session takes over the handshake. Returns
   * the ms left of the socket's deadline (the session's hello timer), counted from TCP accept.
   */
  handOver(socket: Socket): number {
    const t = this.sockets.get(socket);
    if (t === undefined) return this.settings.handshakeTimeout;
    this.stopTimer(t);
    t.handedOver = true;
    return Math.max(0, t.deadline - Date.now());
  }

  private admit(socket: Socket): boolean {
    const refusal = this.overCap(socket);
    if (refusal !== undefined) {
      this.refuse(socket, refusal);
      return false;
    }
    const t = this.track(socket, false);
    this.arm(socket, t);
    return true;
  }

  /**
   * Counts a socket of the broker's AMQP listener against the same caps, until it closes; returns
   * the refusal when over one (the listener closes the socket: AMQP has no way to say why before
   * the handshake). Its handshake deadline is the AMQP connection's own.
   */
  admitOther(socket: Socket): CeleriacError | undefined {
    const refusal = this.overCap(socket);
    if (refusal !== undefined) {
      this.counts.refused++;
      return refusal;
    }
    this.track(socket, true);
    return undefined;
  }

  /** The refusal of a new socket over a cap, or undefined. IPv6 peers are counted per /64: one host may hold all of it. */
  private overCap(socket: Socket): CeleriacError | undefined {
    const address = peerKey(socket.remoteAddress);
    const { maxConnections, maxConnectionsPerAddress } = this.settings;
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (maxConnections > 0 && this.sockets.size >= maxConnections) {
      return fail('ERR_TOO_MANY_CONNECTIONS', `the broker holds ${this.sockets.size} connections, its limit (maxConnections ${maxConnections}); retry later`, { limit: maxConnections });
    }
    if (maxConnectionsPerAddress > 0 && fromAddress >= maxConnectionsPerAddress) {
      return fail('ERR_TOO_MANY_CONNECTIONS', `${address} holds ${fromAddress} connections, the limit per address (maxConnectionsPerAddress ${maxConnectionsPerAddress}); close some or retry later`, { address, limit: maxConnectionsPerAddress });
    }
    return undefined;
  }

  private track(socket: Socket, handedOver: boolean): Tracked {
    const address = peerKey(socket.remoteAddress);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    const t: Tracked = { address, deadline: Date.now() + this.settings.handshakeTimeout, timer: null, inFlight: 0, handedOver };
    this.sockets.set(socket, t);
    socket.once('close', () => this.forget(socket));
    return t;
  }

  /** Request headers are complete: no deadline until its response is finished (keep-alive re-arms). */
  private onRequest(socket: Socket, res: ServerResponse): void {
    const t = this.sockets.get(socket);
    if (t === undefined) return;
    this.stopTimer(t);
    t.inFlight++;
    res.once('close', () => {
      t.inFlight--;
      // An idle keep-alive socket must send its next request headers within the timeout too.
      if (t.inFlight === 0 && !t.handedOver && !socket.destroyed && this.sockets.has(socket)) this.arm(socket, t);
    });
  }

  /** (Re)starts the socket's handshake timer: a full timeout from now. */
  private arm(socket: Socket, t: Tracked): void {
    this.stopTimer(t);
    t.timer = setTimeout(() => {
      t.timer = null;
      this.counts.handshakeTimeouts++;
      this.timeoutLog.note(`connection from ${t.address} closed: no request headers within ${this.settings.handshakeTimeout} ms (handshake timeout)`);
      socket.destroy();
    }, this.settings.handshakeTimeout);
    t.timer.unref();
  }

  private stopTimer(t: Tracked): void {
    if (t.timer !== null) clearTimeout(t.timer);
    t.timer = null;
  }

  private forget(socket: Socket): void {
    const t = this.sockets.get(socket);
    if (t === undefined) return;
    this.stopTimer(t);
    this.sockets.delete(socket);
    const n = (this.perAddress.get(t.address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(t.address);
    else this.perAddress.set(t.address, n);
  }

  /** Answers 503 with the coded reason, before any request (clients read it as the upgrade's answer). */
  private refuse(socket: Socket, err: CeleriacError): void {
    this.counts.refused++;
    socket.on('error', () => undefined);
    // Refused sockets hold descriptors too: past a few lingering, a flood is cut without an answer.
    if (this.lingering >= MAX_LINGERING_REFUSALS) {
      socket.destroy();
      return;
    }
    this.refusalLog.note(`connection from ${socket.remoteAddress ?? 'unknown'} refused: ${err.message}`);
    const body = JSON.stringify(errorBody(err));
    socket.end(
      'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Celeriac-Error: ${err.code}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n${body}`,
    );
    socket.resume();
    this.lingering++;
    const timer = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.lingering--;
    });
  }
}
