// One AMQP 0-9-1 connection's state machine: protocol header -> start / start-ok (SASL) -> tune /
// tune-ok -> open / open-ok -> open (frames to channels) -> closing -> closed [AMQP 0-9-1 §2.2.4].
// Owns the socket: reads frames, answers the connection class on channel 0, opens and routes to
// channels, keeps heartbeats, and pauses reading when the broker or the peer falls behind.
import type { Socket } from 'node:net';
import { CeleriacError, fail } from '../../shared/errors.js';
import type { Limits } from '../../shared/limits.js';
import type { Identity, UserRegistry } from '../auth/users.js';
import type { DeliverySink, EngineConnection } from '../engine/types.js';
import { Heartbeat } from '../session/heartbeat.js';
import { AmqpChannel } from './channel.js';
import { FRAME, METHOD_BY_NAME, PROTOCOL_HEADER, decodeFrames, readProtocolHeader, type Frame, type Method, type MethodFrame, type MethodOf } from './codec/index.js';
import type { AmqpEngine, ChannelHost } from './context.js';
import {
  MECHANISMS, acceptTune, clientCapabilities, clientName, readCredentials, serverProperties, tuneProposal,
  type ClientCapabilities, type TuneProposal, type Tuned,
} from './handshake.js';
import type { PropertyMapping } from './message-properties.js';
import { FrameOutput } from './output.js';
import { replyFor } from './reply-codes.js';

type Phase = 'header' | 'start' | 'auth' | 'tune' | 'open-wait' | 'open' | 'closing' | 'closed';
type LogFn = (level: 'info' | 'warn' | 'error', msg: string) => void;

/** Above this many unsent bytes the engine stops delivering to the connection (as the WebSocket side). */
export const SEND_HIGH_WATER = 1024 * 1024;
/** Above this many unsent bytes the connection's input is not read: a peer must read its replies. */
const READ_PAUSE_BYTES = 4 * SEND_HIGH_WATER;
/** How long a connection.close waits for close-ok before the socket is cut. */
const CLOSE_GRACE_MS = 2_000;
const NO_CAPABILITIES: ClientCapabilities = Object.freeze({ consumerCancelNotify: false, connectionBlocked: false, authenticationFailureClose: false });

/** What a connection shares with its listener. */
export interface ConnectionDeps {
  engine: AmqpEngine;
  users: Pick<UserRegistry, 'identify'>;
  limits: Readonly<Limits>;
  vhosts: ReadonlySet<string>;
  /** The broker's version, in connection.start's server-properties. */
  version: string;
  properties: PropertyMapping;
  connectionId: string;
  log: LogFn;
  onClosed: (c: AmqpConnection) => void;
}

export class AmqpConnection implements ChannelHost {
  private phase: Phase = 'header';
  readonly out: FrameOutput;
  /** Bytes received and not yet decoded, and how many are needed before decoding is worth a try. */
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private need = 0;
  private readonly proposal: TuneProposal;
  private tuned: Tuned | null = null;
  private identity: Identity | null = null;
  capabilities: ClientCapabilities = NO_CAPABILITIES;
  private client = '';
  private mechanism = '';
  private engineConn: EngineConnection | null = null;
  private readonly channels = new Map<number, AmqpChannel>();
  private readonly confirmChannels = new Set<number>();
  private heartbeat: Heartbeat | null = null;
  private handshakeTimer: NodeJS.Timeout | null;
  private closeTimer: NodeJS.Timeout | null = null;
  /** Publishes the engine has not answered. */
  private inflight = 0;
  private publisher = false;
  private blocked = false;
  private readingPaused = false;
  /** The engine was told "not writable" and waits for resume. */
  private writeHeld = false;
  private readonly gone = new AbortController();
  private readonly closedPromise: Promise<void>;

