// One WebSocket connection's state machine: handshake (timeout, size limit, version, login) ->
// open (frames to the dispatcher) -> closing -> closed. Owns the socket; the engine never sees it.
import type { RawData, WebSocket } from 'ws';
import type { FrameCodec, FrameReader } from '../../shared/codec.js';
import { CeleriacError, fail } from '../../shared/errors.js';
import type { Frame, HelloFrame } from '../../shared/frames.js';
import type { Limits } from '../../shared/limits.js';
import { OP, PROTOCOL_VERSION } from '../../shared/opcodes.js';
import type { Principal, UserRegistry } from '../auth/users.js';
import { DEFAULT_USER } from '../auth/users.js';
import type { EngineApi, EngineConnection } from '../engine/types.js';
import type { HandlerContext } from './context.js';
import { dispatchFrame, type DispatchTarget } from './dispatcher.js';
import { Heartbeat } from './heartbeat.js';
import { Inbox, refusedMessage, type InboxMessage } from './inbox.js';
import { Outbox } from './outbox.js';
import { PendingRequests } from './pending.js';
import { bodyBytesOf, resultReplyBytes } from './reply-size.js';
import { SocketSink } from './sink.js';

type Phase = DispatchTarget['phase'];
type LogFn = (level: 'info' | 'warn' | 'error', msg: string) => void;

/** What the protocol advertises in welcome. */
export const CAPABILITIES: readonly string[] = Object.freeze([
  'batch', 'confirms', 'flow', 'heartbeat', 'delayed', 'priority', 'dead-letter', 'get', 'cancel-notify', 'vhosts', 'beat', 'events', 'publish-wait',
]);

// Time a closing connection gets to finish the WebSocket close handshake before it is cut.
const CLOSE_GRACE_MS = 2_000;

/** Everything a session shares with its broker. */
export interface SessionDeps {
  engine: EngineApi;
  users: UserRegistry;
  limits: Readonly<Limits>;
  codec: FrameCodec;
  vhosts: ReadonlySet<string>;
  /** "celeriac/x.y.z", sent in welcome. */
  server: string;
  connectionId: string;
  peerAddress: string | undefined;
  peerPort: number | undefined;
  /** Ms the peer has left to complete its hello: the handshake timeout less the upgrade's time. */
  handshakeLeft: number;
  /** Bytes the socket may hold unsent before deliveries stop (backpressure). */
  sendBufferHighWater?: number;
  log: LogFn;
  onClosed: (session: Session) => void;
}

/** Sets the largest message ws will buffer for this socket (see endpoint.ts: receiverCap). */
export type SetReceiveCap = (bytes: number) => void;

export class Session implements DispatchTarget, HandlerContext {
  phase: Phase = 'handshake';
  private connection: EngineConnection | null = null;
  private readonly outbox: Outbox;
  private readonly sink: SocketSink;
  private heartbeat: Heartbeat | null = null;
  private handshakeTimer: NodeJS.Timeout | null;
  private closeTimer: NodeJS.Timeout | null = null;
  private publisher = false;
  private readonly inbox: Inbox;
  private readonly pending: PendingRequests;
  /** Aborted when the connection closes, so a login still waiting gives up its place. */
  private readonly gone = new AbortController();

  constructor(private readonly ws: WebSocket, private readonly deps: SessionDeps, private readonly setReceiveCap: SetReceiveCap) {
    ws.binaryType = 'nodebuffer';
    this.outbox = new Outbox(deps.codec, (bytes, sent) => this.sendBytes(bytes, sent), () => this.sink.written());
    this.sink = new SocketSink({
      push: (frame, bytes) => this.push(frame, bytes),
      bufferedBytes: () => this.ws.bufferedAmount + this.outbox.pendingBytes,
      isPublisher: () => this.publisher,
      pauseReading: () => this.ws.pause(),
      resumeReading: () => this.ws.resume(),
      resumeEngine: () => { if (this.phase === 'open' && this.connection !== null) this.deps.engine.resume(this.connection); },
      wake: () => this.inbox.wake(),
    }, deps.sendBufferHighWater);
    this.pending = new PendingRequests(deps.limits, () => this.inbox.wake());
    this.inbox = new Inbox({
      handle: (frame) => {
        dispatchFrame(this, frame);
        this.pending.frameDone();
      },
      unreadable: (err) => this.failed(0, err instanceof CeleriacError ? err : new CeleriacError('ERR_MALFORMED_FRAME', String(err), { cause: err })),
      // Frames wait while the peer leaves replies unread or too many requests wait for their commit.
      ready: (resuming) => !this.sink.backlogged(resuming) && this.pending.underBound(resuming),
      busy: (busy) => this.sink.setInboxBusy(busy),
    });
    this.handshakeTimer = setTimeout(() => {
      this.close(fail('ERR_HANDSHAKE_TIMEOUT', `no hello within ${deps.limits.handshakeTimeout} ms`));
    }, deps.handshakeLeft);
    this.handshakeTimer.unref();
    setReceiveCap(receiveCap(deps.limits.maxPreAuthSize));
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', () => this.onSocketClosed());
    // ws closes the socket itself after these (e.g. a message beyond the receive cap, close code 1009).
    ws.on('error', (err) => this.deps.log('info', `connection ${deps.connectionId}: ${err.message}`));
  }

