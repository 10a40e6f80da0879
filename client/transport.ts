// One WebSocket to the broker: open, hello/welcome handshake, heartbeats both ways, frames in
// and out through the codec. It knows nothing of requests, consumers or reconnects.
import WebSocket from 'ws';
import { FrameCodec } from '../shared/codec.js';
import { CeleriacError, errorFromWire, isErrorCode } from '../shared/errors.js';
import type { ErrorFrame, Frame, WelcomeFrame } from '../shared/frames.js';
import { CLIENT_MAX_RECEIVE } from '../shared/limits.js';
import { OP, PROTOCOL_VERSION } from '../shared/opcodes.js';

/** What the hello says about us. */
export interface HelloParams {
  user?: string | undefined;
  password?: string | undefined;
  vhost?: string | undefined;
  client?: string | undefined;
  /** Heartbeat interval we propose, ms; the welcome carries the one in force. */
  heartbeat?: number | undefined;
}

/** Where the frames and the end of an open transport go. */
export interface TransportHandlers {
  frames(frames: Frame[]): void;
  /** Called once, with why the socket ended. */
  closed(err: CeleriacError): void;
}

const HELLO_ID = 0;

/** The error for a refused upgrade: the broker's coded reason from its JSON body, else one from the status. */
function upgradeRefused(displayUrl: string, status: number, body: string): CeleriacError {
  try {
    const reason = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
    if (reason !== undefined && isErrorCode(reason.code) && typeof reason.message === 'string') {
      return new CeleriacError(reason.code, `${displayUrl} refused the connection (HTTP ${status}): ${reason.message}`, { details: { status } });
    }
  } catch {
    // not a broker's answer (a proxy's page, say): the status is all we know
  }
  const code = status === 401 || status === 403 ? 'ERR_ACCESS_REFUSED' : 'ERR_CONNECTION_CLOSED';
  return new CeleriacError(code, `${displayUrl} refused the WebSocket upgrade (HTTP ${status})`, { details: { status } });
}

/** An open, welcomed socket. Built by `Transport.open`. */
export class Transport {
  private handlers: TransportHandlers | undefined;
  private early: Frame[][] = [];
  private endError: CeleriacError | undefined;
  private ended = false;
  /** A connection-scope error the broker sent just before closing: the reason for the close. */
  private brokerError: CeleriacError | undefined;
  private lastIn = Date.now();
  private lastOut = Date.now();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private codec: FrameCodec;
  /** Most frames one message may carry: the broker's announced maxFramesPerMessage (none from an older broker). */
  private readonly maxFrames: number;
  /** Largest message the broker reads: its announced maxMessageSize. */
  private readonly maxBytes: number;
  /** Largest body the broker takes: its announced maxBodySize. */
  private readonly maxBodyBytes: number;

  private constructor(private readonly ws: WebSocket, readonly welcome: WelcomeFrame, codec: FrameCodec) {
    this.codec = codec;
    this.maxFrames = announced(welcome, 'maxFramesPerMessage');
    this.maxBytes = announced(welcome, 'maxMessageSize');
    this.maxBodyBytes = announced(welcome, 'maxBodySize');
  }