  constructor(private readonly socket: Socket, private readonly deps: ConnectionDeps) {
    this.proposal = tuneProposal(deps.limits.heartbeat);
    this.out = new FrameOutput(socket, {
      beforeFlush: () => this.sendConfirms(),
      sent: () => this.heartbeat?.sent(),
    });
    socket.setNoDelay(true);
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err) => this.log('info', `socket error: ${err.message}`));
    socket.on('close', () => this.onSocketClosed());
    // A connection must be open within the handshake timeout; RabbitMQ just closes the socket then.
    this.handshakeTimer = setTimeout(() => {
      this.log('info', `closed: not open within ${deps.limits.handshakeTimeout} ms (handshake timeout)`);
      this.socket.destroy();
    }, deps.limits.handshakeTimeout);
    this.handshakeTimer.unref();
  }

  get id(): string {
    return this.deps.connectionId;
  }

  // ---- ChannelHost ----

  get engine(): AmqpEngine {
    return this.deps.engine;
  }

  get connection(): EngineConnection {
    if (this.engineConn === null) throw new Error('AMQP connection used before connection.open');
    return this.engineConn;
  }

  get limits(): Readonly<Limits> {
    return this.deps.limits;
  }

  get properties(): PropertyMapping {
    return this.deps.properties;
  }

  get user(): string {
    return this.identity?.user ?? '';
  }

  publishing(): () => void {
    this.inflight++;
    if (this.inflight >= this.deps.limits.maxRequestsInProgress) this.updateReading();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inflight--;
      if (this.readingPaused) this.updateReading();
    };
  }

  markPublisher(): void {
    if (this.publisher) return;
    this.publisher = true;
    if (this.blocked) this.updateReading();
  }

  confirmsReady(channel: number): void {
    this.confirmChannels.add(channel);
    this.out.schedule();
  }

  channelGone(channel: number): void {
    this.channels.delete(channel);
  }

  writable(): boolean {
    if (this.out.buffered < SEND_HIGH_WATER) return true;
    this.writeHeld = true;
    return false;
  }

  log(level: 'info' | 'warn' | 'error', msg: string): void {
    this.deps.log(level, `amqp connection ${this.deps.connectionId}: ${msg}`);
  }

  // ---- input ----

  private onData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    this.heartbeat?.heard();
    this.chunks.push(chunk);
    this.chunkBytes += chunk.length;
    // A large frame arrives in many chunks: decode once it is whole, not on every chunk.
    if (this.chunkBytes < this.need || this.phase === 'auth') return;
    this.process();
  }

  /** Decodes and handles what was received; what is left (part of a frame) waits for more. */
  private process(): void {
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.chunkBytes);
    this.chunks = [];
    this.chunkBytes = 0;
    this.need = 0;
    let pos = 0;
    if (this.phase === 'header') {
      const h = readProtocolHeader(buf);
      if (h.status === 'more') return this.keep(buf, 0);
      if (h.status === 'refuse') return this.refuseProtocol(h.reason);
      pos = PROTOCOL_HEADER.length;
      this.sendStart();
    }
    while (pos < buf.length && this.phase !== 'closed' && this.phase !== 'auth') {
      if (this.phase === 'open' || this.phase === 'closing') {
        // Open: every frame of the input at once, at the negotiated frame-max.
        const r = decodeFrames(pos === 0 ? buf : buf.subarray(pos), { frameMax: this.tuned?.frameMax ?? FRAME.MIN_SIZE, maxDepth: this.deps.limits.maxDepth });
        pos += r.consumed;
        for (const f of r.frames) this.frame(f);
        if (r.error !== undefined) return this.protocolError(r.error);
        this.need = r.needed;
        break;
      }
      // The handshake: one frame at a time, since a frame may change what the next is read with
      // (tune-ok sets frame-max) or hold the rest back (start-ok waits for the password check).
      const end = buf.length - pos >= 7 ? Math.min(buf.length, pos + buf.readUInt32BE(pos + 3) + 8) : buf.length;
      const r = decodeFrames(buf.subarray(pos, end), { frameMax: FRAME.MIN_SIZE, maxDepth: this.deps.limits.maxDepth });
      if (r.error !== undefined) return this.protocolError(r.error);
      if (r.frames.length === 0) {
        this.need = r.needed;
        break;
      }
      pos += r.consumed;
      this.frame(r.frames[0]!);
    }
    this.keep(buf, pos);
    this.updateReading();
  }

  private keep(buf: Buffer, pos: number): void {
    if (pos >= buf.length || this.phase === 'closed') return;
    const rest = buf.subarray(pos);
    this.chunks.push(rest);
    this.chunkBytes += rest.length;
    this.need += rest.length;
  }

  private frame(f: Frame): void {
    try {
      switch (this.phase) {
        case 'open': return this.openFrame(f);
        case 'closing': return this.closingFrame(f);
        case 'closed': case 'header': case 'auth': return;
        default: return this.handshakeFrame(f);
      }
    } catch (err) {
      const m = f.type === 'method' ? f.method : undefined;
      const ids = idsOf(err, m);
      this.connectionError(err, ids.classId, ids.methodId);
    }
  }

  private openFrame(f: Frame): void {
    if (f.type === 'heartbeat') return;
    if (f.channel === 0) {
      if (f.type !== 'method') throw fail('ERR_AMQP_UNEXPECTED_FRAME', `a content ${f.type} frame on channel 0`);
      return this.connectionMethod(f);
    }
    const ch = this.channels.get(f.channel);
    if (ch !== undefined) return ch.frame(f);
    if (f.type !== 'method' || f.method.name !== 'channel.open') {
      throw fail('ERR_AMQP_CHANNEL', `expected 'channel.open' on channel ${f.channel}, got ${f.type === 'method' ? `'${f.method.name}'` : `a ${f.type} frame`}`);
    }
    if (f.channel > this.tuned!.channelMax) throw fail('ERR_AMQP_NOT_ALLOWED', `channel ${f.channel} is over the negotiated channel_max ${this.tuned!.channelMax}`);
    this.channels.set(f.channel, new AmqpChannel(this, f.channel));
    this.out.method(f.channel, { name: 'channel.open-ok' });
  }

  /** Channel 0 of an open connection: only the client's connection methods. */
  private connectionMethod(f: MethodFrame): void {
    switch (f.method.name) {
      case 'connection.close':
        return this.closedByPeer(f.method);
      case 'connection.update-secret':
        throw fail('ERR_AMQP_NOT_IMPLEMENTED', 'connection.update-secret: this broker has no expiring credentials');
      default:
        throw fail('ERR_AMQP_COMMAND_INVALID', `'${f.method.name}' is not a method a client sends on channel 0 of an open connection`);
    }
  }

  /** After our connection.close only close-ok (or the peer's own close) counts [AMQP 0-9-1 §1.4.2.5]. */
  private closingFrame(f: Frame): void {
    if (f.type !== 'method' || f.channel !== 0) return;
    if (f.method.name === 'connection.close') this.out.method(0, { name: 'connection.close-ok' });
    else if (f.method.name !== 'connection.close-ok') return;
    this.out.close();
    this.socket.end();
  }

  // ---- the handshake ----

  private refuseProtocol(reason: string): void {
    // [AMQP 0-9-1 §4.2.2]: answer with the protocol header this server speaks, then close.
    this.log('info', `refused: ${reason}`);
    this.phase = 'closing';
    this.out.raw(PROTOCOL_HEADER);
    this.out.close();
    this.socket.end();
  }

  private sendStart(): void {
    this.phase = 'start';
    this.out.method(0, {
      name: 'connection.start', versionMajor: 0, versionMinor: 9, serverProperties: serverProperties(this.deps.version),
      mechanisms: Buffer.from(MECHANISMS.join(' ')), locales: Buffer.from('en_US'),
    });
  }

  private handshakeFrame(f: Frame): void {
    if (f.type === 'heartbeat') return;
    if (f.type !== 'method' || f.channel !== 0) throw fail('ERR_AMQP_UNEXPECTED_FRAME', `a ${f.type} frame on channel ${f.channel} before the connection is open`);
    const m = f.method;
    // A client may give up during the handshake: its close is answered as on an open connection.
    if (m.name === 'connection.close') return this.closedByPeer(m);
    switch (this.phase) {
      case 'start':
        if (m.name === 'connection.start-ok') return this.startOk(m);
        break;
      case 'tune':
        if (m.name === 'connection.tune-ok') return this.tuneOk(m);
        break;
      case 'open-wait':
        if (m.name === 'connection.open') return this.open(m);
        break;
      default:
        break;
    }
    const expected = this.phase === 'start' ? 'connection.start-ok' : this.phase === 'tune' ? 'connection.tune-ok' : 'connection.open';
    throw fail('ERR_AMQP_COMMAND_INVALID', `expected '${expected}', got '${m.name}'`);
  }

  private startOk(m: MethodOf<'connection.start-ok'>): void {
    this.capabilities = clientCapabilities(m.clientProperties);
    this.client = clientName(m.clientProperties);
    this.mechanism = m.mechanism;
    let credentials;
    try {
      credentials = readCredentials(m.mechanism, m.response);
    } catch (err) {
      if (err instanceof CeleriacError && err.code === 'ERR_ACCESS_REFUSED') return this.loginRefused(err);
      throw err;
    }
    // The rest of the input waits (reading paused) until the password is checked.
    this.phase = 'auth';
    this.updateReading();
    this.deps.users.identify(credentials.user, credentials.password, this.socket.remoteAddress, { signal: this.gone.signal }).then(
      (identity) => this.authenticated(identity),
      (err: unknown) => this.loginRefused(err),
    );
  }

  private authenticated(identity: Identity): void {
    if (this.phase !== 'auth') return; // closed while the password was checked
    this.identity = identity;
    this.phase = 'tune';
    this.out.method(0, { name: 'connection.tune', ...this.proposal });
    if (this.chunkBytes > 0) this.process();
    else this.updateReading();
  }

  /**
   * A refused login: connection.close 403 for a client that takes it (authentication_failure_close),
   * else just a closed socket, as RabbitMQ does for clients that predate the capability.
   */
  private loginRefused(err: unknown): void {
    if (this.phase !== 'auth' && this.phase !== 'start') return;
    const reason = err instanceof CeleriacError ? err.message : 'login failed';
    if (this.capabilities.authenticationFailureClose) {
      this.phase = 'start'; // connectionError closes from any handshake phase but 'header'
      return this.connectionError(fail('ERR_ACCESS_REFUSED', `Login was refused using authentication mechanism ${this.mechanism}: ${reason}`), 0, 0);
    }
    this.log('info', `login refused: ${reason}`);
    this.phase = 'closing';
    this.out.close();
    this.socket.end();
  }

  private tuneOk(m: MethodOf<'connection.tune-ok'>): void {
    this.tuned = acceptTune(this.proposal, m);
    this.out.frameMax = this.tuned.frameMax;
    this.phase = 'open-wait';
  }

  private open(m: MethodOf<'connection.open'>): void {
    const vhost = m.virtualHost;
    const identity = this.identity!;
    if (!this.deps.vhosts.has(vhost) || (identity.vhosts !== null && !identity.vhosts.has(vhost))) {
      throw fail('ERR_AMQP_NOT_ALLOWED', `access to vhost '${vhost}' refused for user '${identity.user}'`, { vhost });
    }
    const sink: DeliverySink = {
      writable: () => this.writable(),
      // Consumers live on channels (openChannel); the connection's own handle never has one.
      deliver: () => { throw new Error('a delivery to an AMQP connection rather than one of its channels'); },
      consumerCancelled: () => { throw new Error('a consumer of an AMQP connection rather than one of its channels'); },
      flow: (active, reason) => this.flow(active, reason),
      bufferedBytes: () => this.out.buffered,
    };
    this.engineConn = this.deps.engine.openConnection({
      id: this.deps.connectionId, vhost, user: identity.user, client: this.client,
      peer: `${this.socket.remoteAddress ?? 'unknown'}:${this.socket.remotePort ?? 0}`,
    }, sink);
    this.phase = 'open';
    this.clearHandshakeTimer();
    this.out.method(0, { name: 'connection.open-ok' });
    const interval = this.tuned!.heartbeat * 1000;
    this.heartbeat = new Heartbeat(interval, {
      sendHeartbeat: () => this.out.heartbeat(),
      peerDead: () => {
        // RabbitMQ closes the socket of a peer that missed its heartbeats; no close method is sent.
        this.log('info', `closed: nothing heard for ${2 * interval} ms (missed heartbeats)`);
        this.socket.destroy();
      },
      readingPaused: () => this.readingPaused,
    });
    this.heartbeat.start();
  }

  // ---- flow control and backpressure ----

  /** The broker blocked (or unblocked) publishers: tell the client, and stop reading a publisher. */
  private flow(active: boolean, reason: string): void {
    if (this.blocked === !active) return;
    this.blocked = !active;
    if (this.capabilities.connectionBlocked && this.phase === 'open') {
      this.out.method(0, active ? { name: 'connection.unblocked' } : { name: 'connection.blocked', reason: reason.slice(0, 200) });
    }
    this.updateReading();
  }

  private onDrain(): void {
    if (this.writeHeld && this.out.buffered < SEND_HIGH_WATER / 2) {
      this.writeHeld = false;
      for (const ch of this.channels.values()) if (!ch.closed) this.deps.engine.resume(ch.session);
    }
    this.updateReading();
  }

  /**
   * Reads the socket or not: paused while a password is checked, while a publisher is blocked by
   * flow control, while too many publishes wait for the engine (until half are answered), and
   * while the peer leaves too many of our bytes unread.
   */
  private updateReading(): void {
    if (this.phase === 'closed') return;
    const maxInflight = this.deps.limits.maxRequestsInProgress;
    const pause = this.phase === 'auth'
      || (this.phase === 'open' && this.blocked && this.publisher)
      || this.inflight >= (this.readingPaused ? maxInflight / 2 : maxInflight)
      || this.out.buffered >= (this.readingPaused ? SEND_HIGH_WATER / 2 : READ_PAUSE_BYTES);
    if (pause === this.readingPaused) return;
    this.readingPaused = pause;
    if (pause) this.socket.pause();
    else {
      this.socket.resume();
      if (this.chunkBytes > 0 && this.chunkBytes >= this.need) queueMicrotask(() => { if (this.chunkBytes > 0 && !this.readingPaused) this.process(); });
    }
  }

  private sendConfirms(): void {
    if (this.confirmChannels.size === 0) return;
    for (const n of this.confirmChannels) this.channels.get(n)?.sendConfirms();
    this.confirmChannels.clear();
  }

  // ---- closing ----

  /**
   * A hard error: connection.close with its reply code and the method that caused it, then wait
   * (bounded) for close-ok. Everything the connection held in the engine is given back at once.
   */
  connectionError(err: unknown, classId: number, methodId: number): void {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    if (!(err instanceof CeleriacError)) this.log('error', `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    const reply = replyFor(err);
    this.log('info', `closed by the broker: ${reply.text}`);
    if (this.phase === 'header') {
      this.socket.destroy();
      return;
    }
    this.phase = 'closing';
    this.release();
    this.out.method(0, { name: 'connection.close', replyCode: reply.code, replyText: reply.text, classId, methodId });
    this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    this.closeTimer.unref();
    // The close-ok has to be read, whatever paused reading.
    this.readingPaused = false;
    this.socket.resume();
  }

  private closedByPeer(m: MethodOf<'connection.close'>): void {
    if (m.replyCode !== 200) this.log('info', `closed by the client: ${m.replyCode} ${m.replyText}`);
    this.phase = 'closing';
    this.release();
    this.out.method(0, { name: 'connection.close-ok' });
    this.out.close();
    this.socket.end();
  }

  /** The error of an undecodable frame: its reply code, naming the method when the decoder read its id. */
  private protocolError(err: CeleriacError): void {
    if (this.phase === 'closing') {
      this.socket.destroy();
      return;
    }
    this.connectionError(err, Number(err.details?.classId ?? 0), Number(err.details?.methodId ?? 0));
  }

  /** Closes the connection for the broker's shutdown: 320 connection-forced. */
  shutdown(): void {
    if (this.phase === 'header' || this.phase === 'auth') {
      this.socket.destroy();
      return;
    }
    this.connectionError(fail('ERR_SERVER_SHUTDOWN', 'broker shutting down'), 0, 0);
  }

  /** Cuts the socket without a close handshake (shutdown past its grace period). */
  destroy(): void {
    this.socket.destroy();
  }

  /** Resolves once the socket is closed. */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  /** Gives back what the connection holds in the engine: deliveries requeued, exclusive queues deleted. */
  private release(): void {
    this.heartbeat?.stop();
    this.clearHandshakeTimer();
    for (const ch of this.channels.values()) ch.connectionClosed();
    this.channels.clear();
    const conn = this.engineConn;
    if (conn === null) return;
    this.engineConn = null;
    try {
      this.deps.engine.closeConnection(conn);
    } catch (err) {
      this.log('error', `closing in the engine failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }

  private onSocketClosed(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.gone.abort();
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.release();
    this.out.close();
    this.chunks = [];
    this.deps.onClosed(this);
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }
}

/** The class and method ids a connection.close names: the error's own, else the method's being handled. */
function idsOf(err: unknown, m: Method | undefined): { classId: number; methodId: number } {
  const d = err instanceof CeleriacError ? err.details : undefined;
  if (typeof d?.classId === 'number' && typeof d.methodId === 'number') return { classId: d.classId, methodId: d.methodId };
  if (m === undefined) return { classId: 0, methodId: 0 };
  const spec = METHOD_BY_NAME[m.name];
  return { classId: spec.classId, methodId: spec.methodId };
}