  get id(): string {
    return this.deps.connectionId;
  }

  // ---- incoming ----

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    this.heartbeat?.heard();
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    this.inbox.add(this.readMessage(bytes, isBinary));
  }

  /**
   * The message's frames, or its refusal: a message refused whole still waits its turn behind the
   * frames of earlier ones, and its error then ends the connection.
   */
  private readMessage(bytes: Uint8Array, isBinary: boolean): InboxMessage {
    const limit = this.phase === 'open' ? this.deps.limits.maxMessageSize : this.deps.limits.maxPreAuthSize;
    if (bytes.byteLength > limit) {
      const which = this.phase === 'open' ? 'maxMessageSize' : 'maxPreAuthSize (before the hello is answered)';
      return refusedMessage(fail('ERR_FRAME_TOO_LARGE', `message of ${bytes.byteLength} bytes exceeds ${which} ${limit}`, { size: bytes.byteLength, limit }));
    }
    if (!isBinary) return refusedMessage(fail('ERR_MALFORMED_FRAME', 'text messages are not part of the protocol; send binary msgpack frames'));
    let message: FrameReader;
    try {
      message = this.deps.codec.reader(bytes);
    } catch (err) {
      return refusedMessage(err);
    }
    // Refused whole, before any of it is handled: the cap is what bounds the work one message brings.
    const cap = this.deps.limits.maxFramesPerMessage;
    if (message.count > cap) {
      return refusedMessage(fail('ERR_TOO_MANY_FRAMES', `a message of ${message.count} frames exceeds maxFramesPerMessage ${cap}`, { frames: message.count, limit: cap }));
    }
    return message;
  }

  // ---- handshake ----

  hello(frame: HelloFrame): void {
    if (frame.version !== PROTOCOL_VERSION) {
      throw fail('ERR_VERSION_UNSUPPORTED', `protocol version ${frame.version} is not supported; this server speaks ${PROTOCOL_VERSION}`, {
        version: frame.version, supported: [PROTOCOL_VERSION],
      });
    }
    this.phase = 'authenticating';
    // A hello without credentials logs in as the default user, like amqp://localhost.
    const user = frame.user ?? DEFAULT_USER.user;
    const password = frame.password ?? (frame.user === undefined ? DEFAULT_USER.password : '');
    const vhost = frame.vhost ?? '/';
    this.deps.users.authenticate(user, password, vhost, this.deps.peerAddress, this.gone.signal).then(
      (principal) => this.open(principal, frame),
      (err: unknown) => this.failed(frame.id, err instanceof CeleriacError ? err : new CeleriacError('ERR_INTERNAL', 'login failed', { cause: err })),
    );
  }

  private open(principal: Principal, hello: HelloFrame): void {
    if (this.phase !== 'authenticating') return; // closed while the password was checked
    try {
      if (!this.deps.vhosts.has(principal.vhost)) throw fail('ERR_ACCESS_REFUSED', `virtual host '${principal.vhost}' does not exist`, { vhost: principal.vhost });
      const address = this.deps.peerAddress ?? 'unknown';
      this.connection = this.deps.engine.openConnection(
        { id: this.deps.connectionId, vhost: principal.vhost, user: principal.user, client: hello.client ?? '', peer: `${address}:${this.deps.peerPort ?? 0}` },
        this.sink,
      );
    } catch (err) {
      return this.failed(hello.id, err instanceof CeleriacError ? err : new CeleriacError('ERR_INTERNAL', 'could not open the connection', { cause: err }));
    }
    this.clearHandshakeTimer();
    this.phase = 'open';
    this.setReceiveCap(receiveCap(this.deps.limits.maxMessageSize));
    const interval = negotiateHeartbeat(this.deps.limits.heartbeat, hello.heartbeat);
    const limits: Record<string, number> = { ...this.deps.limits, heartbeat: interval };
    this.push({
      op: OP.welcome, id: hello.id, version: PROTOCOL_VERSION, server: this.deps.server, connectionId: this.deps.connectionId,
      heartbeat: interval, limits, capabilities: [...CAPABILITIES],
    });
    this.heartbeat = new Heartbeat(interval, {
      sendHeartbeat: () => this.push({ op: OP.heartbeat }),
      peerDead: () => this.close(fail('ERR_HEARTBEAT_TIMEOUT', `nothing heard from the peer for ${2 * interval} ms`)),
      readingPaused: () => this.sink.paused,
    });
    this.heartbeat.start();
  }

  // ---- HandlerContext ----

  get engine(): EngineApi {
    return this.deps.engine;
  }

  get conn(): EngineConnection {
    if (this.connection === null) throw new Error('session used before the handshake completed');
    return this.connection;
  }

  get limits(): Readonly<Limits> {
    return this.deps.limits;
  }

  get context(): HandlerContext {
    return this;
  }

  reply(id: number, result?: unknown): void {
    if (result === undefined) this.push({ op: OP.ok, id });
    else this.push({ op: OP.ok, id, result }, bodyBytesOf(result));
  }

  replyResults(id: number, result: unknown): void {
    // One walk of the records: the check and the byte count the outbox needs.
    const bytes = resultReplyBytes(this.deps.limits, result);
    if (typeof bytes === 'number') this.push({ op: OP.ok, id, result }, bytes);
    else this.requestFailed(id, bytes);
  }

  confirm(id: number): void {
    if (this.phase === 'open') this.outbox.confirm(id);
  }

  requestFailed(id: number, err: CeleriacError): void {
    this.failed(id, err);
  }

  inProgress<A extends unknown[]>(answer: (...args: A) => void): (...args: A) => void {
    return this.pending.inProgress(answer);
  }

  resultWaiting<A extends unknown[]>(answer: (...args: A) => void): (...args: A) => void {
    return this.pending.resultWaiting(answer);
  }

  resultWaitingIfRoom<A extends unknown[]>(answer: (...args: A) => void): ((...args: A) => void) | null {
    return this.phase === 'open' ? this.pending.resultWaitingIfRoom(answer) : null;
  }

  markPublisher(): void {
    if (this.publisher) return;
    this.publisher = true;
    this.sink.pauseIfPublisher();
  }

  closeByPeer(id: number): void {
    this.reply(id);
    this.close(null, 1000, 'closed by the client');
  }

  log(level: 'info' | 'warn' | 'error', msg: string): void {
    this.deps.log(level, `connection ${this.deps.connectionId}: ${msg}`);
  }

  // ---- errors and closing ----

  /** An error frame for request `id`; a connection-scoped error also closes this connection. */
  failed(id: number, err: CeleriacError): void {
    this.pending.frameFailed();
    if (this.phase === 'closing' || this.phase === 'closed') return;
    if (err.scope === 'connection') return this.close(err, err.closeCode, undefined, id);
    this.push(errorFrame(id, err));
  }

  /**
   * Closes this connection: the error frame (if any) and everything queued go out in one last
   * message, the engine requeues what was unacked, then the WebSocket close handshake.
   */
  close(err: CeleriacError | null, code = err?.closeCode ?? 1000, reason?: string, id = 0): void {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    this.phase = 'closing';
    this.inbox.close();
    this.gone.abort();
    this.clearHandshakeTimer();
    this.heartbeat?.stop();
    if (err !== null) {
      this.push(errorFrame(id, err));
      this.deps.log('info', `connection ${this.deps.connectionId} closed: ${err.code}: ${err.message}`);
    }
    this.outbox.flush();
    this.outbox.close();
    this.releaseEngine();
    if (this.ws.isPaused) this.ws.resume(); // the peer's close frame has to be read
    try {
      this.ws.close(code, closeReason(reason ?? (err === null ? '' : `${err.code}: ${err.message}`)));
    } catch {
      this.ws.terminate();
    }
    this.closeTimer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    this.closeTimer.unref();
  }

  /** Resolves once the socket is closed (used by the broker's shutdown). */
  whenClosed(): Promise<void> {
    if (this.phase === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.ws.once('close', () => resolve()));
  }

  /** Cuts the socket without a close handshake (shutdown past its grace period). */
  terminate(): void {
    this.ws.terminate();
  }

  private onSocketClosed(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.inbox.close();
    this.gone.abort();
    this.clearHandshakeTimer();
    this.heartbeat?.stop();
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.outbox.close();
    this.releaseEngine();
    this.deps.onClosed(this);
  }

  private releaseEngine(): void {
    const conn = this.connection;
    if (conn === null) return;
    this.connection = null;
    try {
      this.deps.engine.closeConnection(conn);
    } catch (err) {
      this.deps.log('error', `closing connection ${this.deps.connectionId} in the engine failed: ${(err as Error).stack ?? String(err)}`);
    }
  }

  private push(frame: Frame, bodyBytes = 0): void {
    if (this.phase === 'closed') return;
    this.outbox.push(frame, bodyBytes);
  }

  private sendBytes(bytes: Uint8Array, sent: () => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.heartbeat?.sent();
    this.ws.send(bytes, { binary: true }, () => sent());
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }
}

function errorFrame(id: number, err: CeleriacError): Frame {
  return err.details === undefined
    ? { op: OP.error, id, code: err.code, message: err.message }
    : { op: OP.error, id, code: err.code, message: err.message, details: { ...err.details } };
}

/** The client may ask for a shorter heartbeat, never a longer one or none [like AMQP tune-ok]. */
export function negotiateHeartbeat(server: number, client: number | undefined): number {
  if (server <= 0) return client ?? 0;
  if (client === undefined || client <= 0) return server;
  return Math.min(server, client);
}

/**
 * How much ws may buffer for one message: the limit plus slack, so a message just over the limit
 * still reaches us and gets a coded ERR_FRAME_TOO_LARGE; far beyond, ws cuts it with close 1009.
 */
export function receiveCap(limit: number): number {
  return limit + Math.min(limit, 1024 * 1024);
}

// WebSocket close reasons are limited to 123 bytes of UTF-8.
function closeReason(text: string): string {
  let r = text;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}
