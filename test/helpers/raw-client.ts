// A bare protocol client for tests: frames through the shared codec over `ws`, nothing hidden —
// so tests can send garbage, batches and out-of-order frames and see exactly what comes back.
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { FrameCodec } from '../../shared/codec.js';
import type { ErrorFrame, Frame, HelloFrame, OkFrame, WelcomeFrame } from '../../shared/frames.js';
import { OP, PROTOCOL_VERSION } from '../../shared/opcodes.js';

const DEFAULT_WAIT_MS = 5_000;

/** How the socket ended. */
export interface Closed {
  code: number;
  reason: string;
}

type Waiter = { pick: (f: Frame) => boolean; resolve: (f: Frame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

/** One raw connection. Frames arriving are kept in `inbox` until a `next()` takes them. */
export class RawClient {
  readonly codec = new FrameCodec();
  /** Frames received and not yet taken by next(). */
  readonly inbox: Frame[] = [];
  /** Every WebSocket message received, as the frames it held (to see batching). */
  readonly messages: Frame[][] = [];
  closed: Closed | null = null;
  private readonly waiters: Waiter[] = [];
  private readonly closeWaiters: ((c: Closed) => void)[] = [];
  private nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer) => {
      const frames = this.codec.decode(data);
      this.messages.push(frames);
      for (const f of frames) this.receive(f);
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.waiters.splice(0)) { clearTimeout(w.timer); w.reject(new Error(`socket closed (${code} ${reason.toString()}) while waiting`)); }
      for (const c of this.closeWaiters.splice(0)) c(this.closed);
    });
    ws.on('error', () => undefined);
  }

  /** Opens a socket (no hello sent); `localAddress` (e.g. 127.0.0.2) picks the peer address the broker sees. */
  static open(url: string, timeoutMs = DEFAULT_WAIT_MS, localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024, ...(localAddress === undefined ? {} : { localAddress }) });
      const timer = setTimeout(() => { ws.terminate(); reject(new Error(`no connection to ${url} within ${timeoutMs} ms`)); }, timeoutMs);
      ws.once('open', () => { clearTimeout(timer); resolve(new RawClient(ws)); });
      ws.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
  }

  /** Opens a socket and completes the handshake; rejects with the error frame's code if refused. */
  static async connect(url: string, hello: Partial<Omit<HelloFrame, 'op' | 'id'>> = {}): Promise<RawClient> {
    const c = await RawClient.open(url);
    const reply = await c.hello(hello);
    if (reply.op !== OP.welcome) {
      c.ws.terminate();
      throw new Error(`handshake refused: ${(reply as ErrorFrame).code}`);
    }
    return c;
  }

  /** A fresh request id. */
  id(): number {
    return this.nextId++;
  }

  /** Sends hello and waits for welcome or an error frame. */
  async hello(fields: Partial<Omit<HelloFrame, 'op' | 'id'>> = {}): Promise<WelcomeFrame | ErrorFrame> {
    const id = this.id();
    this.send({ op: OP.hello, id, version: PROTOCOL_VERSION, ...fields });
    return (await this.next((f) => f.op === OP.welcome || f.op === OP.error)) as WelcomeFrame | ErrorFrame;
  }

  /** Sends one frame or a batch as one WebSocket message. */
  send(frames: Frame | Frame[]): void {
    this.ws.send(this.codec.encode(frames));
  }

  /** Sends raw bytes as one binary message. */
  sendRaw(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  /** Sends a request frame and waits for its ok (resolves) or error frame (resolves too). */
  async request(frame: Frame & { id: number }, timeoutMs = DEFAULT_WAIT_MS): Promise<OkFrame | ErrorFrame> {
    this.send(frame);
    return (await this.next((f) => (f.op === OP.ok || f.op === OP.error) && f.id === frame.id, timeoutMs)) as OkFrame | ErrorFrame;
  }

  /** Sends a request and returns its ok result; throws with the error code otherwise. */
  async ok(frame: Frame & { id: number }, timeoutMs = DEFAULT_WAIT_MS): Promise<unknown> {
    const reply = await this.request(frame, timeoutMs);
    if (reply.op === OP.error) throw new Error(`${reply.code}: ${reply.message}`);
    return reply.result;
  }

  /** Takes the first received frame `pick` accepts (already received or arriving within the timeout). */
  next(pick: (f: Frame) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS): Promise<Frame> {
    const i = this.inbox.findIndex(pick);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    if (this.closed !== null) return Promise.reject(new Error(`socket closed (${this.closed.code}) before the frame arrived`));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        pick, resolve, reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new Error(`no matching frame within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Waits for the socket to close; resolves with the close code and reason. */
  waitClose(timeoutMs = DEFAULT_WAIT_MS): Promise<Closed> {
    if (this.closed !== null) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
      this.closeWaiters.push((c) => { clearTimeout(timer); resolve(c); });
    });
  }

  /** Bytes this client queued to send that the socket has not written: grows when the server stops reading. */
  get sendBacklog(): number {
    return this.ws.bufferedAmount;
  }

  /** Removes every received frame `pick` accepts, returning how many (for floods, where next() is slow). */
  takeAll(pick: (f: Frame) => boolean): number {
    const kept = this.inbox.filter((f) => !pick(f));
    const taken = this.inbox.length - kept.length;
    this.inbox.length = 0;
    this.inbox.push(...kept);
    return taken;
  }

  /** Stops reading the underlying TCP socket, so the server's send buffer fills (backpressure tests). */
  pauseSocket(): void {
    this.socket().pause();
  }

  resumeSocket(): void {
    this.socket().resume();
  }

  close(): void {
    if (this.closed === null) this.ws.terminate();
  }

  private socket(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }

  private receive(f: Frame): void {
    const i = this.waiters.findIndex((w) => w.pick(f));
    if (i < 0) { this.inbox.push(f); return; }
    const w = this.waiters.splice(i, 1)[0]!;
    clearTimeout(w.timer);
    w.resolve(f);
  }
}