  /**
   * Opens a socket to `url`, sends the hello and waits for the welcome (all within `timeoutMs`).
   * Rejects with the broker's coded error (ERR_ACCESS_REFUSED, ...) or ERR_CONNECTION_CLOSED with
   * the socket error as `cause` (refused, unreachable, closed during the handshake).
   */
  static open(url: string, displayUrl: string, hello: HelloParams, timeoutMs: number): Promise<Transport> {
    return new Promise<Transport>((resolve, reject) => {
      let codec = new FrameCodec();
      let transport: Transport | undefined;
      let settled = false;
      let socketError: Error | undefined;
      const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, maxPayload: CLIENT_MAX_RECEIVE });
      const fail = (err: CeleriacError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.removeAllListeners('message');
        ws.on('error', () => {});
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
        reject(err);
      };
      const timer = setTimeout(() => {
        fail(new CeleriacError('ERR_TIMEOUT', `no welcome from ${displayUrl} within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.on('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        // The broker says why in a small JSON body (e.g. ERR_TOO_MANY_CONNECTIONS); the timer bounds the read.
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.length >= 4096) fail(upgradeRefused(displayUrl, status, '')); // not a broker's small answer
        });
        res.on('end', () => fail(upgradeRefused(displayUrl, status, body)));
        res.on('error', () => fail(upgradeRefused(displayUrl, status, '')));
      });
      ws.on('error', (err) => {
        socketError = err;
        if (transport === undefined) {
          fail(new CeleriacError('ERR_CONNECTION_CLOSED', `cannot connect to ${displayUrl}: ${err.message}`, { cause: err }));
        }
      });
      ws.on('close', (code, reason) => {
        if (transport !== undefined) {
          transport.end(new CeleriacError('ERR_CONNECTION_CLOSED', `connection to ${displayUrl} closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`, {
            details: { closeCode: code }, ...(socketError === undefined ? {} : { cause: socketError }),
          }));
          return;
        }
        fail(new CeleriacError('ERR_CONNECTION_CLOSED', `${displayUrl} closed the connection during the handshake (${code})`, { details: { closeCode: code } }));
      });
      ws.on('open', () => {
        const frame: Frame = { op: OP.hello, id: HELLO_ID, version: PROTOCOL_VERSION };
        if (hello.user !== undefined) frame.user = hello.user;
        if (hello.password !== undefined) frame.password = hello.password;
        if (hello.vhost !== undefined) frame.vhost = hello.vhost;
        if (hello.client !== undefined) frame.client = hello.client;
        if (hello.heartbeat !== undefined) frame.heartbeat = hello.heartbeat;
        ws.send(codec.encode(frame));
      });
      ws.on('message', (data, isBinary) => {
        if (transport !== undefined) {
          transport.receive(data, isBinary);
          return;
        }
        let frames: Frame[];
        try {
          frames = codec.decode(toBytes(data));
        } catch (err) {
          fail(err instanceof CeleriacError ? err : new CeleriacError('ERR_MALFORMED_FRAME', String(err)));
          return;
        }
        const first = frames[0]!;
        if (first.op === OP.error) {
          fail(errorFromWire(first.code, first.message, first.details));
          return;
        }
        if (first.op !== OP.welcome) {
          fail(new CeleriacError('ERR_MALFORMED_FRAME', `${displayUrl} answered the hello with opcode ${first.op}, not a welcome`));
          return;
        }
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // Decode what the broker sends with the limits it announced, a body as large as a message
        // (as the broker decodes): a message stored before --max-body-size was lowered is still
        // delivered, and refused here it would drop the socket again after every redelivery.
        codec = new FrameCodec({ ...first.limits, maxBodySize: Math.max(first.limits['maxBodySize'] ?? 0, first.limits['maxMessageSize'] ?? 0) || undefined });
        transport = new Transport(ws, first, codec);
        if (frames.length > 1) transport.early.push(frames.slice(1));
        resolve(transport);
      });
    });
  }

  /** Heartbeat interval in force, ms (0 = none). */
  get heartbeat(): number {
    return this.welcome.heartbeat;
  }

  /** Starts delivering frames (including any that arrived with the welcome) and heartbeats. */
  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
    const early = this.early;
    this.early = [];
    for (const frames of early) handlers.frames(frames);
    if (this.ended) {
      handlers.closed(this.endError!);
      return;
    }
    const hb = this.welcome.heartbeat;
    if (hb > 0) {
      const tick = Math.max(10, Math.floor(hb / 2));
      this.heartbeatTimer = setInterval(() => this.beat(hb), tick);
      this.heartbeatTimer.unref();
    }
  }

  /**
   * Encodes `frames` as one WebSocket message, or as several in order when there are more frames
   * or bytes than the broker takes in one (it closes a connection that sends more; see
   * sendMessage). Dropped silently once the socket is closing.
   */
  send(frames: Frame[]): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.lastOut = Date.now();
    if (frames.length <= this.maxFrames) {
      this.sendMessage(frames);
      return;
    }
    for (let i = 0; i < frames.length; i += this.maxFrames) this.sendMessage(frames.slice(i, i + this.maxFrames));
  }

  /**
   * One message, or, when its bytes pass the broker's maxMessageSize, each frame alone (an ack or
   * nack of many tags in halves). A publish or request too large even alone is not sent: the
   * broker would close the socket (1009), and the frame, sent again after each reconnect, would
   * close the next one too. It is answered here as the broker answers an oversized body, with a
   * request-scope ERR_MESSAGE_TOO_LARGE for its id.
   */
  private sendMessage(frames: Frame[]): void {
    const bytes = this.codec.encode(frames);
    if (bytes.byteLength <= this.maxBytes) {
      this.ws.send(bytes);
      return;
    }
    if (frames.length > 1) {
      for (const f of frames) this.sendMessage([f]);
      return;
    }
    const frame = frames[0]!;
    if ((frame.op === OP.ack || frame.op === OP.nack) && Array.isArray(frame.tag) && frame.tag.length > 1) {
      // A turn's settlements, merged into one frame: in halves, each still settling its tags.
      const half = frame.tag.length >> 1;
      this.sendMessage([{ ...frame, tag: frame.tag.slice(0, half) }]);
      this.sendMessage([{ ...frame, tag: frame.tag.slice(half) }]);
      return;
    }
    const id = 'id' in frame && typeof frame.id === 'number' ? frame.id : 0;
    if (id === 0) {
      // Nothing to answer it on: sent, the broker closes the socket and says why.
      this.ws.send(bytes);
      return;
    }
    const refusal: ErrorFrame = {
      op: OP.error, id, code: 'ERR_MESSAGE_TOO_LARGE',
      message: `a frame of ${bytes.byteLength} bytes (opcode ${frame.op}) is larger than the broker's maxMessageSize ${this.maxBytes}; not sent`,
      // The body limit too: a caller cutting a body down must fit both.
      details: { size: bytes.byteLength, maxMessageSize: this.maxBytes, ...(Number.isFinite(this.maxBodyBytes) ? { maxBodySize: this.maxBodyBytes } : {}) },
    };
    // Answered after this turn's sends, as a reply from the broker would be: the caller of send()
    // may be in the middle of registering the request.
    queueMicrotask(() => this.receiveFrames([refusal]));
  }

  /** Closes the socket politely (after a close frame was answered, or to give up). */
  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
  }

  /**
   * Drops the socket at once, e.g. when the peer stopped answering, and reports the end now rather
   * than when the socket's close event comes: a process resumed after a long pause runs its
   * timers before it reads the close, and what it decides meanwhile (start a prefetched task?)
   * must already see this socket's deliveries as dead.
   */
  terminate(err: CeleriacError): void {
    if (this.brokerError === undefined) this.brokerError = err;
    this.ws.terminate();
    this.end(err);
  }

  private receive(data: WebSocket.RawData, isBinary: boolean): void {
    // Frames read after terminate() belong to a socket already reported closed.
    if (this.ended) return;
    this.lastIn = Date.now();
    let frames: Frame[];
    try {
      if (!isBinary) throw new CeleriacError('ERR_MALFORMED_FRAME', 'the broker sent a text message');
      frames = this.codec.decode(toBytes(data));
    } catch (err) {
      this.terminate(err instanceof CeleriacError ? err : new CeleriacError('ERR_MALFORMED_FRAME', String(err)));
      return;
    }
    for (const f of frames) {
      if (f.op === OP.error && f.id === 0 && this.brokerError === undefined) this.brokerError = errorFromWire(f.code, f.message, f.details);
    }
    this.receiveFrames(frames);
  }

  private receiveFrames(frames: Frame[]): void {
    if (this.ended) return;
    if (this.handlers === undefined) this.early.push(frames);
    else this.handlers.frames(frames);
  }

  private beat(hb: number): void {
    const now = Date.now();
    if (now - this.lastIn > 2 * hb) {
      this.terminate(new CeleriacError('ERR_HEARTBEAT_TIMEOUT', `nothing heard from the broker for ${now - this.lastIn} ms (heartbeat ${hb} ms)`));
      return;
    }
    if (now - this.lastOut >= hb / 2) this.send([{ op: OP.heartbeat }]);
  }

  private end(err: CeleriacError): void {
    if (this.ended) return;
    this.ended = true;
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.endError = this.brokerError ?? err;
    if (this.handlers !== undefined) this.handlers.closed(this.endError);
  }
}

/** A positive limit from the welcome, or none (an older broker did not announce it). */
function announced(welcome: WelcomeFrame, name: string): number {
  const v = welcome.limits[name];
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 ? v : Infinity;
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return new Uint8Array(data);
}
